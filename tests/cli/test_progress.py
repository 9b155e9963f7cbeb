"""The line-per-event apply progress hook: waits throttled, failures and retries shown."""

from __future__ import annotations

import io

from reconciler.engine.hooks import WaitProgress
from reconciler.engine.result import ApplyResult, StepOutcome, StepStatus
from reconciler.errors import ThrottledError
from reconciler.model.plan import Step, StepRef
from reconciler.render.progress import LineProgress, waiting_text

COPY_WAIT = Step(
    id="s4",
    operation="Wait",
    address="image.web@ap-singapore",
    region="ap-singapore",
    params={"ImageId": StepRef("s3", "ImageSet.ap-singapore")},
)
CREATE = Step(id="s1", operation="CreateImage", address="image.web", region="ap-guangzhou")


def _progress(state: str, percent: int | None, elapsed: float) -> WaitProgress:
    return WaitProgress(image_id="img-1", state=state, sync_percent=percent, elapsed=elapsed)


def test_waiting_text_for_a_copy() -> None:
    text = waiting_text(COPY_WAIT, _progress("SYNCING", 40, 190))
    assert text == "still copying to ap-singapore… 40%, 3m10s"
    assert waiting_text(CREATE, _progress("CREATING", 0, 5)) == "still creating… 5s"


def test_waits_are_reported_every_30_seconds_or_on_a_state_change() -> None:
    stream = io.StringIO()
    hook = LineProgress(stream)
    for elapsed in (0, 5, 10, 20, 39, 40):
        hook.step_waiting(COPY_WAIT, _progress("SYNCING", int(elapsed), elapsed))
    hook.step_waiting(COPY_WAIT, _progress("NORMAL", 100, 41))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("still copying to ap-singapore… 10%, 10s")
    assert lines[1].endswith("still copying to ap-singapore… 40%, 40s")
    assert "waiting for NORMAL" in lines[2]
    assert "%" not in lines[2]


def test_started_done_failed_retry_lines() -> None:
    stream = io.StringIO()
    clock = iter([0.0, 1.0, 2.0, 3.0])
    hook = LineProgress(stream, elapsed=lambda: next(clock))
    hook.step_started(CREATE)
    hook.step_retrying(CREATE, 1, ThrottledError("RequestLimitExceeded", "slow down"), 1.5)
    done = StepOutcome(
        step_id="s1", status=StepStatus.DONE, outputs={"ImageId": "img-new"}, started=0, finished=4
    )
    hook.step_finished(CREATE, done)
    failed = StepOutcome(
        step_id="s1", status=StepStatus.FAILED, error_code="InvalidImageName.Duplicate",
        error_message="taken",
    )  # fmt: skip
    hook.step_finished(CREATE, failed)
    hook.apply_finished(ApplyResult())
    assert stream.getvalue().splitlines() == [
        "[0s] s1 CreateImage image.web (ap-guangzhou): started",
        "[1s] s1 CreateImage image.web (ap-guangzhou): RequestLimitExceeded, retry 1 in 1.5s",
        "[2s] s1 CreateImage image.web (ap-guangzhou): done in 4s → img-new",
        "[3s] s1 CreateImage image.web (ap-guangzhou): failed: InvalidImageName.Duplicate: taken",
    ]


def test_colour_when_asked() -> None:
    stream = io.StringIO()
    LineProgress(stream, color=True).step_started(CREATE)
    LineProgress(stream, color=True).step_finished(
        CREATE, StepOutcome(step_id="s1", status=StepStatus.SKIPPED)
    )
    assert "\x1b[33m" in stream.getvalue()
