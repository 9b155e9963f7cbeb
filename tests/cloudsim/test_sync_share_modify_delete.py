"""SyncImages, ModifyImageAttribute, ModifyImageSharePermission, DeleteImages: rules and codes."""

from __future__ import annotations

import pytest

from tests.cloudsim.conftest import OWN, PARTNER, Cloud

SHANGHAI, SINGAPORE = "ap-shanghai", "ap-singapore"


def _sync(cloud: Cloud, image_id: str, *regions: str, **extra: object) -> list[dict[str, str]]:
    response = cloud.ok(
        "SyncImages",
        {
            "ImageIds": [image_id],
            "DestinationRegions": list(regions),
            "ImageSetRequired": True,
            **extra,
        },
    )
    copies: list[dict[str, str]] = response["ImageSet"]
    return copies


def test_sync_copies_with_progress_then_normal(cloud: Cloud) -> None:
    source = cloud.create(
        "web",
        TagSpecification=[
            {"ResourceType": "image", "Tags": [{"Key": "reconciler:stack", "Value": "prod"}]}
        ],
    )
    copies = _sync(cloud, source, SHANGHAI, SINGAPORE)
    assert [c["Region"] for c in copies] == [SHANGHAI, SINGAPORE]
    assert cloud.image(source)["ImageState"] == "SYNCING"
    copy = cloud.image(copies[0]["ImageId"], region=SHANGHAI)
    assert (copy["ImageState"], copy["SyncPercent"], copy["ImageName"]) == ("SYNCING", 0, "web")
    assert copy["Tags"] == [], "copies are not tagged by default"
    assert copy["SnapshotSet"]
    assert (
        copy["SnapshotSet"][0]["SnapshotId"]
        != (cloud.image(source)["SnapshotSet"][0]["SnapshotId"])
    )
    cloud.clock.advance(2)
    assert cloud.image(copies[0]["ImageId"], region=SHANGHAI)["SyncPercent"] == 50
    cloud.clock.advance(2)
    assert cloud.image(copies[1]["ImageId"], region=SINGAPORE)["ImageState"] == "NORMAL"
    assert cloud.image(source)["ImageState"] == "NORMAL"


def test_sync_without_image_set_required_returns_empty_set(cloud: Cloud) -> None:
    source = cloud.create()
    response = cloud.ok("SyncImages", {"ImageIds": [source], "DestinationRegions": [SHANGHAI]})
    assert response["ImageSet"] == []


def test_sync_image_name_and_copied_tags_option(cloud: Cloud) -> None:
    cloud.sim.update_settings(copy_tags_on_sync=True)
    source = cloud.create(
        "web",
        TagSpecification=[{"ResourceType": "image", "Tags": [{"Key": "owner", "Value": "team"}]}],
    )
    copy = _sync(cloud, source, SHANGHAI, ImageName="renamed")[0]
    image = cloud.image(copy["ImageId"], region=SHANGHAI)
    assert (image["ImageName"], image["Tags"]) == ("renamed", [{"Key": "owner", "Value": "team"}])


@pytest.mark.parametrize(
    ("regions", "code"),
    [
        (["ap-guangzhou"], "InvalidParameterValue.InvalidRegion"),
        (["ap-nowhere"], "InvalidRegion.NotFound"),
        ([], "InvalidParameterValue.InvalidRegion"),
    ],
)
def test_sync_destination_rules(cloud: Cloud, regions: list[str], code: str) -> None:
    source = cloud.create()
    params = {"ImageIds": [source], "DestinationRegions": regions}
    assert cloud.error("SyncImages", params) == code


def test_sync_refusals(cloud: Cloud) -> None:
    creating = cloud.create("busy", wait=False)
    to_shanghai = {"ImageIds": [creating], "DestinationRegions": [SHANGHAI]}
    assert cloud.error("SyncImages", to_shanghai) == ("InvalidImageId.IncorrectState")
    cloud.clock.advance(3)
    other = cloud.create("other")
    assert cloud.error(
        "SyncImages", {"ImageIds": [creating, other], "DestinationRegions": [SHANGHAI]}
    ) == ("InvalidParameterValue.LimitExceeded")
    cloud.ok("CreateImage", {"InstanceId": "ins-demo0002", "ImageName": "busy"}, region=SHANGHAI)
    assert cloud.error("SyncImages", to_shanghai) == ("InvalidImageName.Duplicate")
    missing = {"ImageIds": ["img-zzzzzzzz"], "DestinationRegions": [SHANGHAI]}
    assert cloud.error("SyncImages", missing) == "InvalidImageId.NotFound"
    assert (
        cloud.error(
            "SyncImages", {"ImageIds": [other], "DestinationRegions": [SINGAPORE], "DryRun": True}
        )
        == "DryRunOperation"
    )
    assert cloud.image(other)["ImageState"] == "NORMAL"


