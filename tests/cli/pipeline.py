"""Plan/apply helpers for end-to-end tests through `reconciler.app` on virtual time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema

from reconciler import app
from reconciler.engine.hooks import Hook
from reconciler.engine.result import ApplyResult, StepStatus
from reconciler.model.plan import Action, Plan, PlanOptions
from reconciler.render.plan_json import plan_schema, plan_to_json
from reconciler.render.text import render_plan


def validated(plan: Plan) -> Plan:
    """Every plan a test makes is checked against schemas/plan.schema.json."""
    jsonschema.Draft202012Validator(plan_schema()).validate(plan_to_json(plan))
    return plan


def make_plan(stack: Path, runtime: app.Runtime, **options: object) -> Plan:
    return validated(app.plan(stack, PlanOptions(**options), runtime=runtime))  # type: ignore[arg-type]


def text(plan: Plan) -> str:
    return render_plan(plan_to_json(plan))


def failures(result: ApplyResult) -> list[str]:
    return [
        f"{o.step_id} {o.operation} {o.address}: {o.status} {o.error_code} {o.error_message}"
        for o in result.outcomes
        if o.status is not StepStatus.DONE
    ]


def apply(
    stack: Path, runtime: app.Runtime, plan: Plan | None = None, hook: Hook | None = None
) -> ApplyResult:
    """Apply (a fresh plan by default) and require every step to succeed."""
    plan = plan or make_plan(stack, runtime)
    result = app.apply_plan(plan, stack, runtime=runtime, hook=hook)
    assert result.ok, failures(result)
    return result


def converge(stack: Path, runtime: app.Runtime) -> Plan:
    """Apply, then require the next plan to have no changes; returns that plan."""
    apply(stack, runtime)
    after = make_plan(stack, runtime)
    assert not after.has_changes, text(after)
    assert not after.drift, text(after)
    return after


def actions(plan: Plan) -> dict[str, str]:
    """Address → action of every change that does something."""
    return {c.address: c.action.value for c in plan.changes if c.action is not Action.NOOP}


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of a manifest (it must be there)."""
    content = path.read_text()
    assert old in content, f"{old!r} not in {path}"
    path.write_text(content.replace(old, new, 1))


def with_runtime(runtime: app.Runtime, **changes: object) -> app.Runtime:
    return dataclasses.replace(runtime, **changes)  # type: ignore[arg-type]
