"""CreateImage and ImportImage: parameters, states on the clock, snapshots, quota, names."""

from __future__ import annotations

import re

import pytest

from tests.cloudsim.conftest import Cloud


def test_create_from_instance_moves_creating_to_normal_with_snapshots(cloud: Cloud) -> None:
    image_id = cloud.create(
        "web",
        wait=False,
        DataDiskIds=["disk-demo0101"],
        ForcePoweroff="true",
        Sysprep="false",
        ImageFamily="web",
        ImageDescription="Nginx",
    )
    assert re.fullmatch(r"img-[0-9a-z]{8}", image_id)
    image = cloud.image(image_id)
    assert (image["ImageState"], image["ImageType"], image["ImageSource"]) == (
        "CREATING",
        "PRIVATE_IMAGE",
        "CREATE_IMAGE",
    )
    assert [(s["DiskUsage"], s["DiskSize"]) for s in image["SnapshotSet"]] == [
        ("SYSTEM_DISK", 50),
        ("DATA_DISK", 100),
    ]
    assert all(re.fullmatch(r"snap-[0-9a-z]{8}", s["SnapshotId"]) for s in image["SnapshotSet"])
    assert image["ImageSize"] == 50
    assert (image["ImageFamily"], image["ImageDescription"]) == ("web", "Nginx")
    cloud.clock.advance(2.9)
    assert cloud.image(image_id)["ImageState"] == "CREATING"
    cloud.clock.advance(0.1)
    assert cloud.image(image_id)["ImageState"] == "NORMAL"
    snapshot_ids = [s["SnapshotId"] for s in image["SnapshotSet"]]
    cbs = cloud.ok("DescribeSnapshots", {"SnapshotIds": snapshot_ids}, service="cbs")
    assert {s["SnapshotId"] for s in cbs["SnapshotSet"]} == set(snapshot_ids)
    assert all(s["Images"][0]["ImageId"] == image_id for s in cbs["SnapshotSet"])


def test_create_failure_probability_gives_createfailed(cloud: Cloud) -> None:
    cloud.sim.update_settings(create_failure_probability=1.0)
    image_id = cloud.create("doomed")
    assert cloud.image(image_id)["ImageState"] == "CREATEFAILED"
    assert cloud.image(image_id)["SnapshotSet"], "a failed image still holds its snapshots"


def test_create_from_snapshots(cloud: Cloud) -> None:
    image_id = cloud.ok(
        "CreateImage",
        {"ImageName": "from-snaps", "SnapshotIds": ["snap-demo0001", "snap-demo0101"]},
    )["ImageId"]
    image = cloud.image(image_id)
    assert [s["SnapshotId"] for s in image["SnapshotSet"]] == ["snap-demo0001", "snap-demo0101"]
    assert image["Platform"] == "TencentOS"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ImageName": "x"}, "InvalidParameter.SpecifyOneParameter"),
        (
            {"ImageName": "x", "InstanceId": "ins-demo0001", "SnapshotIds": ["snap-demo0001"]},
            "InvalidParameter.SpecifyOneParameter",
        ),
        ({"InstanceId": "ins-demo0001"}, "MissingParameter"),
        (
            {"ImageName": "x", "InstanceId": "ins-demo0001", "ForcePoweroff": True},
            "InvalidParameter",
        ),
        (
            {"ImageName": "x", "InstanceId": "ins-demo0001", "Sysprep": "yes"},
            "InvalidParameterValue",
        ),
        ({"ImageName": "x" * 61, "InstanceId": "ins-demo0001"}, "InvalidParameterValue.TooLarge"),
        (
            {"ImageName": "x", "ImageDescription": "d" * 257, "InstanceId": "ins-demo0001"},
            "InvalidParameterValue.TooLarge",
        ),
        ({"ImageName": "x", "InstanceId": "ins-zzzzzzzz"}, "InvalidInstanceId.NotFound"),
        ({"ImageName": "x", "InstanceId": "ins-1"}, "InvalidInstanceId.Malformed"),
        ({"ImageName": "x", "InstanceId": "ins-demo0002"}, "InvalidInstanceId.NotFound"),
        (
            {"ImageName": "x", "InstanceId": "ins-demo0001", "DataDiskIds": ["disk-demo0001"]},
            "InvalidParameter.DataDiskIdContainsRootDisk",
        ),
        (
            {"ImageName": "x", "InstanceId": "ins-demo0001", "DataDiskIds": ["disk-demo0004"]},
            "InvalidParameter.DataDiskNotBelongSpecifiedInstance",
        ),
        (
            {"ImageName": "x", "SnapshotIds": ["snap-demo0101"]},
            "InvalidParameter.SystemSnapshotNotFound",
        ),
        (
            {"ImageName": "x", "SnapshotIds": ["snap-demo0001", "snap-demo0004"]},
            "InvalidParameter.DuplicateSystemSnapshots",
        ),
        ({"ImageName": "x", "SnapshotIds": ["snap-zzzzzzzz"]}, "InvalidParameter.SnapshotNotFound"),
        (
            {"ImageName": "x", "SnapshotIds": ["snap-demo0001"], "DataDiskIds": ["disk-demo0101"]},
            "InvalidParameterConflict",
        ),
        (
            {"ImageName": "x", "InstanceId": "ins-demo0001", "ImageFamily": "bad family!"},
            "InvalidParameterValue.InvalidImageFamily",
        ),
        ({"ImageName": "x", "InstanceId": "ins-demo0001", "DryRun": True}, "DryRunOperation"),
        ({"ImageName": "x", "InstanceId": "ins-demo0001", "Bogus": 1}, "UnknownParameter"),
        (
            {
                "ImageName": "x",
                "InstanceId": "ins-demo0001",
                "TagSpecification": [{"ResourceType": "instance", "Tags": []}],
            },
            "InvalidParameterValue",
        ),
    ],
)
def test_create_image_refusals(cloud: Cloud, params: dict[str, object], code: str) -> None:
    assert cloud.error("CreateImage", params) == code
    private = [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]
    assert cloud.ok("DescribeImages", {"Filters": private})["TotalCount"] == 0


