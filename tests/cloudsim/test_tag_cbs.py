"""The tag service on six-segment names (the tags DescribeImages shows) and CBS snapshots."""

from __future__ import annotations

import pytest

from tests.cloudsim.conftest import OWN, Cloud


def _name(image_id: str, uin: str = OWN, region: str = "ap-guangzhou") -> str:
    return f"qcs::cvm:{region}:uin/{uin}:image/{image_id}"


def test_tag_service_changes_are_the_image_tags(cloud: Cloud) -> None:
    image_id = cloud.create()
    cloud.ok(
        "TagResources",
        {
            "ResourceList": [_name(image_id)],
            "Tags": [{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}],
        },
        service="tag",
    )
    cloud.ok(
        "ModifyResourceTags",
        {
            "Resource": _name(image_id, uin=""),
            "ReplaceTags": [{"TagKey": "a", "TagValue": "9"}],
            "DeleteTags": [{"TagKey": "b"}],
        },
        service="tag",
    )
    assert cloud.image(image_id)["Tags"] == [{"Key": "a", "Value": "9"}]
    described = cloud.ok(
        "DescribeResourceTagsByResourceIds",
        {
            "ServiceType": "cvm",
            "ResourcePrefix": "image",
            "ResourceIds": [image_id],
            "ResourceRegion": "ap-guangzhou",
        },
        service="tag",
    )
    assert [(t["TagKey"], t["TagValue"], t["ResourceId"]) for t in described["Tags"]] == [
        ("a", "9", image_id)
    ]
    cloud.ok("UnTagResources", {"ResourceList": [_name(image_id)], "TagKeys": ["a"]}, service="tag")
    assert cloud.image(image_id)["Tags"] == []


def test_tag_resources_reports_missing_images_as_failed(cloud: Cloud) -> None:
    response = cloud.ok(
        "TagResources",
        {"ResourceList": [_name("img-zzzzzzzz")], "Tags": [{"TagKey": "a", "TagValue": "1"}]},
        service="tag",
    )
    assert response["FailedResources"][0]["Code"] == "ResourceNotFound"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"Resource": "img-12345678", "ReplaceTags": [{"TagKey": "a", "TagValue": "1"}]},
            "InvalidParameterValue.ResourceDescriptionError",
        ),
        (
            {
                "Resource": "qcs::cvm:ap-guangzhou:uin/100000000002:image/img-12345678",
                "ReplaceTags": [{"TagKey": "a", "TagValue": "1"}],
            },
            "InvalidParameterValue.ResourceDescriptionError",
        ),
        ({"Resource": "{image}"}, "MissingParameter"),
        ({"Resource": "{image}", "ReplaceTags": []}, "InvalidParameterValue"),
        (
            {"Resource": "{image}", "ReplaceTags": [{"TagKey": "", "TagValue": "1"}]},
            "InvalidParameterValue.TagKeyEmpty",
        ),
        (
            {"Resource": "{image}", "ReplaceTags": [{"TagKey": "k" * 128, "TagValue": "1"}]},
            "InvalidParameterValue.TagKeyLengthExceeded",
        ),
        (
            {"Resource": "{image}", "ReplaceTags": [{"TagKey": "bad#key", "TagValue": "1"}]},
            "InvalidParameterValue.TagKeyCharacterIllegal",
        ),
        (
            {"Resource": "{image}", "ReplaceTags": [{"TagKey": "qcloud:x", "TagValue": "1"}]},
            "InvalidParameter.ReservedTagKey",
        ),
        (
            {
                "Resource": "{image}",
                "ReplaceTags": [{"TagKey": "a", "TagValue": "1"}],
                "DeleteTags": [{"TagKey": "a"}],
            },
            "InvalidParameterValue.TagKeyDuplicate",
        ),
        (
            {
                "Resource": "{image}",
                "ReplaceTags": [{"TagKey": f"k{n}", "TagValue": "v"} for n in range(11)],
            },
            "LimitExceeded.TagNumPerRequest",
        ),
        (
            {"Resource": _name("img-zzzzzzzz"), "ReplaceTags": [{"TagKey": "a", "TagValue": "1"}]},
            "ResourceNotFound",
        ),
    ],
)
def test_modify_resource_tags_refusals(cloud: Cloud, params: dict[str, object], code: str) -> None:
    image_id = cloud.create()
    if params["Resource"] == "{image}":
        params = {**params, "Resource": _name(image_id)}
    assert cloud.error("ModifyResourceTags", params, service="tag") == code


