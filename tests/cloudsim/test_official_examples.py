"""Replays Tencent's official request/response examples (tccli's examples.json) against the
simulated cloud: each request is accepted and each response has the example's fields and types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cloudsim.conftest import PARTNER, Cloud

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "cvm_examples.json").read_text())
EXAMPLES = FIXTURE["examples"]
JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "number": float}


def _substitute(cloud: Cloud, example: dict[str, Any]) -> dict[str, Any]:
    """The example's parameters with its resource IDs replaced by ones that exist here."""
    params: dict[str, Any] = json.loads(json.dumps(example["params"]))
    action = example["action"]
    if action == "DescribeImages" or "ImageId" in params or "ImageIds" in params:
        image_id = cloud.create(f"example-{len(cloud.sim.images())}")
        if action == "DescribeImageSharePermission":
            cloud.ok(
                "ModifyImageSharePermission",
                {"ImageId": image_id, "AccountIds": [PARTNER], "Permission": "SHARE"},
            )
        for item in params.get("Filters", []):
            if item["Name"] == "image-id":
                item["Values"] = [image_id]
        if "ImageId" in params:
            params["ImageId"] = image_id
        if "ImageIds" in params:
            params["ImageIds"] = [image_id]
    if "InstanceId" in params:
        params["InstanceId"] = "ins-demo0001"
    if "DestinationRegions" in params:
        params["DestinationRegions"] = ["ap-shanghai"]
    if "AccountIds" in params:
        params["AccountIds"] = [PARTNER]
    if action == "DeleteSnapshots":
        instance = cloud.sim.add_instance("ap-guangzhou")
        snapshot = cloud.ok(
            "DescribeSnapshots",
            {"Filters": [{"Name": "disk-id", "Values": [instance["SystemDisk"]["DiskId"]]}]},
            service="cbs",
        )
        params["SnapshotIds"] = [snapshot["SnapshotSet"][0]["SnapshotId"]]
    return params


def _assert_shape(expected: Any, actual: Any, where: str) -> None:
    if expected is None or expected == "null":
        return
    if isinstance(expected, str):
        kind = JSON_TYPES[expected]
        assert isinstance(actual, kind), f"{where}: expected {expected}, got {actual!r}"
        assert kind is not int or not isinstance(actual, bool), f"{where}: a boolean, not int"
        return
    if "array" in expected:
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        for n, item in enumerate(actual):
            _assert_shape(expected["array"], item, f"{where}[{n}]")
        return
    assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
    for name, shape in expected["object"].items():
        assert name in actual, f"{where}.{name} is missing"
        _assert_shape(shape, actual[name], f"{where}.{name}")


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{e['action']}-{n}" for n, e in enumerate(EXAMPLES)]
)
def test_official_example_is_accepted_with_the_same_response_shape(
    cloud: Cloud, example: dict[str, Any]
) -> None:
    params = _substitute(cloud, example)
    response = cloud.ok(example["action"], params, service=example["service"])
    assert isinstance(response.pop("RequestId"), str)
    _assert_shape({"object": example["response"]}, response, example["action"])


def test_the_fixture_covers_every_image_action() -> None:
    covered = {example["action"] for example in EXAMPLES}
    assert covered >= {
        "DescribeImages",
        "CreateImage",
        "ImportImage",
        "SyncImages",
        "ModifyImageAttribute",
        "ModifyImageSharePermission",
        "DescribeImageSharePermission",
        "DeleteImages",
        "DescribeImageQuota",
        "DescribeImportImageOs",
        "DescribeInstances",
        "DescribeSnapshots",
        "DeleteSnapshots",
    }
