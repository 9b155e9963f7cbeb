"""Observers of an apply: the executor reports through hooks and never prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reconciler.engine.result import ApplyResult, StepOutcome
from reconciler.errors import ProviderError
from reconciler.model.plan import Step


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitProgress:
    """Where a waited-for image stands after one poll."""

    image_id: str
    state: str
    """ImageState as polled (e.g. SYNCING), or `MISSING` when the poll did not find it."""
    sync_percent: int | None
    elapsed: float
    """Seconds since the wait began."""


class Hook(Protocol):
    """Apply observers. The executor calls hooks one at a time (never concurrently)."""

    def step_started(self, step: Step) -> None: ...

    def step_waiting(self, step: Step, progress: WaitProgress) -> None: ...

    def step_retrying(
        self, step: Step, attempt: int, error: ProviderError, delay: float
    ) -> None: ...

    def step_finished(self, step: Step, outcome: StepOutcome) -> None: ...

    def apply_finished(self, result: ApplyResult) -> None: ...


class NullHook:
    """A hook that observes nothing; subclass it and override only what you need."""

    def step_started(self, step: Step) -> None:
        return None

    def step_waiting(self, step: Step, progress: WaitProgress) -> None:
        return None

    def step_retrying(self, step: Step, attempt: int, error: ProviderError, delay: float) -> None:
        return None

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        return None

    def apply_finished(self, result: ApplyResult) -> None:
        return None