def test_sixty_characters_is_the_longest_name(cloud: Cloud) -> None:
    assert cloud.image(cloud.create("n" * 60))["ImageName"] == "n" * 60


def test_duplicate_name_is_refused_per_account_and_region(cloud: Cloud) -> None:
    cloud.create("web")
    assert cloud.error("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": "web"}) == (
        "InvalidImageName.Duplicate"
    )
    cloud.ok(
        "CreateImage", {"InstanceId": "ins-demo0002", "ImageName": "web"}, region="ap-shanghai"
    )


def test_the_501st_image_exceeds_the_quota_and_a_delete_frees_it(cloud: Cloud) -> None:
    cloud.sim.update_settings(create_image_seconds=0)
    made = [cloud.create(f"i{n}") for n in range(500)]
    assert cloud.error("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": "i500"}) == (
        "ImageQuotaLimitExceeded"
    )
    assert cloud.ok("DescribeImageQuota")["ImageNumQuota"] == 500
    cloud.ok("DeleteImages", {"ImageIds": [made[0]]})
    cloud.create("i500")


def test_import_image_moves_importing_to_normal(cloud: Cloud) -> None:
    image_id = cloud.ok(
        "ImportImage",
        {
            "ImageUrl": "https://bucket-1250000000.cos.ap-guangzhou.myqcloud.com/web.qcow2",
            "ImageName": "imported",
            "OsType": "CentOS",
            "OsVersion": "7",
            "Architecture": "x86_64",
            "BootMode": "UEFI",
            "LicenseType": "BYOL",
            "TagSpecification": [{"ResourceType": "image", "Tags": [{"Key": "k", "Value": "v"}]}],
        },
    )["ImageId"]
    image = cloud.image(image_id)
    assert (image["ImageState"], image["ImageSource"], image["LicenseType"]) == (
        "IMPORTING",
        "EXTERNAL_IMPORT",
        "BYOL",
    )
    assert image["SnapshotSet"][0]["DiskUsage"] == "SYSTEM_DISK"
    assert image["Tags"] == [{"Key": "k", "Value": "v"}]
    cloud.clock.advance(5)
    assert cloud.image(image_id)["ImageState"] == "NORMAL"


def test_import_failure_probability_gives_importfailed(cloud: Cloud) -> None:
    cloud.sim.update_settings(import_failure_probability=1.0, import_image_seconds=1)
    image_id = cloud.ok(
        "ImportImage",
        {
            "ImageUrl": "https://b-1.cos.ap-guangzhou.myqcloud.com/x.raw",
            "ImageName": "bad",
            "OsType": "Ubuntu",
            "OsVersion": "22",
            "Architecture": "arm_64",
        },
    )["ImageId"]
    cloud.clock.advance(1)
    image = cloud.image(image_id)
    assert (image["ImageState"], image["Architecture"]) == ("IMPORTFAILED", "arm")


_IMPORT = {
    "ImageUrl": "https://b-1.cos.ap-guangzhou.myqcloud.com/x.qcow2",
    "ImageName": "i",
    "OsType": "CentOS",
    "OsVersion": "7",
    "Architecture": "x86_64",
}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ImageUrl": "https://example.com/x.qcow2"}, "InvalidParameter.InvalidParameterUrlError"),
        ({"OsType": "Plan9"}, "InvalidImageOsType.Unsupported"),
        ({"OsVersion": "99"}, "InvalidImageOsVersion.Unsupported"),
        ({"LicenseType": "Free"}, "InvalidParameterValue.InvalidLicenseType"),
        ({"BootMode": "BIOS"}, "InvalidParameterValue.InvalidBootMode"),
        (
            {"ImageUrl": "https://b-1.cos.ap-guangzhou.myqcloud.com/x.iso"},
            "InvalidParameterValue.ISOMustImportByForce",
        ),
        ({"ImageName": "y" * 61}, "InvalidParameterValue.TooLarge"),
        ({"Force": "maybe"}, "InvalidParameter"),
        ({"DryRun": True}, "DryRunOperation"),
    ],
)
def test_import_image_refusals(cloud: Cloud, change: dict[str, object], code: str) -> None:
    assert cloud.error("ImportImage", {**_IMPORT, **change}) == code


def test_import_os_list_drives_validation(cloud: Cloud) -> None:
    offered = cloud.ok("DescribeImportImageOs")
    linux = offered["ImportImageOsListSupported"]["Linux"]
    assert "CentOS" in linux
    for entry in offered["ImportImageOsVersionSet"]:
        params = {
            **_IMPORT,
            "ImageName": f"{entry['OsName']}-x"[:60],
            "OsType": entry["OsName"],
            "OsVersion": entry["OsVersions"][0],
            "DryRun": True,
        }
        assert cloud.error("ImportImage", params) == "DryRunOperation"
