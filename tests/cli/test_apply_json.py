"""`apply --format json`: every outcome with its status, error, outputs and times."""

from __future__ import annotations

from reconciler.engine.result import ApplyResult, StepOutcome, StepStatus
from reconciler.render.apply_json import apply_result_to_json

from .sample_plans import full_plan


def test_outcomes_are_encoded() -> None:
    result = ApplyResult(
        outcomes=(
            StepOutcome(
                step_id="s1", status=StepStatus.DONE, operation="CreateImage",
                address="image.web-base", region="ap-guangzhou", attempts=2,
                outputs={"ImageId": "img-1"}, started=1_767_225_600.0, finished=1_767_225_690.5,
            ),
            StepOutcome(
                step_id="s2", status=StepStatus.FAILED, operation="Wait",
                address="image.web-base", region="ap-guangzhou", error_code="WaitTimeout",
                error_message="still CREATING after 2h",
            ),
            StepOutcome(step_id="s3", status=StepStatus.NOT_RUN),
        ),
        interrupted=True,
    )  # fmt: skip
    encoded = apply_result_to_json(result, plan=full_plan(), exit_code=130)
    assert encoded["ok"] is False
    assert encoded["interrupted"] is True
    assert encoded["exit_code"] == 130
    assert encoded["counts"] == {"done": 1, "failed": 1, "skipped": 0, "not-run": 1}
    assert encoded["summary"]["create"] == 2
    first, second, third = encoded["steps"]
    assert first["started_at"] == "2026-01-01T00:00:00Z"
    assert first["elapsed_seconds"] == 90.5
    assert first["outputs"] == {"ImageId": "img-1"}
    assert first["error"] is None
    assert second["error"] == {"code": "WaitTimeout", "message": "still CREATING after 2h"}
    assert third["status"] == "not-run"
    assert third["started_at"] is None
