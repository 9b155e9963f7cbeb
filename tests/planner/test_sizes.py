"""The sizes the planner records on new images (`Change.after["sizeGb"]`) for the cost (SPEC §9)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.desired import (
    DesiredState,
    ExistingSource,
    ImageSource,
    ImportSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.observed import ObservedCloud, ObservedImage, ObservedSnapshot
from reconciler.model.plan import Action, Change, Plan

from .builders import cloud, image, plan, state
from .scenarios import converge, image_at

COPIES = ("ap-shanghai", "ap-singapore")
SIZES = {
    "ins-demo0001": 50,  # the system disk of the instance
    "disk-demo0101": 100,  # a data disk of it
    "ins-demo0009": 30,
    "snap-sys00001": 20,
    "snap-data0001": 40,
}


def web(source: ImageSource, copies: tuple[str, ...] = COPIES) -> DesiredState:
    return state(image("web", source=source), copies={"web": list(copies)})


def sized(observed: ObservedCloud, sizes: dict[str, int] | None = None) -> ObservedCloud:
    return replace(observed, source_sizes=SIZES if sizes is None else sizes)


def size_of(result: Plan, address: str) -> object:
    change: Change = next(c for c in result.changes if c.address == address)
    assert change.after is not None
    return change.after.get("sizeGb")


def image_addresses(result: Plan) -> list[str]:
    return [c.address for c in result.changes if c.address.startswith("image.")]


def test_an_image_of_an_instance_holds_its_system_disk_and_the_listed_data_disks() -> None:
    system_only = plan(web(InstanceSource(instance_id="ins-demo0001")), sized(cloud()))
    assert image_addresses(system_only) == [
        "image.web",
        "image.web@ap-shanghai",
        "image.web@ap-singapore",
    ]
    # The instance's 100 GiB data disk is not listed: the image (and each copy) is 50 GiB.
    assert [size_of(system_only, a) for a in image_addresses(system_only)] == [50, 50, 50]

    source = InstanceSource(instance_id="ins-demo0001", data_disk_ids=("disk-demo0101",))
    with_data = plan(web(source), sized(cloud()))
    assert [size_of(with_data, a) for a in image_addresses(with_data)] == [150, 150, 150]


def test_an_image_of_snapshots_holds_the_system_and_data_snapshots() -> None:
    source = SnapshotsSource(system="snap-sys00001", data=("snap-data0001",))
    result = plan(web(source, copies=("ap-singapore",)), sized(cloud()))
    assert size_of(result, "image.web") == 60
    assert size_of(result, "image.web@ap-singapore") == 60


def test_an_unknown_disk_leaves_the_size_unrecorded() -> None:
    # The listed data disk was not observed (another instance's, or not readable).
    source = InstanceSource(instance_id="ins-demo0001", data_disk_ids=("disk-unknown1",))
    result = plan(web(source), sized(cloud()))
    assert [size_of(result, a) for a in image_addresses(result)] == [None, None, None]
    # Nothing observed at all: the same.
    bare = plan(web(InstanceSource(instance_id="ins-demo0001")), cloud())
    assert [size_of(bare, a) for a in image_addresses(bare)] == [None, None, None]


def test_an_import_has_no_known_size_before_it_is_imported() -> None:
    source = ImportSource(
        url="https://bucket-1250000000.cos.ap-guangzhou.myqcloud.com/web.qcow2",
        os_type="CentOS",
        os_version="7",
    )
    result = plan(web(source), sized(cloud()))
    assert {c.action for c in result.changes if c.address.startswith("image.")} == {Action.CREATE}
    assert [size_of(result, a) for a in image_addresses(result)] == [None, None, None]


def test_a_new_copy_of_a_live_home_image_is_as_big_as_that_image() -> None:
    applied = converge(web(InstanceSource(instance_id="ins-demo0001"), copies=("ap-shanghai",)))
    home = image_at(applied, "image.web")
    home_gb = sum(s.disk_size for s in home.snapshots)
    assert home_gb == 50
    # The source is bigger now (the disk grew): the copy is still made from the live image.
    result = plan(
        web(InstanceSource(instance_id="ins-demo0001")), sized(applied, {"ins-demo0001": 80})
    )
    changes = {c.address: c for c in result.changes}
    assert changes["image.web@ap-singapore"].action is Action.CREATE
    assert size_of(result, "image.web@ap-singapore") == home_gb
    # Images that stay record no size: the estimate takes theirs from the cloud.
    assert changes["image.web"].action is Action.NOOP
    assert size_of(result, "image.web") is None
    assert changes["image.web@ap-shanghai"].action is Action.NOOP
    assert size_of(result, "image.web@ap-shanghai") is None


def test_a_replacement_and_its_copies_have_the_new_sources_size() -> None:
    applied = converge(web(InstanceSource(instance_id="ins-demo0001")))
    result = plan(web(InstanceSource(instance_id="ins-demo0009")), sized(applied))
    changes = {c.address: c for c in result.changes}
    assert [changes[a].action for a in image_addresses(result)] == [Action.REPLACE] * 3
    assert [size_of(result, a) for a in image_addresses(result)] == [30, 30, 30]


def test_copies_of_an_adopted_existing_image_have_its_observed_size() -> None:
    golden = ObservedImage(
        image_id="img-g0000001",
        region="ap-guangzhou",
        name="packer-golden",
        size_gb=20,
        snapshots=(
            ObservedSnapshot("snap-g0000001", "SYSTEM_DISK", 20),
            ObservedSnapshot("snap-g0000002", "DATA_DISK", 5),
        ),
    )
    result = plan(web(ExistingSource(image_id="img-g0000001")), sized(cloud(golden)))
    changes = {c.address: c for c in result.changes}
    assert changes["image.web"].action is Action.UPDATE  # adopted, not made
    assert size_of(result, "image.web") is None
    assert size_of(result, "image.web@ap-shanghai") == 25
    assert size_of(result, "image.web@ap-singapore") == 25
