"""Stack policy (SPEC §8): the plan's breaches of `allowedAccounts`, `requiredTags`, `destroy`."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.model.desired import DesiredState
from reconciler.model.plan import Action, Change, Plan, PolicyViolation
from reconciler.model.policy import (
    RULE_ALLOWED_ACCOUNTS,
    RULE_DESTROY,
    RULE_REQUIRED_TAGS,
    account_violation,
    missing_required_tags,
)
from reconciler.model.source import SourceRef
from reconciler.planner.targets import parse_address

__all__ = [
    "DESTRUCTIVE_ACTIONS",
    "RULE_ALLOWED_ACCOUNTS",
    "RULE_DESTROY",
    "RULE_REQUIRED_TAGS",
    "check_policy",
    "share_account",
]

DESTRUCTIVE_ACTIONS = frozenset({Action.DELETE, Action.UNSHARE})


def check_policy(desired: DesiredState, plan: Plan) -> tuple[PolicyViolation, ...]:
    """Every violation of the stack's policy by `plan`, in a stable order (rule, then address)."""
    violations = [
        *_disallowed_accounts(desired, plan),
        *missing_required_tags(desired),
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


def _destruction_source(desired: DesiredState, change: Change) -> SourceRef | None:
    """Where a deletion or unshare comes from: the change's own line, else the declared share,
    else the Image document, else the Stack's policy (a removed document has no line left)."""
    found = _share_source(desired, change)
    if found is not None:
        return found
    parsed = parse_address(change.address)
    if parsed is not None:
        for image in desired.images:
            if image.name == parsed.name:
                return image.source_ref
    policy = desired.stack.policy
    return policy.source_ref or desired.stack.source_ref


def _disallowed_accounts(desired: DesiredState, plan: Plan) -> Iterator[PolicyViolation]:
    """`allowedAccounts` over the plan's new shares (a share already live is not re-checked)."""
    policy = desired.stack.policy
    if policy.allowed_accounts is None:
        return
    for change in sorted(plan.changes, key=lambda c: c.address):
        if change.action is not Action.SHARE:
            continue
        account = share_account(change)
        if account in policy.allowed_accounts:
            continue  # allowed: no need to look for its source
        violation = account_violation(
            policy, account, change.address, _share_source(desired, change)
        )
        if violation is not None:
            yield violation


def _unallowed_destruction(desired: DesiredState, plan: Plan) -> Iterator[PolicyViolation]:
    policy = desired.stack.policy
    if not policy.destroy or plan.options.allow_destroy:
        return
    for change in sorted(plan.changes, key=lambda c: c.address):
        if change.action not in DESTRUCTIVE_ACTIONS:
            continue
        if change.action is Action.DELETE:
            what = "deleting an image"
        elif change.reason.startswith("drift:"):
            what = "cancelling a share made outside the stack"
        else:
            what = "cancelling a share"
        yield PolicyViolation(
            rule=RULE_DESTROY,
            enforcement=policy.enforcement_of(RULE_DESTROY).value,
            address=change.address,
            message=f"{what} needs --allow-destroy (policy.destroy is true)",
            source=_destruction_source(desired, change),
        )