def test_sync_quota_in_destination(cloud: Cloud) -> None:
    source = cloud.create()
    cloud.sim.update_settings(image_quota=1)
    cloud.ok("CreateImage", {"InstanceId": "ins-demo0002", "ImageName": "x"}, region=SHANGHAI)
    assert cloud.error("SyncImages", {"ImageIds": [source], "DestinationRegions": [SHANGHAI]}) == (
        "ImageQuotaLimitExceeded"
    )


def test_mainland_overseas_option(cloud: Cloud) -> None:
    source = cloud.create()
    cloud.sim.update_settings(restrict_mainland_overseas_copy=True)
    assert cloud.error("SyncImages", {"ImageIds": [source], "DestinationRegions": [SINGAPORE]}) == (
        "InvalidRegion.Unavailable"
    )
    _sync(cloud, source, SHANGHAI)


def test_recipient_copies_a_shared_image_only_into_its_region(cloud: Cloud) -> None:
    source = cloud.create()
    cloud.ok(
        "ModifyImageSharePermission",
        {"ImageId": source, "AccountIds": [PARTNER], "Permission": "SHARE"},
    )
    params = {"ImageIds": [source], "DestinationRegions": [SHANGHAI]}
    assert cloud.error("SyncImages", params, account=PARTNER) == (
        "InvalidParameterValue.InvalidRegion"
    )
    copy = cloud.ok(
        "SyncImages",
        {**params, "DestinationRegions": ["ap-guangzhou"], "ImageSetRequired": True},
        account=PARTNER,
    )["ImageSet"][0]
    assert cloud.image(copy["ImageId"], account=PARTNER)["ImageType"] == "PRIVATE_IMAGE"


def test_share_and_cancel(cloud: Cloud) -> None:
    image_id = cloud.create()
    share = {"ImageId": image_id, "Permission": "SHARE"}
    cloud.ok("ModifyImageSharePermission", {**share, "AccountIds": [PARTNER, "100000000003"]})
    listed = cloud.ok("DescribeImageSharePermission", {"ImageId": image_id})["SharePermissionSet"]
    assert {s["AccountId"] for s in listed} == {PARTNER, "100000000003"}
    assert listed[0]["CreatedTime"].endswith("Z")
    assert cloud.error("ModifyImageSharePermission", {**share, "AccountIds": [PARTNER]}) == (
        "FailedOperation.AccountAlreadyExists"
    )
    cancel = {"ImageId": image_id, "Permission": "CANCEL"}
    cloud.ok("ModifyImageSharePermission", {**cancel, "AccountIds": [PARTNER]})
    cloud.ok("ModifyImageSharePermission", {**cancel, "AccountIds": [PARTNER]})  # not shared: no-op
    listed = cloud.ok("DescribeImageSharePermission", {"ImageId": image_id})["SharePermissionSet"]
    assert [s["AccountId"] for s in listed] == ["100000000003"]
    assert cloud.ok("DescribeImages", {"ImageIds": [image_id]}, account=PARTNER)["ImageSet"] == []


@pytest.mark.parametrize(
    ("accounts", "permission", "code"),
    [
        ([OWN], "SHARE", "FailedOperation.AccountIsYourSelf"),
        (["123456789012"], "SHARE", "InvalidAccountId.NotFound"),
        (["not-a-uin"], "SHARE", "InvalidAccountId.NotFound"),
        ([PARTNER], "LEND", "InvalidParameterValue"),
        (["123456789012"], "CANCEL", "InvalidAccountId.NotFound"),
    ],
)
def test_share_refusals(cloud: Cloud, accounts: list[str], permission: str, code: str) -> None:
    image_id = cloud.create()
    params = {"ImageId": image_id, "AccountIds": accounts, "Permission": permission}
    assert cloud.error("ModifyImageSharePermission", params) == code


