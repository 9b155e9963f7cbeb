"""DescribeImages: visibility, filters, limits and paging, with the real error codes."""

from __future__ import annotations

import pytest

from tests.cloudsim.conftest import PARTNER, Cloud


def _types(cloud: Cloud, **kw: object) -> set[str]:
    images = cloud.ok("DescribeImages", {"Limit": 100}, **kw)["ImageSet"]  # type: ignore[arg-type]
    return {image["ImageType"] for image in images}


def test_no_filter_returns_public_private_and_shared_images(cloud: Cloud) -> None:
    assert _types(cloud) == {"PUBLIC_IMAGE"}
    own = cloud.create("mine")
    theirs = cloud.create("for-partner")
    cloud.ok(
        "ModifyImageSharePermission",
        {"ImageId": theirs, "AccountIds": [PARTNER], "Permission": "SHARE"},
    )
    assert _types(cloud) == {"PUBLIC_IMAGE", "PRIVATE_IMAGE"}
    assert _types(cloud, account=PARTNER) == {"PUBLIC_IMAGE", "SHARED_IMAGE"}
    shared = cloud.image(theirs, account=PARTNER)
    assert shared["ImageType"] == "SHARED_IMAGE"
    assert cloud.ok("DescribeImages", {"ImageIds": [own]}, account=PARTNER)["ImageSet"] == []
    # a share reaches only its region
    assert (
        cloud.ok("DescribeImages", {"ImageIds": [theirs]}, region="ap-shanghai", account=PARTNER)[
            "ImageSet"
        ]
        == []
    )


def test_public_images_including_windows_exist_in_every_region(cloud: Cloud) -> None:
    from reconciler.cloudsim.regions import REGIONS

    for region in REGIONS:
        platforms = {
            image["Platform"]
            for image in cloud.ok(
                "DescribeImages",
                {"Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}]},
                region=region,
            )["ImageSet"]
        }
        assert {"TencentOS", "CentOS", "Ubuntu", "Windows"} <= platforms, region


def test_filters_image_id_type_name_platform(cloud: Cloud) -> None:
    web = cloud.create("web-base-1a2b3c4d")
    cloud.create("db-base")

    def names(*filters: tuple[str, list[str]]) -> set[str]:
        found = cloud.ok(
            "DescribeImages",
            {
                "Limit": 100,
                "Filters": [{"Name": name, "Values": values} for name, values in filters],
            },
        )["ImageSet"]
        return {image["ImageName"] for image in found}

    assert names(("image-id", [web])) == {"web-base-1a2b3c4d"}
    assert names(("image-type", ["PRIVATE_IMAGE"])) == {"web-base-1a2b3c4d", "db-base"}
    assert names(("image-type", ["PRIVATE_IMAGE"]), ("image-name", ["WEB-base"])) == {
        "web-base-1a2b3c4d"
    }  # fuzzy
    assert names(("image-type", ["PRIVATE_IMAGE"]), ("image-name", ["base"])) == {
        "web-base-1a2b3c4d",
        "db-base",
    }
    assert names(("platform", ["window"])) == {"Windows Server 2022 数据中心版 64位中文版"}
    assert names(("dedicated-cluster-id", ["cluster-12345678"])) == set()


def test_tag_filters(cloud: Cloud) -> None:
    tagged = cloud.create(
        "tagged",
        TagSpecification=[
            {
                "ResourceType": "image",
                "Tags": [
                    {"Key": "reconciler:stack", "Value": "prod"},
                    {"Key": "owner", "Value": "web"},
                ],
            }
        ],
    )
    cloud.create("plain")

    def ids(name: str, values: list[str]) -> list[str]:
        found = cloud.ok("DescribeImages", {"Filters": [{"Name": name, "Values": values}]})
        return [image["ImageId"] for image in found["ImageSet"]]

    assert ids("tag-key", ["reconciler:stack"]) == [tagged]
    assert ids("tag-value", ["web"]) == [tagged]
    assert ids("tag:reconciler:stack", ["prod", "dev"]) == [tagged]
    assert ids("tag:reconciler:stack", ["dev"]) == []
    assert cloud.image(tagged)["Tags"] == [
        {"Key": "owner", "Value": "web"},
        {"Key": "reconciler:stack", "Value": "prod"},
    ]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"ImageIds": ["img-12345678"], "Filters": [{"Name": "image-type", "Values": ["x"]}]},
            "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
        ),
        ({"ImageIds": ["img-123"]}, "InvalidImageId.Malformed"),
        ({"ImageIds": ["IMG-12345678"]}, "InvalidImageId.Malformed"),
        ({"Filters": [{"Name": "image-id", "Values": ["nope"]}]}, "InvalidImageId.Malformed"),
        ({"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
        ({"Limit": 0}, "InvalidParameterValue"),
        ({"Offset": -1}, "InvalidParameterValue"),
        (
            {"Filters": [{"Name": "image-type", "Values": ["a", "b", "c", "d", "e", "f"]}]},
            "InvalidFilterValue.LimitExceeded",
        ),
        (
            {"Filters": [{"Name": "platform", "Values": ["x"]}] * 11},
            "InvalidParameterValue.LimitExceeded",
        ),
        ({"Filters": [{"Name": "image-state", "Values": ["NORMAL"]}]}, "InvalidFilter"),
    ],
)
def test_invalid_requests_get_the_real_codes(
    cloud: Cloud, params: dict[str, object], code: str
) -> None:
    assert cloud.error("DescribeImages", params) == code


def test_limits_at_the_edge_are_accepted(cloud: Cloud) -> None:
    cloud.ok("DescribeImages", {"Limit": 100})
    cloud.ok("DescribeImages", {"Filters": [{"Name": "platform", "Values": list("abcde")}] * 10})


def test_unknown_well_formed_id_is_an_empty_set(cloud: Cloud) -> None:
    response = cloud.ok("DescribeImages", {"ImageIds": ["img-zzzzzzzz"]})
    assert (response["TotalCount"], response["ImageSet"]) == (0, [])


def test_paging_default_20_and_offset(cloud: Cloud) -> None:
    cloud.sim.update_settings(create_image_seconds=0)
    made = [cloud.create(f"img-{n:02d}") for n in range(25)]
    private = [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]
    first = cloud.ok("DescribeImages", {"Filters": private})
    assert first["TotalCount"] == 25
    assert len(first["ImageSet"]) == 20
    rest = cloud.ok("DescribeImages", {"Filters": private, "Offset": 20, "Limit": 100})
    seen = [i["ImageId"] for i in first["ImageSet"]] + [i["ImageId"] for i in rest["ImageSet"]]
    assert sorted(seen) == sorted(made)


def test_any_valid_region_answers_even_when_empty(cloud: Cloud) -> None:
    private = [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]
    response = cloud.ok("DescribeImages", {"Filters": private}, region="sa-saopaulo")
    assert (response["TotalCount"], response["ImageSet"]) == (0, [])
    assert cloud.error("DescribeImages", region="mars-north-1") == "InvalidRegion.NotFound"
