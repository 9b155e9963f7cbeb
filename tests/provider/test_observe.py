"""Observing a seeded simulated cloud: pagination, ownership, share reads, regions, quotas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.errors import TransientError
from reconciler.provider.observe import observe, observe_sources
from reconciler.provider.tencent import TencentCloudProvider
from tests.conftest import RecordingTransport

GZ = "ap-guangzhou"
SH = "ap-shanghai"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_image(
    provider: TencentCloudProvider,
    name: str,
    *,
    stack: str | None = None,
    region: str = GZ,
    instance: str = "ins-demo0001",
) -> str:
    params: dict[str, object] = {"ImageName": name, "InstanceId": instance}
    if stack is not None:
        params["TagSpecification"] = [
            {
                "ResourceType": "image",
                "Tags": [
                    {"Key": "reconciler:stack", "Value": stack},
                    {"Key": "reconciler:address", "Value": f"image.{name}"},
                ],
            }
        ]
    return str(provider.call("cvm", "CreateImage", region, params)["ImageId"])


def test_lists_every_private_image_over_several_pages(
    provider: TencentCloudProvider, transport: RecordingTransport, clock: VirtualClock
) -> None:
    ids = {make_image(provider, f"bulk-{n:03d}") for n in range(130)}
    owned = {make_image(provider, f"mine-{n}", stack="prod") for n in range(3)}
    transport.calls.clear()
    cloud = observe(provider, [GZ], "prod", now=NOW)
    assert {image.image_id for image in cloud.images} == ids | owned
    assert transport.count("DescribeImages", GZ) == 2  # 133 images: two pages of 100
    pages = [p for a, _, p in transport.calls if a == "DescribeImages"]
    assert all(p["Limit"] == 100 for p in pages)
    assert [p["Offset"] for p in pages] == [0, 100]
    assert all(p["Filters"] == [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}] for p in pages)
    # Public images are never in the result.
    assert all(image.image_source != "OFFICIAL" for image in cloud.images)
    assert cloud.observed_at == "2026-03-01T12:00:00Z"


def test_share_lists_are_read_only_for_the_stacks_own_images(
    provider: TencentCloudProvider, transport: RecordingTransport, clock: VirtualClock
) -> None:
    mine = make_image(provider, "mine", stack="prod")
    other_stack = make_image(provider, "theirs", stack="staging")
    unowned = make_image(provider, "hand-made")
    clock.advance(60)  # all NORMAL
    for image_id in (mine, other_stack, unowned):
        provider.run_step(
            "ModifyImageSharePermission",
            "cvm",
            GZ,
            {"ImageId": image_id, "AccountIds": ["100000000002"], "Permission": "SHARE"},
        )
    transport.calls.clear()
    cloud = observe(provider, [GZ], "prod", now=NOW)
    shared_reads = [
        p["ImageId"] for a, _, p in transport.calls if a == "DescribeImageSharePermission"
    ]
    assert shared_reads == [mine]
    by_id = {image.image_id: image for image in cloud.images}
    assert by_id[mine].shares == ("100000000002",)
    assert by_id[other_stack].shares is None
    assert by_id[unowned].shares is None
    assert [image.image_id for image in cloud.owned_by("prod")] == [mine]


def test_share_lists_are_read_for_untagged_images_with_an_exact_desired_name(
    provider: TencentCloudProvider, transport: RecordingTransport, clock: VirtualClock
) -> None:
    adoptable = make_image(provider, "web-1a2b3c4d")
    near = make_image(provider, "web-1a2b3c4d-old")
    other_stack = make_image(provider, "api-1a2b3c4d", stack="staging")
    clock.advance(60)  # all NORMAL
    for image_id in (adoptable, near, other_stack):
        provider.run_step(
            "ModifyImageSharePermission",
            "cvm",
            GZ,
            {"ImageId": image_id, "AccountIds": ["100000000002"], "Permission": "SHARE"},
        )
    transport.calls.clear()
    names = {"web-1a2b3c4d", "api-1a2b3c4d"}
    cloud = observe(provider, [GZ], "prod", now=NOW, share_names_for=names)
    shared_reads = [
        p["ImageId"] for a, _, p in transport.calls if a == "DescribeImageSharePermission"
    ]
    assert shared_reads == [adoptable]
    by_id = {image.image_id: image for image in cloud.images}
    assert by_id[adoptable].shares == ("100000000002",)
    assert by_id[near].shares is None
    assert by_id[other_stack].shares is None


def test_tags_that_appear_late_are_picked_up_on_the_next_observe(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    image_id = make_image(provider, "late-1a2b3c4d")
    first = observe(provider, [GZ], "prod", now=NOW)
    (seen,) = first.images
    assert (seen.stack, seen.shares, seen.name) == (None, None, "late-1a2b3c4d")
    provider.run_step(
        "ModifyResourceTags",
        "tag",
        GZ,
        {"ImageId": image_id, "ReplaceTags": [{"TagKey": "reconciler:stack", "TagValue": "prod"}]},
    )
    second = observe(provider, [GZ], "prod", now=NOW)
    (owned,) = second.owned_by("prod")
    assert owned.image_id == image_id
    assert owned.shares == ()


def test_regions_that_do_not_answer_are_skipped_and_quotas_read_per_region(
    provider: TencentCloudProvider, sim: CloudSim
) -> None:
    make_image(provider, "gz")
    make_image(provider, "sh", region=SH, instance="ins-demo0002")
    cloud = observe(provider, [GZ, "xx-nowhere-1", SH, GZ], "prod", now=NOW)
    assert cloud.regions == (GZ, SH)
    assert set(cloud.quotas) == {GZ, SH}
    assert cloud.quotas[GZ] == 500
    assert sorted(image.region for image in cloud.images) == [GZ, SH]
    assert cloud.account == sim.own_account


def test_quotas_are_read_only_where_asked(
    provider: TencentCloudProvider, transport: RecordingTransport
) -> None:
    cloud = observe(provider, [GZ, SH, "ap-tokyo"], "prod", now=NOW, quota_regions={GZ})
    assert cloud.regions == (GZ, SH, "ap-tokyo")
    assert set(cloud.quotas) == {GZ}
    assert transport.count("DescribeImageQuota") == 1
    assert transport.count("DescribeImageQuota", GZ) == 1


def test_other_errors_are_raised(provider: TencentCloudProvider, sim: CloudSim) -> None:
    sim.set_fault("DescribeImages", "InternalError", count=5)
    with pytest.raises(TransientError):
        observe(provider, [GZ, SH], "prod", now=NOW)


def test_source_sizes_are_read_with_one_request_per_region_and_kind(
    provider: TencentCloudProvider, transport: RecordingTransport, sim: CloudSim
) -> None:
    added = sim.add_instance(SH, data_disk_sizes=(20, 30))
    data_disks = {disk["DiskId"]: disk["DiskSize"] for disk in added["DataDisks"]}
    sizes = observe_sources(
        provider,
        instances={GZ: ["ins-demo0001", "ins-zzzzzzzz"], SH: [added["InstanceId"]]},
        snapshots={GZ: ["snap-demo0001", "snap-demo0101", "snap-zzzzzzzz"]},
    ).sizes
    assert sizes == {
        # ins-demo0001: its 50 GiB system disk (keyed by the instance) and 100 GiB data disk.
        "ins-demo0001": 50,
        "disk-demo0101": 100,
        added["InstanceId"]: 50,
        **data_disks,
        "snap-demo0001": 50,
        "snap-demo0101": 100,
    }
    assert sorted(data_disks.values()) == [20, 30]
    assert transport.count("DescribeInstances", GZ) == 1
    assert transport.count("DescribeInstances", SH) == 1
    assert transport.count("DescribeSnapshots", GZ) == 1
    assert transport.count("DescribeSnapshots", SH) == 0
    (gz_instances,) = [p for a, r, p in transport.calls if a == "DescribeInstances" and r == GZ]
    assert gz_instances == {"InstanceIds": ["ins-demo0001", "ins-zzzzzzzz"], "Limit": 100}


def test_source_sizes_ask_for_at_most_100_instances_a_request(
    provider: TencentCloudProvider, transport: RecordingTransport
) -> None:
    wanted = ["ins-demo0001", *(f"ins-{n:08d}" for n in range(150))]
    sizes = observe_sources(provider, instances={GZ: wanted}, snapshots={}).sizes
    assert sizes == {"ins-demo0001": 50, "disk-demo0101": 100}
    requests = [p["InstanceIds"] for a, _, p in transport.calls if a == "DescribeInstances"]
    assert [len(ids) for ids in requests] == [100, 51]
    assert sorted(i for ids in requests for i in ids) == sorted(wanted)


def test_a_missing_source_size_never_fails_the_observation(
    provider: TencentCloudProvider, transport: RecordingTransport, sim: CloudSim
) -> None:
    # An instance of another region, an unknown region, a malformed ID beside a good one.
    sizes = observe_sources(
        provider,
        instances={
            GZ: ["ins-demo0002", "ins-bad", "ins-demo0001"],
            "xx-nowhere-1": ["ins-demo0003"],
        },
        snapshots={},
    ).sizes
    assert sizes == {"ins-demo0001": 50, "disk-demo0101": 100}
    # The malformed ID failed the batch: each ID was then read alone.
    assert transport.count("DescribeInstances", GZ) == 4
    # No permission to read instances, a failing CBS: those sizes are simply unknown.
    sim.set_fault("DescribeInstances", "UnauthorizedOperation")
    sim.set_fault("DescribeSnapshots", "InternalError")
    assert (
        observe_sources(
            provider, instances={GZ: ["ins-demo0001"]}, snapshots={GZ: ["snap-demo0001"]}
        ).sizes
        == {}
    )
