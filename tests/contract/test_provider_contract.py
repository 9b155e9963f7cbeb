"""One suite of provider behaviours, run over both transports (in-process, and SDK → emulator)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.errors import (
    AlreadyExistsError,
    InvalidRequestError,
    InvalidStateError,
    NotFoundError,
    ProviderError,
    ThrottledError,
)
from reconciler.model.observed import TAG_STACK
from reconciler.provider.observe import observe

from .conftest import PARTNER_UIN, CloudUnderTest

HOME = "ap-guangzhou"


def _tag_spec(tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _create(
    cloud: CloudUnderTest, name: str, *, tags: dict[str, str] | None = None, settle: bool = True
) -> str:
    params: dict[str, Any] = {"InstanceId": "ins-demo0001", "ImageName": name}
    if tags:
        params["TagSpecification"] = _tag_spec(tags)
    image_id = cloud.own.run_step("CreateImage", "cvm", HOME, params)["ImageId"]
    if settle:
        cloud.settle()
    return image_id


def _one(cloud: CloudUnderTest, region: str, image_id: str) -> Any:
    images = cloud.own.describe_images_by_id(region, [image_id])
    assert [image.image_id for image in images] == [image_id]
    return images[0]


def test_describe_paginates_over_every_private_image(cloud: CloudUnderTest) -> None:
    created = {_create(cloud, f"page-{n:03d}") for n in range(105)}
    listed = [image.image_id for image in cloud.own.describe_private_images(HOME)]
    assert len(listed) == len(set(listed))
    assert created <= set(listed)
    assert cloud.partner.describe_private_images(HOME) == []


def test_create_then_wait_until_normal(cloud: CloudUnderTest) -> None:
    image_id = _create(cloud, "web-base-0a1b2c3d", tags={"owner": "web"}, settle=False)
    creating = _one(cloud, HOME, image_id)
    assert creating.state.value == "CREATING"
    cloud.settle()
    normal = _one(cloud, HOME, image_id)
    assert normal.state.value == "NORMAL"
    assert normal.name == "web-base-0a1b2c3d"
    assert normal.tags == {"owner": "web"}
    assert normal.snapshots


def test_duplicate_name_is_already_exists_and_create_adopts_it(cloud: CloudUnderTest) -> None:
    tags = {TAG_STACK: "demo"}
    image_id = _create(cloud, "adopt-me-12345678", tags=tags)
    with pytest.raises(AlreadyExistsError) as duplicate:
        cloud.own.call(
            "cvm",
            "CreateImage",
            HOME,
            {"InstanceId": "ins-demo0001", "ImageName": "adopt-me-12345678"},
        )
    assert duplicate.value.code == "InvalidImageName.Duplicate"
    again = cloud.own.run_step(
        "CreateImage",
        "cvm",
        HOME,
        {
            "InstanceId": "ins-demo0001",
            "ImageName": "adopt-me-12345678",
            "TagSpecification": _tag_spec(tags),
        },
    )
    assert again == {"ImageId": image_id}


def test_sync_copies_to_every_region_and_a_retry_adopts_them(cloud: CloudUnderTest) -> None:
    image_id = _create(cloud, "copied-aaaaaaaa")
    step = {"ImageIds": [image_id], "DestinationRegions": ["ap-shanghai", "ap-singapore"]}
    outputs = cloud.own.run_step("SyncImages", "cvm", HOME, step)
    copies = {region: outputs[f"ImageSet.{region}"] for region in ("ap-shanghai", "ap-singapore")}
    assert outputs["ImageId"] == image_id
    cloud.settle()
    for region, copy_id in copies.items():
        copy = _one(cloud, region, copy_id)
        assert (copy.name, copy.state.value) == ("copied-aaaaaaaa", "NORMAL")
    retried = cloud.own.run_step("SyncImages", "cvm", HOME, step)
    assert {region: retried[f"ImageSet.{region}"] for region in copies} == copies


def test_share_and_unshare_are_idempotent(cloud: CloudUnderTest) -> None:
    image_id = _create(cloud, "shared-bbbbbbbb")
    share = {"ImageId": image_id, "AccountIds": [PARTNER_UIN], "Permission": "SHARE"}
    cloud.own.run_step("ModifyImageSharePermission", "cvm", HOME, share)
    cloud.own.run_step("ModifyImageSharePermission", "cvm", HOME, share)
    assert cloud.own.share_accounts(HOME, image_id) == (PARTNER_UIN,)
    seen = cloud.partner.call(
        "cvm",
        "DescribeImages",
        HOME,
        {"Filters": [{"Name": "image-type", "Values": ["SHARED_IMAGE"]}], "Limit": 100},
    )
    assert image_id in {image["ImageId"] for image in seen["ImageSet"]}
    cancel = {**share, "Permission": "CANCEL"}
    cloud.own.run_step("ModifyImageSharePermission", "cvm", HOME, cancel)
    cloud.own.run_step("ModifyImageSharePermission", "cvm", HOME, cancel)
    assert cloud.own.share_accounts(HOME, image_id) == ()


def test_tags_through_the_tag_service(cloud: CloudUnderTest) -> None:
    image_id = _create(cloud, "tagged-cccccccc", tags={"owner": "web"})
    cloud.own.run_step(
        "ModifyResourceTags",
        "tag",
        HOME,
        {
            "ImageId": image_id,
            "ReplaceTags": [
                {"TagKey": "owner", "TagValue": "platform"},
                {"TagKey": TAG_STACK, "TagValue": "demo"},
            ],
        },
    )
    assert _one(cloud, HOME, image_id).tags == {"owner": "platform", TAG_STACK: "demo"}
    cloud.own.run_step(
        "ModifyResourceTags",
        "tag",
        HOME,
        {"ImageId": image_id, "DeleteTags": [{"TagKey": "owner"}]},
    )
    assert _one(cloud, HOME, image_id).tags == {TAG_STACK: "demo"}
    cloud.own.run_step("UnTagResources", "tag", HOME, {"ImageId": image_id, "TagKeys": [TAG_STACK]})
    assert _one(cloud, HOME, image_id).tags == {}


def test_delete_with_its_snapshots_and_again(cloud: CloudUnderTest) -> None:
    image_id = _create(cloud, "deleted-dddddddd")
    snapshot_ids = [snap.snapshot_id for snap in _one(cloud, HOME, image_id).snapshots]
    assert snapshot_ids
    delete = {"ImageIds": [image_id], "DeleteBindedSnap": True}
    cloud.own.run_step("DeleteImages", "cvm", HOME, delete)
    assert cloud.own.describe_images_by_id(HOME, [image_id]) == []
    left = cloud.own.call("cbs", "DescribeSnapshots", HOME, {"SnapshotIds": snapshot_ids})
    assert left["SnapshotSet"] == []
    cloud.own.run_step("DeleteImages", "cvm", HOME, delete)  # already gone: done
    cloud.own.run_step("DeleteSnapshots", "cbs", HOME, {"SnapshotIds": snapshot_ids})


def test_observe_classifies_by_tags_and_reads_shares(cloud: CloudUnderTest) -> None:
    owned = _create(cloud, "owned-eeeeeeee", tags={TAG_STACK: "demo"})
    foreign = _create(cloud, "foreign-ffffffff")
    cloud.own.run_step(
        "ModifyImageSharePermission",
        "cvm",
        HOME,
        {"ImageId": owned, "AccountIds": [PARTNER_UIN], "Permission": "SHARE"},
    )
    seen = observe(cloud.own, [HOME, "ap-shanghai"], "demo", now=datetime.now(UTC))
    assert set(seen.regions) == {HOME, "ap-shanghai"}
    assert [image.image_id for image in seen.owned_by("demo")] == [owned]
    assert seen.owned_by("demo")[0].shares == (PARTNER_UIN,)
    assert foreign in {image.image_id for image in seen.images if image.region == HOME}
    assert seen.quotas[HOME] > 0


@pytest.mark.parametrize(
    ("action", "params", "error_class", "code"),
    [
        (
            "DescribeImages",
            {"ImageIds": ["bad-id"]},
            InvalidRequestError,
            "InvalidImageId.Malformed",
        ),
        (
            "CreateImage",
            {"InstanceId": "ins-zzzzzzzz", "ImageName": "x"},
            NotFoundError,
            "InvalidInstanceId.NotFound",
        ),
        ("DeleteImages", {"ImageIds": ["img-00000000"]}, NotFoundError, "InvalidImageId.NotFound"),
    ],
)
def test_real_codes_map_to_error_classes(
    cloud: CloudUnderTest,
    action: str,
    params: dict[str, Any],
    error_class: type[ProviderError],
    code: str,
) -> None:
    with pytest.raises(error_class) as raised:
        cloud.own.call("cvm", action, HOME, params)
    assert raised.value.code == code
    assert raised.value.request_id
    assert not raised.value.retryable


def test_deleting_a_shared_image_is_invalid_state(cloud: CloudUnderTest) -> None:
    image_id = _create(cloud, "inshared-gggggggg")
    cloud.own.run_step(
        "ModifyImageSharePermission",
        "cvm",
        HOME,
        {"ImageId": image_id, "AccountIds": [PARTNER_UIN], "Permission": "SHARE"},
    )
    with pytest.raises(InvalidStateError) as raised:
        cloud.own.run_step("DeleteImages", "cvm", HOME, {"ImageIds": [image_id]})
    assert raised.value.code == "InvalidImageId.InShared"


def test_throttling_is_retryable(cloud: CloudUnderTest) -> None:
    cloud.sim.set_fault("DescribeImageQuota", "RequestLimitExceeded", count=1)
    with pytest.raises(ThrottledError) as raised:
        cloud.own.image_quota(HOME)
    assert raised.value.retryable
    assert cloud.own.image_quota(HOME) > 0


def test_unknown_action_is_permanent(cloud: CloudUnderTest) -> None:
    with pytest.raises(ProviderError) as raised:
        cloud.own.call("cvm", "DescribeUnicorns", HOME, {})
    assert raised.value.code == "InvalidAction"
    assert not raised.value.retryable
