"""Hostile input to the simulated cloud: bad Unicode, NaN settings, unchecked faults, ID formats
with a trailing newline or non-ASCII digits, same-name filters, the public-image modify code."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from reconciler.cloudsim import CloudSim, ManualClock
from reconciler.cloudsim.ids import is_image_id, is_instance_id, is_snapshot_id, is_uin
from reconciler.cloudsim.settings import parse_setting
from tests.cloudsim.conftest import OWN, Cloud

LONE = "\ud800"  # what JSON "\ud800" decodes to: not encodable as UTF-8
RESOURCE = f"qcs::cvm:ap-guangzhou:uin/{OWN}:image/img-aaaaaaaa"


@pytest.mark.parametrize(
    ("service", "action", "params"),
    [
        ("cvm", "CreateImage", {"InstanceId": "ins-demo0001", "ImageName": LONE}),
        (
            "cvm",
            "CreateImage",
            {"InstanceId": "ins-demo0001", "ImageName": "x", "ImageDescription": "a" + LONE},
        ),
        ("cvm", "DescribeImages", {"ImageIds": [f"img-{LONE}"]}),
        ("cvm", "DescribeImages", {"Filters": [{"Name": "image-name", "Values": [LONE]}]}),
        ("cvm", "ModifyImageAttribute", {"ImageId": "img-aaaaaaaa", "ImageName": LONE}),
        (
            "cvm",
            "ImportImage",
            {
                "ImageUrl": f"https://b-1.cos.ap-guangzhou.myqcloud.com/{LONE}",
                "ImageName": "x",
                "OsType": "CentOS",
                "OsVersion": "7",
                "Architecture": "x86_64",
            },
        ),
        ("cvm", "DescribeImageFromFamily", {"ImageFamily": LONE}),
        ("cbs", "DescribeSnapshots", {"SnapshotIds": [LONE]}),
        (
            "tag",
            "TagResources",
            {"ResourceList": [RESOURCE], "Tags": [{"TagKey": "k", "TagValue": LONE}]},
        ),
        (
            "tag",
            "TagResources",
            {"ResourceList": [RESOURCE], "Tags": [{"TagKey": LONE, "TagValue": "v"}]},
        ),
        ("tag", "ModifyResourceTags", {"Resource": LONE, "DeleteTags": [{"TagKey": "k"}]}),
    ],
)
def test_a_lone_surrogate_in_a_string_parameter_is_invalid_parameter_value(
    cloud: Cloud, service: str, action: str, params: dict[str, Any]
) -> None:
    response = cloud.call(action, params, service=service)
    assert response["Error"]["Code"] == "InvalidParameterValue", response
    assert "not valid Unicode" in response["Error"]["Message"]
    json.dumps(response, ensure_ascii=False).encode("utf-8")  # the envelope itself prints


def test_a_lone_surrogate_in_a_parameter_name_gives_a_printable_message(cloud: Cloud) -> None:
    response = cloud.call("DescribeImages", {LONE: 1})
    assert response["Error"]["Code"] == "UnknownParameter"
    json.dumps(response, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "infinity"])
@pytest.mark.parametrize(
    "name", ["create_image_seconds", "sync_image_seconds", "create_failure_probability"]
)
def test_settings_refuse_nan_and_infinity(name: str, text: str, cloud: Cloud) -> None:
    with pytest.raises(ValueError, match=r"finite|between 0 and 1"):
        parse_setting(name, text)
    with pytest.raises(ValueError, match=r"finite|between 0 and 1"):
        cloud.sim.update_settings(**{name: float(text)})
    assert math.isfinite(getattr(cloud.sim.settings(), name))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"create_failure_probability": 1.5}, "between 0 and 1"),
        ({"import_failure_probability": -0.1}, "between 0 and 1"),
        ({"image_quota": 2.5}, "whole number"),
        ({"seed": 10**30}, "too large"),
        ({"copy_tags_on_sync": "yes"}, "true or false"),
        ({"create_image_seconds": "3"}, "a number"),
        ({"no_such_setting": 1}, "unknown setting"),
    ],
)
def test_settings_are_typed_and_in_range(
    cloud: Cloud, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cloud.sim.update_settings(**changes)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda sim: sim.set_fault("NoSuchAction", "InternalError"), "unknown action"),
        (lambda sim: sim.set_fault("describeimages", "InternalError"), "did you mean"),
        (lambda sim: sim.set_fault("DescribeImages", ""), "not an error code"),
        (lambda sim: sim.set_fault("DescribeImages", "internal error"), "not an error code"),
        (lambda sim: sim.set_fault("DescribeImages", "Internal."), "not an error code"),
        (lambda sim: sim.set_fault("DescribeImages", "A\n"), "not an error code"),
        (lambda sim: sim.set_fault("*", "InternalError", probability=math.nan), "between 0"),
        (lambda sim: sim.set_fault("*", "InternalError", probability=1.5), "between 0"),
        (lambda sim: sim.set_fault("*", "InternalError", count=0), "count"),
        (lambda sim: sim.set_fault("*", "InternalError", count=10**20), "count"),
        (lambda sim: sim.set_fault("*", "InternalError", message=LONE), "Unicode"),
        (lambda sim: sim.set_throttle("DescribeImages", math.nan), "positive finite"),
        (lambda sim: sim.set_throttle("DescribeImages", math.inf), "positive finite"),
        (lambda sim: sim.set_throttle("DescribeImages", -1), "positive finite"),
        (lambda sim: sim.set_throttle("Typo", 5), "unknown action"),
        (lambda sim: sim.set_latency("*", 10**20), "between 0 and 600000"),
        (lambda sim: sim.set_latency("*", 600_001), "between 0 and 600000"),
        (lambda sim: sim.set_latency("*", -1), "between 0 and 600000"),
        (lambda sim: sim.set_latency("Typo", 5), "unknown action"),
    ],
)
def test_fault_input_is_checked(cloud: Cloud, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(cloud.sim)
    config = cloud.sim.faults()
    assert (config.faults, config.throttles, config.latencies) == ((), (), ())


def test_valid_faults_of_every_service_and_star_are_accepted(cloud: Cloud) -> None:
    cloud.sim.set_fault("DescribeSnapshots", "InvalidParameterValue.LimitExceeded", count=1)
    cloud.sim.set_fault("TagResources", "InternalError", probability=0.0)
    cloud.sim.set_throttle("*", 1e9)
    cloud.sim.set_latency("DescribeImages", 600_000)
    assert cloud.error("DescribeSnapshots", service="cbs") == "InvalidParameterValue.LimitExceeded"


@pytest.mark.parametrize(
    "text",
    [
        "123456\n",
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits: \d matches them
        "１２３４５６",  # full-width digits
        "12345\n",
    ],
)
def test_add_account_refuses_a_trailing_newline_and_non_ascii_digits(
    cloud: Cloud, text: str
) -> None:
    with pytest.raises(ValueError, match="5 to 13 digits"):
        cloud.sim.add_account(text)
    assert not is_uin(text)


def test_id_checks_are_whole_and_ascii() -> None:
    assert is_image_id("img-uo2vji0p")
    assert not is_image_id("img-uo2vji0p\n")
    assert is_snapshot_id("snap-demo0001")
    assert not is_snapshot_id("snap-demo0001\n")
    assert is_instance_id("ins-demo0001")
    assert not is_instance_id("ins-demo0001\n")
    assert is_uin("100000000002")
    assert not is_uin("100000000002\n")


@pytest.mark.parametrize(
    ("service", "action", "params", "code"),
    [
        ("cvm", "DeleteImages", {"ImageIds": ["img-uo2vji0p\n"]}, "InvalidImageId.Malformed"),
        ("cvm", "DescribeImages", {"ImageIds": ["img-uo2vji0p\n"]}, "InvalidImageId.Malformed"),
        (
            "cvm",
            "CreateImage",
            {"InstanceId": "ins-demo0001\n", "ImageName": "x"},
            "InvalidInstanceId.Malformed",
        ),
        (
            "cbs",
            "DescribeSnapshots",
            {"SnapshotIds": ["snap-demo0001\n"]},
            "InvalidSnapshotId.Malformed",
        ),
        (
            "tag",
            "TagResources",
            {"ResourceList": [RESOURCE + "\n"], "Tags": [{"TagKey": "k", "TagValue": "v"}]},
            "InvalidParameterValue.ResourceDescriptionError",
        ),
        (
            "tag",
            "TagResources",
            {"ResourceList": [RESOURCE], "Tags": [{"TagKey": "k\n", "TagValue": "v"}]},
            "InvalidParameterValue.TagKeyCharacterIllegal",
        ),
        (
            "cvm",
            "ImportImage",
            {
                "ImageUrl": "https://b-1.cos.ap-guangzhou.myqcloud.com/x.qcow2\n",
                "ImageName": "x",
                "OsType": "CentOS",
                "OsVersion": "7",
                "Architecture": "x86_64",
            },
            "InvalidParameter.InvalidParameterUrlError",
        ),
    ],
)
def test_a_trailing_newline_makes_an_id_malformed(
    cloud: Cloud, service: str, action: str, params: dict[str, Any], code: str
) -> None:
    response = cloud.call(action, params, service=service)
    assert "Error" in response, response
    assert response["Error"]["Code"].startswith(code), response


def test_two_filters_of_one_name_are_anded(cloud: Cloud) -> None:
    web = cloud.create("web-app")
    cloud.create("db-app")
    both = [
        {"Name": "image-name", "Values": ["web"]},
        {"Name": "image-name", "Values": ["app"]},
    ]
    found = cloud.ok("DescribeImages", {"Filters": both})["ImageSet"]
    assert [image["ImageId"] for image in found] == [web]
    disjoint = [
        {"Name": "image-name", "Values": ["web"]},
        {"Name": "image-name", "Values": ["db"]},
    ]
    assert cloud.ok("DescribeImages", {"Filters": disjoint})["TotalCount"] == 0
    either = [{"Name": "image-name", "Values": ["web", "db"]}]
    assert cloud.ok("DescribeImages", {"Filters": either})["TotalCount"] == 2


def test_same_name_filters_are_anded_for_snapshots_and_instances(cloud: Cloud) -> None:
    zones = [
        {"Name": "zone", "Values": ["ap-guangzhou-3"]},
        {"Name": "zone", "Values": ["ap-guangzhou-4"]},
    ]
    assert cloud.ok("DescribeInstances", {"Filters": zones})["TotalCount"] == 0
    ids = [
        {"Name": "snapshot-id", "Values": ["snap-demo0001"]},
        {"Name": "snapshot-id", "Values": ["snap-demo0004"]},
    ]
    assert cloud.ok("DescribeSnapshots", {"Filters": ids}, service="cbs")["TotalCount"] == 0


@pytest.mark.parametrize("value", ["PRIVATE", "private_image", "", "ALL"])
def test_an_unknown_image_type_is_refused(cloud: Cloud, value: str) -> None:
    filters = [{"Name": "image-type", "Values": ["PRIVATE_IMAGE", value]}]
    response = cloud.call("DescribeImages", {"Filters": filters})
    assert response["Error"]["Code"] == "InvalidParameterValue"
    assert "image-type" in response["Error"]["Message"]


def test_market_image_is_accepted_and_matches_nothing(cloud: Cloud) -> None:
    filters = [{"Name": "image-type", "Values": ["MARKET_IMAGE"]}]
    assert cloud.ok("DescribeImages", {"Filters": filters})["TotalCount"] == 0


def test_modifying_a_public_image_is_not_found(cloud: Cloud) -> None:
    public = cloud.ok(
        "DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}]}
    )["ImageSet"][0]["ImageId"]
    params = {"ImageId": public, "ImageName": "mine"}
    assert cloud.error("ModifyImageAttribute", params) == "InvalidImageId.NotFound"


def test_the_region_lists_of_the_core_and_the_cloud_agree() -> None:
    from importlib.resources import files

    from reconciler.cloudsim import regions as cloud_regions
    from reconciler.model import regions as core_regions

    assert cloud_regions.REGIONS == core_regions.REGIONS
    # Both read the one file shipped in the package.
    assert cloud_regions.REGIONS_FILE == core_regions.REGIONS_FILE == "data/regions.json"
    shipped = json.loads(files("reconciler").joinpath("data/regions.json").read_text("utf-8"))
    assert tuple(region["id"] for region in shipped["regions"]) == core_regions.REGIONS
    assert {r["id"] for r in shipped["regions"] if r["mainland"]} == cloud_regions.MAINLAND
    assert set(cloud_regions.REGIONS) >= cloud_regions.MAINLAND
    assert "ap-shanghai" in cloud_regions.MAINLAND
    assert not {"ap-hongkong", "ap-singapore"} & cloud_regions.MAINLAND


def test_a_persisted_cloud_keeps_working_after_refused_input(tmp_path: Any) -> None:
    sim = CloudSim(tmp_path / "c.db", clock=ManualClock())
    try:
        with pytest.raises(ValueError):
            sim.update_settings(create_image_seconds=math.nan)
        with pytest.raises(ValueError):
            sim.set_throttle("*", math.nan)
        envelope = sim.handle(
            account=OWN,
            service="cvm",
            version="2017-03-12",
            action="DescribeImageQuota",
            region="ap-guangzhou",
            params={},
        )
        assert "Error" not in envelope["Response"]
    finally:
        sim.close()
