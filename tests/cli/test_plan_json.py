"""The JSON plan codec: exact round trips, StepRef encoding, schema conformance, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import pytest

from reconciler.errors import PlanError
from reconciler.model.plan import STEP_SERVICES, CostEstimate, RegionCost, StepRef
from reconciler.render.plan_json import (
    FORMAT_VERSION,
    is_plan_document,
    plan_from_json,
    plan_schema,
    plan_to_json,
)

from .sample_plans import empty_plan, full_plan

REGION_WITHOUT_PEAK = RegionCost(
    region="ap-guangzhou",
    account_gb_before=50.0,
    account_gb_after=50.0,
    free_tier_gb=0.0,
    price_per_gb_month=0.026,
    monthly_before=1.3,
    monthly_after=1.3,
    stack_gb_before=50.0,
    stack_gb_after=50.0,
    stack_share_of_delta=0.0,
)


@pytest.mark.parametrize("make", [full_plan, empty_plan])
def test_round_trip_is_exact(make) -> None:  # type: ignore[no-untyped-def]
    plan = make()
    encoded = plan_to_json(plan)
    through_text = json.loads(json.dumps(encoded))
    assert plan_from_json(through_text) == plan
    assert plan_to_json(plan_from_json(through_text)) == encoded


def test_step_refs_are_encoded_as_ref_objects() -> None:
    encoded = plan_to_json(full_plan())
    steps = {s["id"]: s for s in encoded["steps"]}
    assert steps["s2"]["params"]["ImageId"] == {"$ref": "s1", "field": "ImageId"}
    assert steps["s3"]["params"]["ImageIds"] == [{"$ref": "s2", "field": "ImageId"}]
    assert steps["s4"]["params"]["ImageId"] == {"$ref": "s3", "field": "ImageSet.ap-singapore"}
    decoded = plan_from_json(encoded)
    assert decoded.steps[3].params["ImageId"] == StepRef("s3", "ImageSet.ap-singapore")


def test_members_required_by_the_spec() -> None:
    encoded = plan_to_json(full_plan())
    assert encoded["format_version"] == FORMAT_VERSION == "1.0"
    assert encoded["summary"] == {
        "create": 2,
        "update": 1,
        "replace": 1,
        "delete": 1,
        "forget": 1,
        "share": 1,
        "unshare": 1,
        "no-op": 1,
    }
    assert encoded["changes"][0]["source"] == {"file": "images/web.yaml", "line": 4, "column": 3}
    assert encoded["cost"]["monthly_delta"] == 1.3
    assert encoded["cost"]["regions"][0]["monthly_delta"] == 1.3
    assert encoded["options"]["targets"] == ["image.web-base"]


@pytest.mark.parametrize("make", [full_plan, empty_plan])
def test_encoded_plans_validate_against_the_schema(make) -> None:  # type: ignore[no-untyped-def]
    jsonschema.Draft202012Validator(plan_schema()).validate(plan_to_json(make()))


def test_schema_rejects_a_plan_without_steps() -> None:
    encoded = plan_to_json(empty_plan())
    del encoded["steps"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(plan_schema()).validate(encoded)


def test_is_plan_document() -> None:
    assert is_plan_document({"format_version": "1.0"})
    assert not is_plan_document({"apiVersion": "reconciler/v1"})
    assert not is_plan_document([1])


def test_a_newer_minor_version_is_read() -> None:
    encoded = plan_to_json(empty_plan())
    encoded["format_version"] = "1.7"
    encoded["added_in_1_7"] = {"anything": True}
    assert plan_from_json(encoded).stack == "prod"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format_version="2.0"), "unsupported plan format_version '2.0'"),
        (lambda d: d.pop("changes"), "missing member 'changes'"),
        (lambda d: d.update(changes=[{"address": "x"}]), "malformed plan: missing member"),
        (lambda d: d.update(fingerprint=[1]), "malformed plan"),
    ],
)
def test_malformed_plans_raise_plan_error(mutate, message) -> None:  # type: ignore[no-untyped-def]
    encoded = plan_to_json(empty_plan())
    mutate(encoded)
    with pytest.raises(PlanError, match=message):
        plan_from_json(encoded)


def test_account_gb_peak_is_written_and_read_back() -> None:
    encoded = plan_to_json(full_plan())
    assert encoded["cost"]["regions"][0]["account_gb_peak"] == 70.0
    properties = plan_schema()["$defs"]["regionCost"]["properties"]
    assert properties["account_gb_peak"] == {
        "type": ["number", "null"],
        "description": properties["account_gb_peak"]["description"],
    }
    unknown = plan_to_json(replace(full_plan(), cost=CostEstimate(regions=(REGION_WITHOUT_PEAK,))))
    assert unknown["cost"]["regions"][0]["account_gb_peak"] is None
    jsonschema.Draft202012Validator(plan_schema()).validate(unknown)
    assert plan_from_json(unknown).cost.regions[0].account_gb_peak is None


def test_a_plan_without_the_later_members_is_still_read() -> None:
    encoded = plan_to_json(full_plan())
    del encoded["path"]
    del encoded["cost"]["regions"][0]["account_gb_peak"]
    jsonschema.Draft202012Validator(plan_schema()).validate(encoded)
    decoded = plan_from_json(encoded)
    assert decoded.path is None
    assert decoded.cost.regions[0].account_gb_peak is None


def test_the_plan_records_its_manifest_path() -> None:
    encoded = plan_to_json(full_plan())
    assert encoded["path"] == "manifests/web"
    assert plan_from_json(encoded).path == "manifests/web"


def test_step_operations_are_an_enum_of_the_schema() -> None:
    step = plan_schema()["$defs"]["step"]["properties"]
    assert set(step["operation"]["enum"]) == set(STEP_SERVICES)
    assert set(step["service"]["enum"]) == set(STEP_SERVICES.values())
    encoded = plan_to_json(full_plan())
    encoded["steps"][0]["operation"] = "DeleteInstances"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(plan_schema()).validate(encoded)
