"""The outcome of an apply: one StepOutcome per step, and the ApplyResult around them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class StepStatus(StrEnum):
    """What became of one step."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    """A dependency failed (or was skipped), so the step was not attempted."""
    NOT_RUN = "not-run"
    """The apply was stopped (Ctrl-C) before the step started, or before a due retry of it (the
    last error is in the message)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutcome:
    """The result of one step; times are epoch seconds from the executor's clock."""

    step_id: str
    status: StepStatus
    operation: str = ""
    address: str = ""
    region: str = ""
    attempts: int = 0
    """API attempts made (polls of a Wait are not counted)."""
    error_code: str = ""
    """The Tencent Cloud error code, or the executor's own (`WaitTimeout`, `DependencyFailed`)."""
    error_message: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None

    @property
    def elapsed(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """Every step's outcome in plan order; `ok` when all are done."""

    outcomes: tuple[StepOutcome, ...] = ()
    interrupted: bool = False
    """The stop event was set (Ctrl-C): no new step was started after it."""

    @property
    def ok(self) -> bool:
        return all(o.status is StepStatus.DONE for o in self.outcomes)

    def outcome(self, step_id: str) -> StepOutcome:
        for outcome in self.outcomes:
            if outcome.step_id == step_id:
                return outcome
        raise KeyError(step_id)

    @property
    def counts(self) -> dict[str, int]:
        """Steps per status, every status present (e.g. for the summary line)."""
        counts = {status.value: 0 for status in StepStatus}
        for outcome in self.outcomes:
            counts[outcome.status.value] += 1
        return counts
