"""The JSON plan wire format (SPEC §5): encode a Plan to JSON-compatible data and back, exactly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from reconciler.errors import PlanError
from reconciler.model.plan import (
    FORMAT_VERSION,
    Action,
    Change,
    CostEstimate,
    FieldDiff,
    JSONValue,
    Plan,
    PlanOptions,
    PolicyViolation,
    RegionCost,
    Step,
    StepRef,
)
from reconciler.model.source import SourceRef

__all__ = ["FORMAT_VERSION", "is_plan_document", "plan_from_json", "plan_schema", "plan_to_json"]

REF_KEY = "$ref"
"""A StepRef inside step params is encoded as {"$ref": "<step id>", "field": "<output>"}."""


@cache
def plan_schema() -> dict[str, Any]:
    """`plan.schema.json`: from the installed package, else from the repo's `schemas/`."""
    packaged = resources.files("reconciler") / "schemas" / "plan.schema.json"
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:
        repo = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
        text = repo.read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as the documented JSON object (`schemas/plan.schema.json`)."""
    return {
        "format_version": plan.format_version,
        "stack": plan.stack,
        "created_at": plan.created_at,
        "expires_at": plan.expires_at,
        "options": {
            "refresh_only": plan.options.refresh_only,
            "destroy": plan.options.destroy,
            "targets": list(plan.options.targets),
            "replace": list(plan.options.replace),
            "allow_destroy": plan.options.allow_destroy,
        },
        "summary": plan.summary,
        "changes": [_change_to_json(c) for c in plan.changes],
        "drift": [_change_to_json(c) for c in plan.drift],
        "steps": [_step_to_json(s) for s in plan.steps],
        "cost": _cost_to_json(plan.cost),
        "policy": [_violation_to_json(v) for v in plan.policy],
        "errors": list(plan.errors),
        "fingerprint": dict(plan.fingerprint),
        "path": plan.path,
    }


def is_plan_document(data: object) -> bool:
    """A JSON document is a plan when it is an object with `format_version` (SPEC §5)."""
    return isinstance(data, dict) and "format_version" in data


def plan_from_json(data: Mapping[str, Any]) -> Plan:
    """Decode a JSON plan; raises PlanError naming the member that is missing or malformed."""
    version = data.get("format_version")
    if not isinstance(version, str) or version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise PlanError(
            f"unsupported plan format_version {version!r} (this reconciler reads {FORMAT_VERSION})"
        )
    try:
        options = data["options"]
        return Plan(
            format_version=version,
            stack=str(data["stack"]),
            created_at=str(data["created_at"]),
            expires_at=str(data["expires_at"]),
            options=PlanOptions(
                refresh_only=bool(options["refresh_only"]),
                destroy=bool(options["destroy"]),
                targets=tuple(options["targets"]),
                replace=tuple(options["replace"]),
                allow_destroy=bool(options["allow_destroy"]),
            ),
            changes=tuple(_change_from_json(c) for c in data["changes"]),
            drift=tuple(_change_from_json(c) for c in data["drift"]),
            steps=tuple(_step_from_json(s) for s in data["steps"]),
            cost=_cost_from_json(data["cost"]),
            policy=tuple(_violation_from_json(v) for v in data["policy"]),
            errors=tuple(str(e) for e in data["errors"]),
            fingerprint={str(k): str(v) for k, v in data["fingerprint"].items()},
            path=_optional_str(data.get("path")),
        )
    except KeyError as exc:
        raise PlanError(f"malformed plan: missing member {exc.args[0]!r}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise PlanError(f"malformed plan: {exc}") from exc


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _source_to_json(source: SourceRef | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"file": source.file, "line": source.line, "column": source.column}


def _source_from_json(data: Mapping[str, Any] | None) -> SourceRef | None:
    if data is None:
        return None
    return SourceRef(str(data["file"]), int(data["line"]), int(data.get("column", 1)))


def _change_to_json(change: Change) -> dict[str, Any]:
    return {
        "address": change.address,
        "action": change.action.value,
        "reason": change.reason,
        "region": change.region,
        "diff": [{"path": d.path, "before": d.before, "after": d.after} for d in change.diff],
        "source": _source_to_json(change.source),
        "before": None if change.before is None else dict(change.before),
        "after": None if change.after is None else dict(change.after),
        "warnings": list(change.warnings),
        "disruptive": change.disruptive,
        "new_recipient": change.new_recipient,
        "image_id": change.image_id,
    }


def _change_from_json(data: Mapping[str, Any]) -> Change:
    before = data["before"]
    after = data["after"]
    return Change(
        address=str(data["address"]),
        action=Action(data["action"]),
        reason=str(data["reason"]),
        region=str(data["region"]),
        diff=tuple(FieldDiff(d["path"], d["before"], d["after"]) for d in data["diff"]),
        source=_source_from_json(data["source"]),
        before=None if before is None else dict(before),
        after=None if after is None else dict(after),
        warnings=tuple(str(w) for w in data["warnings"]),
        disruptive=bool(data["disruptive"]),
        new_recipient=bool(data["new_recipient"]),
        image_id=data["image_id"],
    )


def _param_to_json(value: JSONValue) -> JSONValue:
    if isinstance(value, StepRef):
        return {REF_KEY: value.step, "field": value.field}
    if isinstance(value, Mapping):
        return {str(k): _param_to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_param_to_json(v) for v in value]
    return value


def _param_from_json(value: JSONValue) -> JSONValue:
    if isinstance(value, dict):
        if REF_KEY in value:
            return StepRef(str(value[REF_KEY]), str(value.get("field", "ImageId")))
        return {k: _param_from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_param_from_json(v) for v in value]
    return value


def _step_to_json(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "operation": step.operation,
        "service": step.service,
        "address": step.address,
        "region": step.region,
        "depends_on": list(step.depends_on),
        "params": _param_to_json(step.params),
        "description": step.description,
        "always_run": step.always_run,
    }


def _step_from_json(data: Mapping[str, Any]) -> Step:
    return Step(
        id=str(data["id"]),
        operation=str(data["operation"]),
        service=str(data["service"]),
        address=str(data["address"]),
        region=str(data["region"]),
        depends_on=tuple(str(d) for d in data["depends_on"]),
        params=_param_from_json(dict(data["params"])),
        description=str(data["description"]),
        always_run=bool(data["always_run"]),
    )


def _region_cost_to_json(cost: RegionCost) -> dict[str, Any]:
    return {
        "region": cost.region,
        "account_gb_before": cost.account_gb_before,
        "account_gb_after": cost.account_gb_after,
        "account_gb_peak": cost.account_gb_peak,
        "free_tier_gb": cost.free_tier_gb,
        "price_per_gb_month": cost.price_per_gb_month,
        "monthly_before": cost.monthly_before,
        "monthly_after": cost.monthly_after,
        "monthly_delta": cost.monthly_delta,
        "stack_gb_before": cost.stack_gb_before,
        "stack_gb_after": cost.stack_gb_after,
        "stack_share_of_delta": cost.stack_share_of_delta,
    }


def _cost_to_json(cost: CostEstimate) -> dict[str, Any]:
    return {
        "currency": cost.currency,
        "monthly_delta": cost.monthly_delta,
        "regions": [_region_cost_to_json(r) for r in cost.regions],
    }


def _cost_from_json(data: Mapping[str, Any]) -> CostEstimate:
    return CostEstimate(
        currency=str(data["currency"]),
        regions=tuple(
            RegionCost(
                region=str(r["region"]),
                account_gb_before=r["account_gb_before"],
                account_gb_after=r["account_gb_after"],
                account_gb_peak=r.get("account_gb_peak"),
                free_tier_gb=r["free_tier_gb"],
                price_per_gb_month=r["price_per_gb_month"],
                monthly_before=r["monthly_before"],
                monthly_after=r["monthly_after"],
                stack_gb_before=r["stack_gb_before"],
                stack_gb_after=r["stack_gb_after"],
                stack_share_of_delta=r["stack_share_of_delta"],
            )
            for r in data["regions"]
        ),
    )


def _violation_to_json(violation: PolicyViolation) -> dict[str, Any]:
    return {
        "rule": violation.rule,
        "enforcement": violation.enforcement,
        "address": violation.address,
        "message": violation.message,
        "source": _source_to_json(violation.source),
    }


def _violation_from_json(data: Mapping[str, Any]) -> PolicyViolation:
    return PolicyViolation(
        rule=str(data["rule"]),
        enforcement=str(data["enforcement"]),
        address=str(data["address"]),
        message=str(data["message"]),
        source=_source_from_json(data["source"]),
    )
