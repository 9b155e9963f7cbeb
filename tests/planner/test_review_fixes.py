"""Pure planner cases of a hand review of plan/apply on the simulated cloud (plan-time checks,
drift wording, targets, ignoreChanges)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.desired import ExistingSource, InstanceSource, Lifecycle, SnapshotsSource
from reconciler.model.observed import TAG_APPLIED, ObservedImage
from reconciler.planner.applied import TaggedLifecycle, lifecycle_tag

from .builders import cloud, image, plan, state
from .scenarios import actions, converge, edit, image_at

PARTNER = "100000000002"


def test_unknown_drift_names_the_fields_that_differ_from_the_manifests() -> None:
    desired = state(image("web"))
    before = converge(desired)
    home = image_at(before, "image.web")
    changed = edit(
        before,
        "image.web",
        description="edited",
        tags={**home.tags, TAG_APPLIED: "000000000000"},
    )
    result = plan(desired, changed)
    (drift,) = result.drift
    assert drift.reason == (
        "changed outside the stack (fields unknown; differing from the manifests: description)"
    )
    (change,) = [c for c in result.changes if c.address == "image.web"]
    assert "drift: changed outside the stack (fields unknown; differing" in change.reason


def test_a_source_that_does_not_exist_fails_only_a_plan_that_makes_the_image() -> None:
    desired = state(
        image("web", source=InstanceSource(instance_id="ins-gone0001")),
        image("app", source=SnapshotsSource(system="snap-demo0001", data=("snap-gone0001",))),
    )
    missing = frozenset({"ins-gone0001", "snap-gone0001"})
    result = plan(desired, replace(cloud(), missing_sources=missing))
    assert result.errors == (
        "image.app (app.yaml:1): source.snapshots.data snap-gone0001 does not exist in "
        "ap-guangzhou",
        "image.web (web.yaml:1): source.instance.id ins-gone0001 does not exist in ap-guangzhou",
    )
    # Images that exist need their source no more (a golden instance may be gone).
    made = converge(desired)
    assert plan(desired, replace(made, missing_sources=missing)).errors == ()


def _untagged(image_id: str, name: str, region: str = "ap-guangzhou") -> ObservedImage:
    return ObservedImage(image_id=image_id, region=region, name=name, shares=None)


def test_a_rename_into_a_name_another_image_holds_is_a_plan_error() -> None:
    existing = ExistingSource(image_id="img-pkr00001")
    adopted = state(image("web", source=existing), copies={"web": ["ap-shanghai"]})
    packer = _untagged("img-pkr00001", "packer-web")
    before = converge(adopted, cloud(packer))
    taken = [_untagged("img-other001", "taken"), _untagged("img-other002", "taken", "ap-shanghai")]
    crowded = replace(before, images=(*before.images, *taken))
    renamed = state(
        image("web", source=existing, image_name="taken"), copies={"web": ["ap-shanghai"]}
    )
    result = plan(renamed, crowded)
    assert any(
        e.startswith("image.web (web.yaml:1): can't rename img-pkr00001 to taken in ap-guangzhou")
        and "img-other001 (untagged)" in e
        for e in result.errors
    ), result.errors
    # Another stack's image holding the new (generation-suffixed) name of a kept copy.
    desired = state(image("web"), copies={"web": ["ap-shanghai"]})
    made = converge(desired)
    new = state(image("web", image_name="site"), copies={"web": ["ap-shanghai"]})
    new_name = new.images[0].copy_name
    other = replace(
        _untagged("img-other003", new_name, "ap-shanghai"), tags={"reconciler:stack": "other"}
    )
    result = plan(new, replace(made, images=(*made.images, other)))
    assert [e for e in result.errors if "img-other003 (stack other)" in e], result.errors
    # An untagged image with it: not adoptable, since the stack keeps (and renames) its own.
    loose = _untagged("img-other004", new_name, "ap-shanghai")
    result = plan(new, replace(made, images=(*made.images, loose)))
    assert any(
        e.startswith("image.web@ap-shanghai (web-copies.yaml:5): can't rename")
        and "img-other004 (untagged)" in e
        for e in result.errors
    ), result.errors
    assert plan(new, made).errors == ()


def test_a_targeted_unshare_in_a_removed_copy_region_plans_only_the_unshare() -> None:
    shares = {"ap-guangzhou": [PARTNER], "ap-singapore": [PARTNER]}
    before = converge(state(image("web"), copies={"web": ["ap-singapore"]}, shares={"web": shares}))
    removed = state(image("web"), shares={"web": {"ap-guangzhou": [PARTNER]}})
    target = f"share.web@ap-singapore:{PARTNER}"
    result = plan(removed, before, targets=(target,))
    assert result.errors == ()
    assert actions(result) == {target: "unshare"}
    (cancel,) = result.steps
    copy = image_at(before, "image.web@ap-singapore")
    assert (cancel.operation, cancel.address, cancel.params) == (
        "ModifyImageSharePermission",
        "image.web@ap-singapore",
        {"ImageId": copy.image_id, "AccountIds": [PARTNER], "Permission": "CANCEL"},
    )
    # Without --target the copy goes, its share cancelled first.
    assert actions(plan(removed, before)) == {
        "image.web@ap-singapore": "delete",
        target: "unshare",
    }


def test_a_path_added_to_ignore_changes_is_recorded_under_its_own_reason() -> None:
    before = converge(state(image("web")))
    ignoring = state(image("web", lifecycle=Lifecycle(ignore_changes=("description",))))
    result = plan(ignoring, before)
    (change,) = result.changes
    assert change.reason == "lifecycle.ignoreChanges changed: record what is applied"
    # A record nothing explains is still an interrupted apply.
    home = image_at(before, "image.web")
    stale = edit(before, "image.web", tags={**home.tags, TAG_APPLIED: "000000000000"})
    (change,) = plan(ignoring, stale).changes
    assert change.reason == (
        "record what is applied (an earlier apply did not finish, "
        "or the same change was made outside the stack)"
    )


def test_a_home_made_from_snapshots_records_that_they_are_the_users() -> None:
    source = SnapshotsSource(system="snap-demo0001")
    before = converge(
        state(image("web", source=source, lifecycle=Lifecycle(delete_snapshots=True))),
    )
    home = image_at(before, "image.web")
    assert home.tags["reconciler:lifecycle"] == "user-snapshots"
    assert TaggedLifecycle.parse("keep-snapshots,user-snapshots") == TaggedLifecycle(
        protect=False, retain=False, delete_snapshots=False, user_snapshots=True
    )
    assert lifecycle_tag(Lifecycle(), user_snapshots=True) == "user-snapshots"
    copies = converge(state(image("web", source=source), copies={"web": ["ap-shanghai"]}), before)
    assert image_at(copies, "image.web@ap-shanghai").tags["reconciler:lifecycle"] == ""
