"""Unit tests of the stack policy rules (SPEC §8): allowedAccounts, requiredTags, destroy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from reconciler.model.desired import (
    DesiredImage,
    DesiredShare,
    DesiredStack,
    DesiredState,
    Enforcement,
    InstanceSource,
    PolicyConfig,
)
from reconciler.model.plan import Action, Change, Plan, PlanOptions
from reconciler.model.source import SourceRef
from reconciler.planner.policy import check_policy


def image(name: str, tags: Mapping[str, str], line: int) -> DesiredImage:
    return DesiredImage(
        name=name,
        address=f"image.{name}",
        region="ap-guangzhou",
        source=InstanceSource(instance_id="ins-demo0001"),
        generation="0" * 64,
        cloud_name=f"{name}-00000000",
        copy_name=f"{name}-00000000",
        tags=dict(tags),
        source_ref=SourceRef("images.yaml", line),
    )


def share(name: str, region: str, account: str, line: int) -> DesiredShare:
    return DesiredShare(
        image=name,
        address=f"share.{name}@{region}:{account}",
        region=region,
        account=account,
        source_ref=SourceRef("shares.yaml", line),
    )


def state(
    policy: PolicyConfig,
    *,
    images: Iterable[DesiredImage] = (),
    shares: Iterable[DesiredShare] = (),
) -> DesiredState:
    stack = DesiredStack(
        name="prod", regions=("ap-guangzhou",), policy=policy, source_ref=SourceRef("stack.yaml", 1)
    )
    return DesiredState(stack=stack, images=tuple(images), shares=tuple(shares))


def share_change(account: str, *, source: SourceRef | None = None) -> Change:
    return Change(
        address=f"share.web@ap-guangzhou:{account}",
        action=Action.SHARE,
        reason="declared",
        region="ap-guangzhou",
        source=source,
        after={"account": account, "region": "ap-guangzhou", "imageId": "img-00000001"},
        new_recipient=True,
    )


def plan(*changes: Change, allow_destroy: bool = False) -> Plan:
    return Plan(
        stack="prod",
        created_at="2024-01-01T00:00:00Z",
        expires_at="2024-01-02T00:00:00Z",
        changes=changes,
        options=PlanOptions(allow_destroy=allow_destroy),
    )


def test_share_to_an_account_outside_allowed_accounts_is_denied_with_its_file_line() -> None:
    policy = PolicyConfig(allowed_accounts=("100000000002",))
    desired = state(policy, shares=[share("web", "ap-guangzhou", "100000000009", 12)])
    violations = check_policy(
        desired, plan(share_change("100000000002"), share_change("100000000009"))
    )
    assert len(violations) == 1
    (violation,) = violations
    assert violation.rule == "allowedAccounts"
    assert violation.enforcement == "deny"
    assert violation.address == "share.web@ap-guangzhou:100000000009"
    assert "100000000009" in violation.message
    # The change carries no source: the declared share's location is used.
    assert violation.source == SourceRef("shares.yaml", 12)


def test_the_change_source_wins_over_the_declared_share() -> None:
    policy = PolicyConfig(allowed_accounts=())
    change = share_change("100000000003", source=SourceRef("other.yaml", 7))
    (violation,) = check_policy(state(policy), plan(change))
    assert violation.source == SourceRef("other.yaml", 7)
    assert "empty" in violation.message


def test_no_allowed_accounts_list_allows_every_account() -> None:
    assert check_policy(state(PolicyConfig()), plan(share_change("100000000009"))) == ()


def test_warn_enforcement_is_carried_on_the_violation() -> None:
    policy = PolicyConfig(
        allowed_accounts=("100000000002",),
        enforcement={"allowedAccounts": Enforcement.WARN},
    )
    (violation,) = check_policy(state(policy), plan(share_change("100000000004")))
    assert violation.enforcement == "warn"


def test_required_tags_are_reported_per_image_with_every_missing_key() -> None:
    policy = PolicyConfig(required_tags=("owner", "cost-center"))
    desired = state(
        policy,
        images=[
            image("api", {"owner": "a", "cost-center": "1"}, 3),
            image("web", {}, 20),
            image("db", {"owner": "d"}, 40),
        ],
    )
    violations = check_policy(desired, plan())
    assert [(v.address, v.source) for v in violations] == [
        ("image.web", SourceRef("images.yaml", 20)),
        ("image.db", SourceRef("images.yaml", 40)),
    ]
    assert violations[0].message == 'missing required tags "owner", "cost-center"'
    assert violations[1].message == 'missing required tag "cost-center"'
    assert {v.rule for v in violations} == {"requiredTags"}


def destructive_changes() -> tuple[Change, ...]:
    return (
        Change(
            address="image.old",
            action=Action.DELETE,
            reason="no longer declared",
            region="ap-guangzhou",
            image_id="img-00000009",
        ),
        Change(
            address="share.web@ap-guangzhou:100000000002",
            action=Action.UNSHARE,
            reason="no longer declared",
            region="ap-guangzhou",
            source=SourceRef("shares.yaml", 4),
        ),
        # The disruptive unshare → re-share of an attribute update is an update, not an unshare.
        Change(
            address="image.web",
            action=Action.UPDATE,
            reason="description changed",
            region="ap-guangzhou",
            disruptive=True,
        ),
        Change(address="image.gone", action=Action.FORGET, reason="retain", region="ap-guangzhou"),
    )


def test_destroy_policy_requires_allow_destroy_for_deletions_and_unshares() -> None:
    violations = check_policy(state(PolicyConfig(destroy=True)), plan(*destructive_changes()))
    assert [(v.rule, v.address) for v in violations] == [
        ("destroy", "image.old"),
        ("destroy", "share.web@ap-guangzhou:100000000002"),
    ]
    assert all("--allow-destroy" in v.message for v in violations)
    assert violations[1].source == SourceRef("shares.yaml", 4)


@pytest.mark.parametrize(
    ("policy", "allow_destroy"),
    [(PolicyConfig(destroy=True), True), (PolicyConfig(destroy=False), False)],
)
def test_destruction_is_allowed_with_the_flag_or_without_the_rule(
    policy: PolicyConfig, allow_destroy: bool
) -> None:
    violations = check_policy(
        state(policy), plan(*destructive_changes(), allow_destroy=allow_destroy)
    )
    assert violations == ()
