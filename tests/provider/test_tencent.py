"""The provider's typed calls and step vocabulary against the simulated cloud."""

from __future__ import annotations

import pytest

from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.errors import AlreadyExistsError, InvalidRequestError, ThrottledError
from reconciler.provider.local import LocalTransport
from reconciler.provider.ratelimit import RateLimiter
from reconciler.provider.tencent import TencentCloudProvider, image_resource_name
from tests.conftest import RecordingTransport

GZ = "ap-guangzhou"
SH = "ap-shanghai"
SG = "ap-singapore"
P2, P3 = "100000000002", "100000000003"


def create(provider: TencentCloudProvider, name: str, stack: str = "prod") -> str:
    outputs = provider.run_step(
        "CreateImage",
        "cvm",
        GZ,
        {
            "ImageName": name,
            "InstanceId": "ins-demo0001",
            "TagSpecification": [
                {"ResourceType": "image", "Tags": [{"Key": "reconciler:stack", "Value": stack}]}
            ],
        },
    )
    return outputs["ImageId"]


def test_find_by_exact_name_ignores_fuzzy_matches(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    create(provider, "web-base-extra")
    wanted = create(provider, "web-base")
    found = provider.find_by_exact_name(GZ, "web-base")
    assert found is not None
    assert found.image_id == wanted
    assert provider.find_by_exact_name(GZ, "web") is None


def test_create_adopts_the_image_holding_its_name(
    provider: TencentCloudProvider, transport: RecordingTransport
) -> None:
    first = create(provider, "web-1a2b3c4d")
    assert create(provider, "web-1a2b3c4d") == first
    assert transport.count("CreateImage") == 2


def test_create_does_not_adopt_another_stacks_image(provider: TencentCloudProvider) -> None:
    create(provider, "web-1a2b3c4d", stack="staging")
    with pytest.raises(AlreadyExistsError):
        create(provider, "web-1a2b3c4d", stack="prod")


def test_sync_reports_every_copy_and_adopts_existing_ones(
    provider: TencentCloudProvider, clock: VirtualClock, transport: RecordingTransport
) -> None:
    source = create(provider, "app-1a2b3c4d")
    clock.advance(60)
    params = {"ImageIds": [source], "DestinationRegions": [SH], "ImageName": "app-1a2b3c4d"}
    first = provider.run_step("SyncImages", "cvm", GZ, params)
    assert first["ImageId"] == source
    clock.advance(60)
    # An interrupted apply copied to SH already; the retry asks for SH and SG.
    again = provider.run_step("SyncImages", "cvm", GZ, {**params, "DestinationRegions": [SH, SG]})
    assert again[f"ImageSet.{SH}"] == first[f"ImageSet.{SH}"]
    assert again[f"ImageSet.{SG}"].startswith("img-")
    sg_images = [i for i in provider.describe_private_images(SG) if i.name == "app-1a2b3c4d"]
    assert [i.image_id for i in sg_images] == [again[f"ImageSet.{SG}"]]
    sh_images = [i for i in provider.describe_private_images(SH) if i.name == "app-1a2b3c4d"]
    assert len(sh_images) == 1


def test_share_and_cancel_are_idempotent_per_account(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    image = create(provider, "shared")
    clock.advance(60)

    def modify(accounts: list[str], permission: str) -> None:
        provider.run_step(
            "ModifyImageSharePermission",
            "cvm",
            GZ,
            {"ImageId": image, "AccountIds": accounts, "Permission": permission},
        )

    modify([P2], "SHARE")
    modify([P2, P3], "SHARE")  # P2 already shared: P3 must still get it
    assert provider.share_accounts(GZ, image) == (P2, P3)
    modify([P2], "CANCEL")
    modify([P2, P3], "CANCEL")  # P2 no longer shared: P3 must still be cancelled
    assert provider.share_accounts(GZ, image) == ()
    modify([P3], "CANCEL")
    assert provider.share_accounts(GZ, image) == ()


def test_delete_images_and_snapshots_treat_not_found_as_done(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    image = create(provider, "gone")
    clock.advance(60)
    (observed,) = provider.describe_images_by_id(GZ, [image])
    snapshots = [s.snapshot_id for s in observed.snapshots]
    provider.run_step("DeleteImages", "cvm", GZ, {"ImageIds": [image], "DeleteBindedSnap": False})
    provider.run_step("DeleteImages", "cvm", GZ, {"ImageIds": [image], "DeleteBindedSnap": False})
    assert provider.describe_images_by_id(GZ, [image]) == []
    provider.run_step("DeleteSnapshots", "cbs", GZ, {"SnapshotIds": ["snap-0000gone", *snapshots]})
    left = provider.call("cbs", "DescribeSnapshots", GZ, {"SnapshotIds": snapshots})
    assert left.get("SnapshotSet") == []


def test_tag_steps_address_the_image_by_its_six_segment_name(
    provider: TencentCloudProvider, transport: RecordingTransport, sim: CloudSim
) -> None:
    image = create(provider, "tagged")
    provider.run_step(
        "ModifyResourceTags",
        "tag",
        GZ,
        {
            "ImageId": image,
            "ReplaceTags": [{"TagKey": "owner", "TagValue": "web"}],
            "DeleteTags": [],
        },
    )
    action, region, params = transport.calls[-1]
    assert (action, region) == ("ModifyResourceTags", GZ)
    assert params == {
        "Resource": f"qcs::cvm:{GZ}:uin/{sim.own_account}:image/{image}",
        "ReplaceTags": [{"TagKey": "owner", "TagValue": "web"}],
    }
    provider.run_step("UnTagResources", "tag", GZ, {"ImageId": image, "TagKeys": ["owner"]})
    (observed,) = provider.describe_images_by_id(GZ, [image])
    assert observed.tags == {"reconciler:stack": "prod"}
    calls = len(transport.calls)
    provider.run_step("UnTagResources", "tag", GZ, {"ImageId": image, "TagKeys": []})
    assert len(transport.calls) == calls  # nothing to remove: no call


def test_image_resource_name() -> None:
    assert image_resource_name(GZ, "", "img-1") == "qcs::cvm:ap-guangzhou:uin/:image/img-1"


def test_an_unknown_step_operation_is_refused(provider: TencentCloudProvider) -> None:
    with pytest.raises(InvalidRequestError, match="no such step operation: RebootInstances"):
        provider.run_step("RebootInstances", "cvm", GZ, {})


def test_pacing_keeps_a_burst_under_the_clouds_throttle(sim: CloudSim, clock: VirtualClock) -> None:
    sim.set_throttle("DescribeImageQuota", 10)
    paced = TencentCloudProvider(
        LocalTransport(sim, sim.own_account), sim.own_account, limiter=RateLimiter(clock)
    )
    for _ in range(40):
        assert paced.image_quota(GZ) == 500
    unpaced = TencentCloudProvider(LocalTransport(sim, sim.own_account), sim.own_account)

    def burst() -> None:
        for _ in range(40):
            unpaced.image_quota(SH)

    with pytest.raises(ThrottledError):
        burst()
