"""The step DAG's ordering rules (SPEC §4), checked on the steps of concrete plans."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.desired import InstanceSource, Lifecycle, SnapshotsSource
from reconciler.model.observed import ImageState, ObservedSnapshot
from reconciler.model.plan import Plan, Step, StepRef

from .builders import cloud, image, plan, state
from .scenarios import converge, edit, image_at

PARTNER = "100000000002"


def _ancestors(result: Plan, step: Step) -> set[str]:
    by_id = {s.id: s for s in result.steps}
    seen: set[str] = set()
    todo = list(step.depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += by_id[current].depends_on
    return seen


def _first(result: Plan, operation: str, address: str | None = None) -> Step:
    return next(
        s for s in result.steps if s.operation == operation and address in {None, s.address}
    )


def test_one_sync_per_source_for_every_missing_region_then_wait_then_share() -> None:
    desired = state(
        image("web"),
        copies={"web": ["ap-shanghai", "ap-singapore"]},
        shares={"web": {"ap-guangzhou": [PARTNER], "ap-shanghai": [PARTNER]}},
    )
    result = plan(desired, cloud())
    syncs = [s for s in result.steps if s.operation == "SyncImages"]
    assert len(syncs) == 1
    sync = syncs[0]
    assert sync.params["DestinationRegions"] == ["ap-shanghai", "ap-singapore"]
    assert sync.params["ImageSetRequired"] is True
    create = _first(result, "CreateImage")
    assert sync.params["ImageIds"] == [StepRef(create.id)]
    home_wait = next(
        s
        for s in result.steps
        if s.operation == "Wait" and sync.id in s.depends_on and s.address == "image.web"
    )
    home_share = _first(result, "ModifyImageSharePermission", "image.web")
    assert home_wait.id in _ancestors(result, home_share)
    copy_tag = _first(result, "ModifyResourceTags", "image.web@ap-shanghai")
    assert copy_tag.depends_on == (sync.id,)
    assert copy_tag.params["ImageId"] == StepRef(sync.id, "ImageSet.ap-shanghai")
    copy_share = _first(result, "ModifyImageSharePermission", "image.web@ap-shanghai")
    copy_wait = _first(result, "Wait", "image.web@ap-shanghai")
    assert copy_wait.id in _ancestors(result, copy_share)


def test_create_is_tagged_at_once_and_deprecated_after_the_wait() -> None:
    result = plan(state(image("web", deprecated=True)), cloud())
    create, tag, wait, modify = result.steps[:4]
    assert (create.operation, tag.operation, wait.operation) == (
        "CreateImage",
        "ModifyResourceTags",
        "Wait",
    )
    assert tag.depends_on == (create.id,)
    assert modify.operation == "ModifyImageAttribute"
    assert modify.params["ImageDeprecated"] is True
    assert wait.id in modify.depends_on
    assert create.params["ForcePoweroff"] == "false"


def test_shared_image_attribute_change_is_cancel_modify_reshare_always_run() -> None:
    desired = state(image("web"), shares={"web": {"ap-guangzhou": [PARTNER]}})
    before = converge(desired)
    result = plan(
        state(image("web", family="web"), shares={"web": {"ap-guangzhou": [PARTNER]}}), before
    )
    cancel, modify, reshare = result.steps[:3]
    assert (cancel.params["Permission"], modify.operation, reshare.params["Permission"]) == (
        "CANCEL",
        "ModifyImageAttribute",
        "SHARE",
    )
    assert modify.depends_on == (cancel.id,)
    assert reshare.depends_on == (modify.id,)
    assert reshare.always_run
    assert not cancel.always_run


def test_deleting_a_shared_busy_image_waits_then_cancels_then_deletes_with_snapshots() -> None:
    desired = state(
        image("web", source=InstanceSource(instance_id="ins-demo0001", data_disk_ids=("disk-1",))),
        shares={"web": {"ap-guangzhou": [PARTNER]}},
    )
    before = converge(desired)
    busy = edit(before, "image.web", state=ImageState.SYNCING)
    result = plan(state(), busy)
    assert [s.operation for s in result.steps] == [
        "Wait",
        "ModifyImageSharePermission",
        "DeleteImages",
        "DeleteSnapshots",
    ]
    delete, snapshots = result.steps[2:]
    assert delete.params["DeleteBindedSnap"] is True
    data = [
        s.snapshot_id
        for s in image_at(before, "image.web").snapshots
        if s.disk_usage == "DATA_DISK"
    ]
    assert snapshots.params["SnapshotIds"] == data
    assert snapshots.service == "cbs"


def test_source_snapshots_are_never_deleted_and_keep_snapshots_skips_cbs() -> None:
    source = SnapshotsSource(system="snap-demo0001", data=("snap-data0001",))
    desired = state(image("web", source=source, lifecycle=Lifecycle(delete_snapshots=True)))
    before = converge(desired)
    # CreateImage from snapshots binds the user's snapshots: DeleteBindedSnap would delete them.
    assert {s.snapshot_id for s in image_at(before, "image.web").snapshots} == {
        "snap-demo0001",
        "snap-data0001",
    }
    replaced = plan(desired, before, replace=("image.web",))
    delete = _first(replaced, "DeleteImages")
    assert delete.params["DeleteBindedSnap"] is False
    assert not [s for s in replaced.steps if s.operation == "DeleteSnapshots"]
    # The document removed: the image's own lifecycle tag (`user-snapshots`) still keeps them.
    removed = plan(state(), before)
    assert [s.operation for s in removed.steps] == ["DeleteImages"]
    assert removed.steps[0].params["DeleteBindedSnap"] is False
    # Images tagged before that flag existed: their `reconciler:source` tag tells the same.
    home = image_at(before, "image.web")
    legacy = edit(before, "image.web", tags={**home.tags, "reconciler:lifecycle": ""})
    assert plan(state(), legacy).steps[0].params["DeleteBindedSnap"] is False
    # An image of another source whose data-disk snapshot is named in a `source.snapshots`.
    other = state(
        image("web", source=InstanceSource(instance_id="ins-demo0001", data_disk_ids=("d-1",))),
        image("app", source=SnapshotsSource(system="snap-demo0002", data=("snap-data0002",))),
    )
    converged = converge(other)
    web = image_at(converged, "image.web")
    shared_data = edit(
        converged,
        "image.web",
        snapshots=(*web.snapshots, ObservedSnapshot("snap-data0002", "DATA_DISK", 10)),
    )
    result = plan(other, shared_data, replace=("image.web",))
    # Bound to a snapshot of the user's: no DeleteBindedSnap, its own snapshots through CBS.
    assert _first(result, "DeleteImages").params["DeleteBindedSnap"] is False
    own = sorted(s.snapshot_id for s in web.snapshots)
    assert _first(result, "DeleteSnapshots").params["SnapshotIds"] == own
    plain = plan(other, converged, replace=("image.web",))
    assert _first(plain, "DeleteImages").params["DeleteBindedSnap"] is True
    own_data = [s.snapshot_id for s in web.snapshots if s.disk_usage == "DATA_DISK"]
    assert _first(plain, "DeleteSnapshots").params["SnapshotIds"] == own_data
    # A new source: the old image's own lifecycle tag still keeps what it kept.
    kept_before = converge(
        state(image("web", source=source, lifecycle=Lifecycle(delete_snapshots=False)))
    )
    moved = plan(state(image("web", lifecycle=Lifecycle(delete_snapshots=True))), kept_before)
    assert _first(moved, "DeleteImages").params["DeleteBindedSnap"] is False
    kept = converge(state(image("web", lifecycle=Lifecycle(delete_snapshots=False))))
    removal = plan(state(), kept)
    assert [s.operation for s in removal.steps] == ["DeleteImages"]
    assert removal.steps[0].params["DeleteBindedSnap"] is False


def test_replacement_deposes_the_old_generation_last() -> None:
    desired = state(
        image("web"), copies={"web": ["ap-shanghai"]}, shares={"web": {"ap-guangzhou": [PARTNER]}}
    )
    before = converge(desired)
    result = plan(
        state(
            image("web", source=InstanceSource(instance_id="ins-demo0004")),
            copies={"web": ["ap-shanghai"]},
            shares={"web": {"ap-guangzhou": [PARTNER]}},
        ),
        before,
    )
    deletes = [s for s in result.steps if s.operation == "DeleteImages"]
    assert len(deletes) == 2
    new_side = {
        s.id
        for s in result.steps
        if s.operation in {"CreateImage", "SyncImages", "Wait"}
        or (s.operation == "ModifyImageSharePermission" and s.params["Permission"] == "SHARE")
    }
    for delete in deletes:
        assert new_side <= _ancestors(result, delete)
    assert result.summary["replace"] == 2
    assert result.summary["share"] == result.summary["unshare"] == 0


def test_old_copies_in_removed_regions_are_deposed_with_the_old_home() -> None:
    """Moving the home into a former copy region: the old copy there (and in every region no
    longer declared) is deleted only after the new generation's images and shares exist."""
    before = converge(
        state(
            image("web"),
            copies={"web": ["ap-shanghai"]},
            shares={"web": {"ap-guangzhou": [PARTNER], "ap-shanghai": [PARTNER]}},
        )
    )
    moved = state(
        image("web", region="ap-shanghai", source=InstanceSource(instance_id="ins-demo0002")),
        copies={"web": ["ap-guangzhou", "ap-singapore"]},
        shares={"web": {"ap-shanghai": [PARTNER], "ap-guangzhou": [PARTNER]}},
    )
    result = plan(moved, before)
    create = _first(result, "CreateImage")
    deletes = [s for s in result.steps if s.operation == "DeleteImages"]
    assert {s.address for s in deletes} == {"image.web", "image.web@ap-shanghai"}
    for step in result.steps:
        if step.operation == "DeleteImages" or step.params.get("Permission") == "CANCEL":
            assert create.id in _ancestors(result, step), step


