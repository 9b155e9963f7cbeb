"""The stack policy rules (SPEC §8) that need only the desired state, shared by `validate` and
the planner: one implementation of `allowedAccounts` and `requiredTags`.

The `destroy` rule needs a plan (deletions and unshares) and lives in `reconciler.planner.policy`.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.model.desired import DesiredState, PolicyConfig
from reconciler.model.plan import PolicyViolation
from reconciler.model.source import SourceRef

RULE_ALLOWED_ACCOUNTS = "allowedAccounts"
RULE_REQUIRED_TAGS = "requiredTags"
RULE_DESTROY = "destroy"
POLICY_RULES = (RULE_ALLOWED_ACCOUNTS, RULE_REQUIRED_TAGS, RULE_DESTROY)
"""Every rule, in the order violations are listed; the keys of `policy.enforcement`."""


def account_violation(
    policy: PolicyConfig, account: str, address: str, source: SourceRef | None
) -> PolicyViolation | None:
    """The `allowedAccounts` violation of sharing with `account`, or None when it is allowed."""
    if policy.allowed_accounts is None or account in policy.allowed_accounts:
        return None
    return PolicyViolation(
        rule=RULE_ALLOWED_ACCOUNTS,
        enforcement=policy.enforcement_of(RULE_ALLOWED_ACCOUNTS).value,
        address=address,
        message=(
            f"account {account} is not in policy.allowedAccounts "
            f"({', '.join(policy.allowed_accounts) or 'empty'})"
        ),
        source=source,
    )


def declared_share_violations(desired: DesiredState) -> Iterator[PolicyViolation]:
    """`allowedAccounts` over every declared share (by address)."""
    policy = desired.stack.policy
    for share in desired.shares:
        violation = account_violation(policy, share.account, share.address, share.source_ref)
        if violation is not None:
            yield violation


def missing_required_tags(desired: DesiredState) -> Iterator[PolicyViolation]:
    """`requiredTags`: one violation per image missing any required tag key, naming them all."""
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


def manifest_violations(desired: DesiredState) -> tuple[PolicyViolation, ...]:
    """Every violation the manifests alone show: declared shares outside `allowedAccounts`,
    images without a `requiredTags` key (rule, then address)."""
    return (*declared_share_violations(desired), *missing_required_tags(desired))