def test_share_needs_normal_own_non_byol_image_and_quota(cloud: Cloud) -> None:
    creating = cloud.create("c", wait=False)
    share = {"AccountIds": [PARTNER], "Permission": "SHARE"}
    assert cloud.error("ModifyImageSharePermission", {**share, "ImageId": creating}) == (
        "InvalidParameterValue.InvalidImageState"
    )
    cloud.clock.advance(3)
    cloud.ok("ModifyImageSharePermission", {**share, "ImageId": creating})
    assert (
        cloud.error("ModifyImageSharePermission", {**share, "ImageId": creating}, account=PARTNER)
        == "UnauthorizedOperation.ImageNotBelongToAccount"
    )
    assert (
        cloud.error("DescribeImageSharePermission", {"ImageId": creating}, account=PARTNER)
        == "UnauthorizedOperation.ImageNotBelongToAccount"
    )
    byol = cloud.ok(
        "ImportImage",
        {
            "ImageUrl": "https://b-1.cos.ap-guangzhou.myqcloud.com/x.raw",
            "ImageName": "byol",
            "OsType": "CentOS",
            "OsVersion": "7",
            "Architecture": "x86_64",
            "LicenseType": "BYOL",
        },
    )["ImageId"]
    cloud.clock.advance(5)
    assert cloud.error("ModifyImageSharePermission", {**share, "ImageId": byol}) == (
        "FailedOperation.BYOLImageShareFailed"
    )
    cloud.sim.update_settings(share_quota=1)
    other = cloud.create("other")
    cloud.ok("ModifyImageSharePermission", {**share, "ImageId": other})
    assert (
        cloud.error(
            "ModifyImageSharePermission",
            {"ImageId": other, "AccountIds": ["100000000003"], "Permission": "SHARE"},
        )
        == "OverQuota"
    )


def test_five_hundred_shares_fit_and_the_501st_is_over_quota(cloud: Cloud) -> None:
    uins = [str(200000000000 + n) for n in range(501)]
    for uin in uins:
        cloud.sim.add_account(uin)
    image_id = cloud.create()
    for start in range(0, 500, 100):
        cloud.ok(
            "ModifyImageSharePermission",
            {"ImageId": image_id, "AccountIds": uins[start : start + 100], "Permission": "SHARE"},
        )
    assert (
        cloud.error(
            "ModifyImageSharePermission",
            {"ImageId": image_id, "AccountIds": [uins[500]], "Permission": "SHARE"},
        )
        == "OverQuota"
    )


def test_modify_image_attribute(cloud: Cloud) -> None:
    image_id = cloud.create("web")
    cloud.create("taken")
    cloud.ok(
        "ModifyImageAttribute",
        {
            "ImageId": image_id,
            "ImageName": "web2",
            "ImageDescription": "d",
            "ImageFamily": "fam",
            "ImageDeprecated": True,
        },
    )
    image = cloud.image(image_id)
    assert (
        image["ImageName"],
        image["ImageDescription"],
        image["ImageFamily"],
        image["ImageDeprecated"],
    ) == ("web2", "d", "fam", True)
    modify = {"ImageId": image_id}
    assert cloud.error("ModifyImageAttribute", {**modify, "ImageName": "taken"}) == (
        "InvalidImageName.Duplicate"
    )
    assert cloud.error("ModifyImageAttribute", {**modify, "ImageName": "n" * 61}) == (
        "InvalidParameterValue.TooLarge"
    )
    assert cloud.error("ModifyImageAttribute", {**modify, "ImageDescription": "d" * 257}) == (
        "InvalidParameterValue.TooLarge"
    )
    assert cloud.error("ModifyImageAttribute", {**modify, "ImageDeprecated": "soon"}) == (
        "InvalidParameter"
    )
    cloud.ok("ModifyImageAttribute", {**modify, "ImageName": "web2"})  # its own name is fine


def test_modify_refused_on_shared_images_both_ways(cloud: Cloud) -> None:
    image_id = cloud.create("web")
    cloud.ok(
        "ModifyImageSharePermission",
        {"ImageId": image_id, "AccountIds": [PARTNER], "Permission": "SHARE"},
    )
    for account in (PARTNER, OWN):
        assert (
            cloud.error(
                "ModifyImageAttribute", {"ImageId": image_id, "ImageName": "x"}, account=account
            )
            == "UnsupportedOperation.SharedImageModifyUnsupported"
        )
    cloud.ok(
        "ModifyImageSharePermission",
        {"ImageId": image_id, "AccountIds": [PARTNER], "Permission": "CANCEL"},
    )
    cloud.ok("ModifyImageAttribute", {"ImageId": image_id, "ImageName": "x"})


