"""An ApplyResult as JSON (`apply --format json`): per-step outcomes, counts and the exit code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.engine.result import ApplyResult, StepOutcome
from reconciler.model.plan import FORMAT_VERSION, Plan


def _timestamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _outcome_to_json(outcome: StepOutcome) -> dict[str, Any]:
    error = (
        {"code": outcome.error_code, "message": outcome.error_message}
        if outcome.error_code or outcome.error_message
        else None
    )
    elapsed = outcome.elapsed
    return {
        "id": outcome.step_id,
        "operation": outcome.operation,
        "address": outcome.address,
        "region": outcome.region,
        "status": outcome.status.value,
        "attempts": outcome.attempts,
        "error": error,
        "outputs": dict(outcome.outputs),
        "started_at": _timestamp(outcome.started),
        "finished_at": _timestamp(outcome.finished),
        "elapsed_seconds": None if elapsed is None else round(elapsed, 3),
    }


def apply_result_to_json(result: ApplyResult, *, plan: Plan, exit_code: int) -> dict[str, Any]:
    """`{format_version, stack, ok, interrupted, exit_code, summary, counts, steps: [...]}`."""
    return {
        "format_version": FORMAT_VERSION,
        "stack": plan.stack,
        "ok": result.ok,
        "interrupted": result.interrupted,
        "exit_code": exit_code,
        "summary": plan.summary,
        "counts": result.counts,
        "steps": [_outcome_to_json(o) for o in result.outcomes],
    }