def test_at_most_ten_resources_per_request_and_fifty_tags_per_resource(cloud: Cloud) -> None:
    image_id = cloud.create()
    tags = [{"TagKey": "a", "TagValue": "1"}]
    assert (
        cloud.error(
            "TagResources", {"ResourceList": [_name(image_id)] * 11, "Tags": tags}, service="tag"
        )
        == "LimitExceeded.ResourceNumPerRequest"
    )
    for batch in range(5):
        cloud.ok(
            "TagResources",
            {
                "ResourceList": [_name(image_id)],
                "Tags": [{"TagKey": f"k{batch}-{n}", "TagValue": "v"} for n in range(10)],
            },
            service="tag",
        )
    assert (
        cloud.error(
            "TagResources", {"ResourceList": [_name(image_id)], "Tags": tags}, service="tag"
        )
        == "LimitExceeded.ResourceAttachedTags"
    )
    assert len(cloud.image(image_id)["Tags"]) == 50


def test_describe_snapshots_filters_and_paging(cloud: Cloud) -> None:
    snaps = cloud.ok(
        "DescribeSnapshots",
        {"Filters": [{"Name": "disk-usage", "Values": ["SYSTEM_DISK"]}]},
        service="cbs",
    )
    assert {s["SnapshotId"] for s in snaps["SnapshotSet"]} == {"snap-demo0001", "snap-demo0004"}
    assert snaps["SnapshotSet"][0]["Placement"]["Zone"] == "ap-guangzhou-3"
    paged = cloud.ok("DescribeSnapshots", {"Limit": 1, "Offset": 1}, service="cbs")
    assert paged["TotalCount"] == 3
    assert len(paged["SnapshotSet"]) == 1
    assert cloud.error("DescribeSnapshots", {"Limit": 101}, service="cbs") == (
        "InvalidParameterValue.LimitExceeded"
    )
    assert cloud.error("DescribeSnapshots", {"SnapshotIds": ["snap-1"]}, service="cbs") == (
        "InvalidSnapshotId.Malformed"
    )


def test_a_snapshot_backing_an_image_cannot_be_deleted(cloud: Cloud) -> None:
    image_id = cloud.create()
    system = cloud.image(image_id)["SnapshotSet"][0]["SnapshotId"]
    assert cloud.error("DeleteSnapshots", {"SnapshotIds": [system]}, service="cbs") == (
        "UnsupportedOperation.SnapshotHasBindedImage"
    )
    assert cloud.error("DeleteSnapshots", {"SnapshotIds": ["snap-zzzzzzzz"]}, service="cbs") == (
        "InvalidSnapshotId.NotFound"
    )
    cloud.ok("DeleteSnapshots", {"SnapshotIds": [system], "DeleteBindImages": True}, service="cbs")
    assert cloud.ok("DescribeImages", {"ImageIds": [image_id]})["ImageSet"] == []


def test_describe_instances(cloud: Cloud) -> None:
    found = cloud.ok("DescribeInstances", {"InstanceIds": ["ins-demo0001"]})["InstanceSet"]
    assert found[0]["Placement"]["Zone"] == "ap-guangzhou-3"
    assert found[0]["DataDisks"][0]["DiskId"] == "disk-demo0101"
    by_zone = cloud.ok(
        "DescribeInstances", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]}
    )
    assert {i["InstanceId"] for i in by_zone["InstanceSet"]} == {"ins-demo0001", "ins-demo0004"}
    assert cloud.error("DescribeInstances", {"InstanceIds": ["ins-demo0001"], "Filters": []}) == (
        "InvalidParameterCombination"
    )
