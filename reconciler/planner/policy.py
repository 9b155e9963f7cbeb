"""Stack policy (SPEC §8): the plan's breaches of `allowedAccounts`, `requiredTags`, `destroy`."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.model.desired import DesiredState
from reconciler.model.plan import Action, Change, Plan, PolicyViolation
from reconciler.model.source import SourceRef

RULE_ALLOWED_ACCOUNTS = "allowedAccounts"
RULE_REQUIRED_TAGS = "requiredTags"
RULE_DESTROY = "destroy"

DESTRUCTIVE_ACTIONS = frozenset({Action.DELETE, Action.UNSHARE})


def check_policy(desired: DesiredState, plan: Plan) -> tuple[PolicyViolation, ...]:
    """Every violation of the stack's policy by `plan`, in a stable order (rule, then address)."""
    violations = [
        *_disallowed_accounts(desired, plan),
        *_missing_required_tags(desired),
        *_unallowed_destruction(desired, plan),
    ]
    return tuple(violations)


def share_account(change: Change) -> str:
    """The recipient account of a share change (its `after`/`before` view, else its address)."""
    for view in (change.after, change.before):
        if view and isinstance(view.get("account"), str):
            return str(view["account"])
    # `share.<name>@<region>:<account>`
    return change.address.rpartition(":")[2]


def _share_source(desired: DesiredState, change: Change) -> SourceRef | None:
    if change.source is not None:
        return change.source
    for share in desired.shares:
        if share.address == change.address:
            return share.source_ref
    return None


def _disallowed_accounts(desired: DesiredState, plan: Plan) -> Iterator[PolicyViolation]:
    policy = desired.stack.policy
    if policy.allowed_accounts is None:
        return
    allowed = set(policy.allowed_accounts)
    for change in sorted(plan.changes, key=lambda c: c.address):
        if change.action is not Action.SHARE:
            continue
        account = share_account(change)
        if account in allowed:
            continue
        yield PolicyViolation(
            rule=RULE_ALLOWED_ACCOUNTS,
            enforcement=policy.enforcement_of(RULE_ALLOWED_ACCOUNTS).value,
            address=change.address,
            message=(
                f"account {account} is not in policy.allowedAccounts "
                f"({', '.join(policy.allowed_accounts) or 'empty'})"
            ),
            source=_share_source(desired, change),
        )


def _missing_required_tags(desired: DesiredState) -> Iterator[PolicyViolation]:
    policy = desired.stack.policy
    if not policy.required_tags:
        return
    for image in desired.images:
        missing = [key for key in policy.required_tags if key not in image.tags]
        if not missing:
            continue
        keys = ", ".join(f'"{key}"' for key in missing)
        yield PolicyViolation(
            rule=RULE_REQUIRED_TAGS,
            enforcement=policy.enforcement_of(RULE_REQUIRED_TAGS).value,
            address=image.address,
            message=f"missing required tag{'s' if len(missing) > 1 else ''} {keys}",
            source=image.source_ref,
        )


def _unallowed_destruction(desired: DesiredState, plan: Plan) -> Iterator[PolicyViolation]:
    policy = desired.stack.policy
    if not policy.destroy or plan.options.allow_destroy:
        return
    for change in sorted(plan.changes, key=lambda c: c.address):
        if change.action not in DESTRUCTIVE_ACTIONS:
            continue
        what = "deleting an image" if change.action is Action.DELETE else "cancelling a share"
        yield PolicyViolation(
            rule=RULE_DESTROY,
            enforcement=policy.enforcement_of(RULE_DESTROY).value,
            address=change.address,
            message=f"{what} needs --allow-destroy (policy.destroy is true)",
            source=change.source,
        )