def test_modify_refused_while_busy(cloud: Cloud) -> None:
    image_id = cloud.create("web", wait=False)
    assert cloud.error("ModifyImageAttribute", {"ImageId": image_id, "ImageName": "x"}) == (
        "InvalidImageId.IncorrectState"
    )


def test_delete_rules(cloud: Cloud) -> None:
    creating = cloud.create("busy", wait=False)
    assert cloud.error("DeleteImages", {"ImageIds": [creating]}) == "InvalidImageId.IncorrectState"
    cloud.clock.advance(3)
    cloud.ok(
        "ModifyImageSharePermission",
        {"ImageId": creating, "AccountIds": [PARTNER], "Permission": "SHARE"},
    )
    assert cloud.error("DeleteImages", {"ImageIds": [creating]}) == "InvalidImageId.InShared"
    assert cloud.error("DeleteImages", {"ImageIds": [creating]}, account=PARTNER) == (
        "InvalidParameterValue.InvalidImageIdIsShared"
    )
    assert cloud.error("DeleteImages", {"ImageIds": ["img-zzzzzzzz"]}) == "InvalidImageId.NotFound"
    assert cloud.error("DeleteImages", {"ImageIds": ["img-1"]}) == "InvalidImageId.Malformed"
    syncing = cloud.create("src")
    _sync(cloud, syncing, SHANGHAI)
    assert cloud.error("DeleteImages", {"ImageIds": [syncing]}) == "InvalidImageId.IncorrectState"


def test_delete_dry_run_changes_nothing(cloud: Cloud) -> None:
    image_id = cloud.create()
    assert set(cloud.ok("DeleteImages", {"ImageIds": [image_id], "DryRun": True})) == {"RequestId"}
    assert cloud.image(image_id)["ImageState"] == "NORMAL"


def test_delete_binded_snap_removes_only_the_system_snapshot(cloud: Cloud) -> None:
    image_id = cloud.create(
        "web",
        TagSpecification=[{"ResourceType": "image", "Tags": [{"Key": "k", "Value": "v"}]}],
        DataDiskIds=["disk-demo0101"],
    )
    system, data = (s["SnapshotId"] for s in cloud.image(image_id)["SnapshotSet"])
    cloud.ok("DeleteImages", {"ImageIds": [image_id], "DeleteBindedSnap": True})
    left = cloud.ok("DescribeSnapshots", {"SnapshotIds": [system, data]}, service="cbs")
    assert [s["SnapshotId"] for s in left["SnapshotSet"]] == [data]
    assert left["SnapshotSet"][0]["ImageCount"] == 0
    tags = cloud.ok(
        "DescribeResourceTagsByResourceIds",
        {
            "ServiceType": "cvm",
            "ResourcePrefix": "image",
            "ResourceIds": [image_id],
            "ResourceRegion": "ap-guangzhou",
        },
        service="tag",
    )
    assert tags["Tags"] == []
    cloud.ok("DeleteSnapshots", {"SnapshotIds": [data]}, service="cbs")


def test_delete_without_binded_snap_keeps_snapshots(cloud: Cloud) -> None:
    image_id = cloud.create()
    system = cloud.image(image_id)["SnapshotSet"][0]["SnapshotId"]
    cloud.ok("DeleteImages", {"ImageIds": [image_id]})
    found = cloud.ok("DescribeSnapshots", {"SnapshotIds": [system]}, service="cbs")
    assert found["TotalCount"] == 1


def test_describe_image_from_family(cloud: Cloud) -> None:
    older = cloud.create("a", ImageFamily="web")
    cloud.clock.advance(1)
    newer = cloud.create("b", ImageFamily="web")
    assert cloud.ok("DescribeImageFromFamily", {"ImageFamily": "web"})["Image"]["ImageId"] == newer
    cloud.ok("ModifyImageAttribute", {"ImageId": newer, "ImageDeprecated": True})
    assert cloud.ok("DescribeImageFromFamily", {"ImageFamily": "web"})["Image"]["ImageId"] == older
    assert cloud.ok("DescribeImageFromFamily", {"ImageFamily": "none"})["Image"] is None
