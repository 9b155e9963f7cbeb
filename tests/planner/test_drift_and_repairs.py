"""Drift on images that go away, interrupted applies, repairs, wording and ordering details.

Each test states the behaviour reviewers found missing when they audited plan/apply by hand.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.model.desired import (
    DeletionPolicy,
    DesiredState,
    InstanceSource,
    Lifecycle,
    PolicyConfig,
)
from reconciler.model.observed import TAG_APPLIED, TAG_SOURCE, ObservedCloud, ObservedImage
from reconciler.model.plan import Action, Change, FieldDiff, Plan
from reconciler.model.source import SourceRef
from reconciler.planner.cost import estimate_cost
from reconciler.planner.policy import check_policy

from .builders import cloud, image, plan, state
from .cloud_model import apply_plan
from .scenarios import converge, edit, image_at, without

PARTNER, OTHER, THIRD = "100000000002", "100000000003", "100000000004"
NEW_SOURCE = InstanceSource(instance_id="ins-demo0004")


def web(
    *, copies: tuple[str, ...] = ("ap-shanghai", "ap-singapore"), **changes: object
) -> DesiredState:
    shares = {"ap-guangzhou": [PARTNER, OTHER]}
    if "ap-singapore" in copies:
        shares["ap-singapore"] = [PARTNER]
    return state(
        image("web", **changes),  # type: ignore[arg-type]
        copies={"web": list(copies)},
        shares={"web": shares},
    )


@pytest.fixture(scope="module")
def applied() -> ObservedCloud:
    return converge(web())


def drift_of(result: Plan) -> dict[str, tuple[str, str]]:
    """address → (action, reason) of every drift entry."""
    return {c.address: (c.action.value, c.reason) for c in result.drift}


# ------------------------------------------------------------------ 1: drift of replaced/deleted


def test_drift_of_a_replaced_image_is_reported_even_with_refresh_only(
    applied: ObservedCloud,
) -> None:
    shared_outside = edit(applied, "image.web", shares=(PARTNER, OTHER, THIRD))
    for options in ({}, {"refresh_only": True}):
        result = plan(web(source=NEW_SOURCE), shared_outside, **options)
        assert drift_of(result) == {
            "share.web@ap-guangzhou:100000000004": ("share", "shared outside the stack"),
        }, result.drift


def test_drift_of_a_copy_being_deleted_is_reported() -> None:
    both = state(
        image("web"),
        copies={"web": ["ap-shanghai", "ap-singapore"]},
        shares={"web": {"ap-guangzhou": [PARTNER, OTHER], "ap-singapore": [PARTNER, OTHER]}},
    )
    kept = converge(both)
    # One of the Singapore copy's shares is cancelled outside; the manifests drop that copy.
    cancelled = edit(kept, "image.web@ap-singapore", shares=(PARTNER,))
    result = plan(web(copies=("ap-shanghai",)), cancelled, refresh_only=True)
    assert drift_of(result) == {
        "share.web@ap-singapore:100000000003": (
            "unshare",
            "the share was cancelled outside the stack",
        ),
    }
    # With no share left it may as well be the stack's own cancel before a delete that was
    # interrupted (it cancels every share at once): that is not reported as drift.
    emptied = edit(kept, "image.web@ap-singapore", shares=())
    assert plan(web(copies=("ap-shanghai",)), emptied, refresh_only=True).drift == ()


def test_drift_of_an_image_whose_document_is_removed_is_reported(applied: ObservedCloud) -> None:
    shared_outside = edit(applied, "image.web", shares=(PARTNER, OTHER, THIRD))
    result = plan(state(), shared_outside, refresh_only=True)
    assert drift_of(result) == {
        "share.web@ap-guangzhou:100000000004": ("share", "shared outside the stack"),
    }
    untouched = plan(state(), applied, refresh_only=True)
    assert untouched.drift == ()


def test_drift_of_a_protected_image_is_reported_although_the_plan_fails(
    applied: ObservedCloud,
) -> None:
    protected = web(source=NEW_SOURCE, lifecycle=Lifecycle(protect=True))
    drifted = edit(applied, "image.web", description="manual")
    result = plan(protected, drifted)
    assert result.errors
    assert drift_of(result) == {
        "image.web": ("update", "description changed outside the stack"),
    }


# ------------------------------------------------------------------ 2: interrupted applies


@pytest.mark.parametrize("scenario", ["create", "replace", "copy"])
def test_an_apply_stopped_after_any_step_leaves_no_drift(scenario: str) -> None:
    before, desired = {
        "create": (cloud(), web()),
        "replace": (converge(web()), web(source=NEW_SOURCE)),
        "copy": (converge(web(copies=("ap-shanghai",))), web()),
    }[scenario]
    steps = plan(desired, before).steps
    for count in range(1, len(steps)):
        stopped = apply_plan(before, steps[:count]).observed()
        result = plan(desired, stopped, refresh_only=True)
        assert result.drift == (), (count, steps[count - 1], result.drift)


# ------------------------------------------------------------------ 3: several kinds of drift


def test_several_kinds_of_drift_at_once_are_all_reported(applied: ObservedCloud) -> None:
    drifted = edit(
        without(applied, "image.web@ap-shanghai"),
        "image.web",
        description="manual",
        shares=(PARTNER, OTHER, THIRD),
        tags={**image_at(applied, "image.web").tags, "x": "q"},
    )
    result = plan(web(), drifted)
    assert drift_of(result) == {
        "image.web": (
            "update",
            "description changed outside the stack; tags.x changed outside the stack",
        ),
        "image.web@ap-shanghai": (
            "delete",
            "the copy in ap-shanghai was deleted outside the stack",
        ),
        "share.web@ap-guangzhou:100000000004": ("share", "shared outside the stack"),
    }
    copy = next(c for c in result.changes if c.address == "image.web@ap-shanghai")
    assert copy.action is Action.CREATE
    assert "drift: the copy in ap-shanghai was deleted outside the stack" in copy.reason
    after = apply_plan(drifted, result.steps).observed()
    again = plan(web(), after)
    assert (again.steps, again.drift) == ((), ())


# ------------------------------------------------------------------ 4: repairs are changes


def test_a_stale_applied_tag_is_an_update_with_a_reason(applied: ObservedCloud) -> None:
    stale = edit(
        applied,
        "image.web",
        tags={**image_at(applied, "image.web").tags, TAG_APPLIED: "000000000000"},
    )
    result = plan(web(), stale)
    assert [s.operation for s in result.steps] == ["ModifyResourceTags"]
    (change,) = [c for c in result.changes if c.action is not Action.NOOP]
    assert change.action is Action.UPDATE
    assert change.reason == (
        "record what is applied (an earlier apply did not finish, "
        "or the same change was made outside the stack)"
    )
    assert result.has_changes


# ------------------------------------------------------------------ 5: adoption keeps shares


def test_adopting_an_untagged_image_plans_its_shares_from_what_is_live() -> None:
    desired = web()
    kept = converge(desired)
    # Forgotten (Retain) images keep their names and shares but lose the ownership tags.
    untagged = replace(
        kept,
        images=tuple(replace(i, tags=dict(i.user_tags)) for i in kept.images),
    )
    result = plan(desired, untagged)
    assert not [c for c in result.changes if c.action in {Action.SHARE, Action.UNSHARE}]
    assert not any(c.new_recipient for c in result.changes)
    assert not any(s.operation == "ModifyImageSharePermission" for s in result.steps)


def test_a_share_to_an_account_the_adopted_image_already_has_is_no_new_recipient() -> None:
    kept = converge(web())
    untagged = replace(kept, images=tuple(replace(i, tags={}) for i in kept.images))
    # OTHER has the (untagged) home image; sharing the Shanghai copy with it is no new access.
    more = state(
        image("web"),
        copies={"web": ["ap-shanghai", "ap-singapore"]},
        shares={
            "web": {
                "ap-guangzhou": [PARTNER, OTHER],
                "ap-singapore": [PARTNER],
                "ap-shanghai": [OTHER],
            }
        },
    )
    result = plan(more, untagged)
    (share,) = [c for c in result.changes if c.action is Action.SHARE]
    assert share.address == "share.web@ap-shanghai:100000000003"
    assert not share.new_recipient


# ------------------------------------------------------------------ 6: drift reads applied → live


def test_drift_diffs_read_from_what_the_stack_set_to_what_is_live(applied: ObservedCloud) -> None:
    home = image_at(applied, "image.web")
    drifted = edit(applied, "image.web", tags={**home.tags, "x": "q", "owner": "mallory"})
    result = plan(web(), drifted)
    (entry,) = result.drift
    assert entry.diff == (
        FieldDiff("tags.owner", "web-team", "mallory"),
        FieldDiff("tags.x", None, "q"),
    )
    assert entry.before is not None
    assert entry.before["tags"] == {"owner": "web-team"}
    assert entry.after is not None
    assert entry.after["tags"] == {"owner": "mallory", "x": "q"}
    # The change itself still reads live → manifests: what apply will do.
    change = next(c for c in result.changes if c.address == "image.web")
    assert set(change.diff) == {
        FieldDiff("tags.owner", "mallory", "web-team"),
        FieldDiff("tags.x", "q", None),
    }


def test_drift_entries_say_what_happened_to_shares(applied: ObservedCloud) -> None:
    drifted = edit(applied, "image.web", shares=(OTHER, THIRD))
    result = plan(web(), drifted)
    by_address = {c.address: c for c in result.drift}
    made = by_address["share.web@ap-guangzhou:100000000004"]
    assert (made.action, made.before, made.after) == (
        Action.SHARE,
        None,
        {"account": THIRD, "imageId": made.image_id},
    )
    cancelled = by_address["share.web@ap-guangzhou:100000000002"]
    assert (cancelled.action, cancelled.after) == (Action.UNSHARE, None)
    assert not any(c.reason.startswith("drift:") for c in result.drift)
    fixes = {c.address: c.action for c in result.changes if c.action is not Action.NOOP}
    assert fixes == {
        "share.web@ap-guangzhou:100000000004": Action.UNSHARE,
        "share.web@ap-guangzhou:100000000002": Action.SHARE,
    }


# ------------------------------------------------------------------ 8: interrupted replacement


def test_completing_an_interrupted_replacement_counts_no_shares(applied: ObservedCloud) -> None:
    desired = web(source=NEW_SOURCE)
    steps = plan(desired, applied).steps
    # Stop once the new images are made, before they are shared.
    first_share = next(
        index
        for index, step in enumerate(steps)
        if step.operation == "ModifyImageSharePermission" and step.params["Permission"] == "SHARE"
    )
    stopped = apply_plan(applied, steps[:first_share]).observed()
    result = plan(desired, stopped)
    assert result.summary["replace"] == 3
    assert result.summary["share"] == 0
    assert result.summary["unshare"] == 0
    shares = [c for c in result.changes if c.address.startswith("share.")]
    assert {c.reason for c in shares} == {"shared again on the replacement image"}
    assert any(s.params.get("Permission") == "SHARE" for s in result.steps)


# ------------------------------------------------------------------ 9: wording


def test_destroy_says_what_it_removes(applied: ObservedCloud) -> None:
    result = plan(web(), applied, destroy=True)
    home = next(c for c in result.changes if c.address == "image.web")
    assert home.reason == f"--destroy: removes {home.image_id} (deleted)"
    assert "no longer declared" not in home.reason


def test_a_foreign_copy_name_asks_for_another_image_name() -> None:
    desired = web(copies=("ap-shanghai",))
    name = desired.images[0].copy_name
    foreign = ObservedImage(
        image_id="img-f0000002",
        region="ap-shanghai",
        name=name,
        tags={"reconciler:stack": "other"},
    )
    result = plan(desired, cloud(foreign))
    (error,) = result.errors
    assert "rename the copy" not in error
    assert error.endswith(
        "remove that image, or change the Image's imageName (a copy carries its image's name)"
    )


def test_the_cloud_name_is_shown_apart_from_image_name(applied: ObservedCloud) -> None:
    renamed = web(image_name="web-v2")
    result = plan(renamed, applied)
    home = next(c for c in result.changes if c.address == "image.web")
    old = image_at(applied, "image.web").name
    suffix = old.rsplit("-", 1)[1]
    assert set(home.diff) == {
        FieldDiff("cloudName", old, f"web-v2-{suffix}"),
        FieldDiff("imageName", "web", "web-v2"),
    }
    drifted = plan(web(), edit(applied, "image.web", name="renamed"))
    (entry,) = drifted.drift
    assert entry.diff == (FieldDiff("cloudName", old, "renamed"),)
    created = plan(web(), cloud())
    new_home = next(c for c in created.changes if c.address == "image.web")
    paths = {d.path: d.after for d in new_home.diff}
    assert paths["imageName"] == "web"
    assert str(paths["cloudName"]).startswith("web-")


def test_a_replacement_names_the_source_field_that_changed(applied: ObservedCloud) -> None:
    result = plan(web(source=NEW_SOURCE), applied)
    home = next(c for c in result.changes if c.address == "image.web")
    assert home.reason == "source.instance.id changed: forces replacement"
    assert FieldDiff("source.instance.id", "ins-demo0001", "ins-demo0004") in home.diff
    create = next(s for s in result.steps if s.operation == "CreateImage")
    tags = {t["Key"]: t["Value"] for t in create.params["TagSpecification"][0]["Tags"]}
    assert tags[TAG_SOURCE] == "instance.dataDiskIds= instance.id=ins-demo0004"


def test_a_replacement_of_an_image_without_a_source_tag_says_which_generations_differ(
    applied: ObservedCloud,
) -> None:
    home = image_at(applied, "image.web")
    untagged = edit(
        applied, "image.web", tags={k: v for k, v in home.tags.items() if k != TAG_SOURCE}
    )
    result = plan(web(source=NEW_SOURCE), untagged)
    change = next(c for c in result.changes if c.address == "image.web")
    assert change.reason.startswith("source changed: the generation of the manifest's source (")
    assert "differs from the live image's (" in change.reason
    # An image applied before the tag existed is not re-tagged just for it.
    assert plan(web(), untagged).steps == ()


# ------------------------------------------------------------------ 10: step order


def test_copies_do_not_wait_for_an_unrelated_share_cancel() -> None:
    before = converge(web(copies=("ap-shanghai",)))
    fewer_shares = state(
        image("web"),
        copies={"web": ["ap-shanghai", "ap-singapore"]},
        shares={"web": {"ap-guangzhou": [PARTNER]}},
    )
    result = plan(fewer_shares, before)
    by_id = {s.id: s for s in result.steps}
    sync = next(s for s in result.steps if s.operation == "SyncImages")
    cancel = next(
        s
        for s in result.steps
        if s.operation == "ModifyImageSharePermission" and s.params["Permission"] == "CANCEL"
    )
    ancestors: set[str] = set()
    todo = list(sync.depends_on)
    while todo:
        step_id = todo.pop()
        if step_id not in ancestors:
            ancestors.add(step_id)
            todo += by_id[step_id].depends_on
    assert cancel.id not in ancestors
    after = apply_plan(before, result.steps).observed()
    assert plan(fewer_shares, after).steps == ()


# ------------------------------------------------------------------ 11: policy locations


def test_destroy_violations_always_have_a_location(applied: ObservedCloud) -> None:
    policy = PolicyConfig(destroy=True, source_ref=SourceRef("stack.yaml", 9))
    guarded = web()
    guarded = replace(guarded, stack=replace(guarded.stack, policy=policy))
    shared_outside = edit(applied, "image.web", shares=(PARTNER, OTHER, THIRD))
    result = plan(guarded, shared_outside)
    (violation,) = check_policy(guarded, result)
    assert violation.address == "share.web@ap-guangzhou:100000000004"
    assert "made outside the stack" in violation.message
    assert violation.source == SourceRef("web.yaml", 1)
    removed = replace(state(), stack=guarded.stack)
    gone = plan(removed, applied)
    violations = check_policy(removed, gone)
    assert violations
    assert all(v.source == SourceRef("stack.yaml", 9) for v in violations)


# ------------------------------------------------------------------ 12: cost of an adoption


def test_an_adopted_copy_is_no_part_of_the_stacks_share_of_the_cost() -> None:
    desired = web()
    kept = converge(desired)
    copy = image_at(kept, "image.web@ap-singapore")
    sized = replace(copy, tags={}, size_gb=50)
    observed = replace(kept, images=tuple(sized if i is copy else i for i in kept.images))
    result = plan(desired, observed)
    adopted = next(c for c in result.changes if c.address == "image.web@ap-singapore")
    assert adopted.action is Action.UPDATE
    estimate = estimate_cost(desired, observed, result)
    for region in estimate.regions:
        assert region.monthly_delta == 0
        assert region.stack_share_of_delta == 0, region


def test_creating_and_adopting_together_count_only_the_new_image() -> None:
    desired = web()
    kept = converge(web(copies=("ap-shanghai",)))
    home = image_at(kept, "image.web")
    observed = replace(
        kept,
        images=tuple(replace(i, tags={}, size_gb=20) if i is home else i for i in kept.images),
    )
    result = plan(desired, observed)
    estimate = estimate_cost(desired, observed, result)
    for region in estimate.regions:
        assert region.stack_share_of_delta == pytest.approx(region.monthly_delta), region


def _change(result: Plan, address: str) -> Change:
    return next(c for c in result.changes if c.address == address)


def test_retained_images_forgotten_cost_the_stack_nothing() -> None:
    desired = web(lifecycle=Lifecycle(deletion_policy=DeletionPolicy.RETAIN))
    kept = converge(desired)
    result = plan(state(), kept)
    assert _change(result, "image.web").action is Action.FORGET
    estimate = estimate_cost(state(), kept, result)
    assert all(r.stack_share_of_delta == 0 for r in estimate.regions)