def test_tag_calls_carry_at_most_ten_tags_and_never_empty_lists() -> None:
    tags = {f"k{i:02d}": "v" for i in range(14)}
    result = plan(state(image("web", tags=tags)), cloud())
    tag_steps = [s for s in result.steps if s.operation == "ModifyResourceTags"]
    assert len(tag_steps) == 2  # 14 user + 6 ownership tags (reconciler:source included)
    for step in tag_steps:
        assert 1 <= len(step.params.get("ReplaceTags", [])) <= 10
        assert "DeleteTags" not in step.params


def test_step_ids_are_topological_and_short() -> None:
    result = plan(state(image("web"), copies={"web": ["ap-shanghai"]}), cloud())
    assert [s.id for s in result.steps] == [f"s{i}" for i in range(1, len(result.steps) + 1)]
    for index, step in enumerate(result.steps):
        assert all(int(d[1:]) <= index for d in step.depends_on)


def test_forget_strips_only_reconciler_keys_in_calls_of_ten() -> None:
    from reconciler.model.desired import DeletionPolicy

    desired = state(image("web", lifecycle=Lifecycle(deletion_policy=DeletionPolicy.RETAIN)))
    before = converge(desired)
    extra = image_at(before, "image.web")
    noisy = edit(
        before, "image.web", tags={**extra.tags, **{f"reconciler:x{i}": "1" for i in range(8)}}
    )
    result = plan(state(), noisy)
    untag = [s for s in result.steps if s.operation == "UnTagResources"]
    assert [len(s.params["TagKeys"]) for s in untag] == [10, 4]  # 6 ownership + 8 extra
    assert all(k.startswith("reconciler:") for s in untag for k in s.params["TagKeys"])
    assert replace(result, steps=()).summary["forget"] == 1
