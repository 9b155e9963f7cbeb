"""Live apply progress: an executor hook that writes one line per event (plain or coloured)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TextIO

import click

from reconciler.engine.hooks import WaitProgress
from reconciler.engine.result import ApplyResult, StepOutcome, StepStatus
from reconciler.errors import ProviderError
from reconciler.model.plan import IMAGE_MAKING_OPERATIONS, Step
from reconciler.render.text import format_elapsed

FIRST_WAIT_REPORT = 10.0
"""Seconds a wait runs before its first "still ..." line (short waits print none)."""
WAIT_REPORT_INTERVAL = 30.0
"""Seconds between two "still ..." lines of one wait, unless its state changes."""

WAITING_VERBS = {
    "CREATING": "creating",
    "IMPORTING": "importing",
    "DELETING": "deleting",
}


def _subject(step: Step) -> str:
    return f"{step.id} {step.operation} {step.address} ({step.region})"


def waiting_text(step: Step, progress: WaitProgress) -> str:
    """E.g. `still copying to ap-singapore… 40%, 3m10s`."""
    if progress.state == "SYNCING":
        doing = f"copying to {step.region}" if "@" in step.address else "copying to other regions"
    else:
        doing = WAITING_VERBS.get(progress.state, f"waiting for {progress.state}")
    syncing = progress.state == "SYNCING" and progress.sync_percent is not None
    percent = f" {progress.sync_percent}%," if syncing else ""
    return f"still {doing}…{percent} {format_elapsed(progress.elapsed)}"


class LineProgress:
    """Writes progress lines to a stream (stderr); colour only when asked (a TTY, no NO_COLOR)."""

    def __init__(
        self, stream: TextIO, *, color: bool = False, elapsed: Callable[[], float] | None = None
    ) -> None:
        self._stream = stream
        self._color = color
        self._elapsed = elapsed
        self._lock = threading.Lock()
        self._last_wait: dict[str, tuple[str, float]] = {}

    def _write(self, text: str, **style: Any) -> None:
        prefix = f"[{format_elapsed(self._elapsed())}] " if self._elapsed else ""
        line = click.style(text, **style) if self._color and style else text
        with self._lock:
            click.echo(prefix + line, file=self._stream, color=self._color)

    def step_started(self, step: Step) -> None:
        self._write(f"{_subject(step)}: started")

    def step_waiting(self, step: Step, progress: WaitProgress) -> None:
        last = self._last_wait.get(step.id)
        if progress.elapsed < FIRST_WAIT_REPORT:
            return
        if (
            last is not None
            and last[0] == progress.state
            and progress.elapsed - last[1] < WAIT_REPORT_INTERVAL
        ):
            return
        self._last_wait[step.id] = (progress.state, progress.elapsed)
        self._write(f"{_subject(step)}: {waiting_text(step, progress)}", dim=True)

    def step_retrying(self, step: Step, attempt: int, error: ProviderError, delay: float) -> None:
        self._write(f"{_subject(step)}: {error.code}, retry {attempt} in {delay:.1f}s", fg="yellow")

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        took = f" in {format_elapsed(outcome.elapsed)}" if outcome.elapsed is not None else ""
        if outcome.status is StepStatus.DONE:
            made = [
                value
                for key, value in sorted(outcome.outputs.items())
                if (key == "ImageId" and step.operation in IMAGE_MAKING_OPERATIONS)
                or key.startswith("ImageSet.")
            ]
            extra = f" → {', '.join(made)}" if made else ""
            self._write(f"{_subject(step)}: done{took}{extra}", fg="green")
        elif outcome.status is StepStatus.FAILED:
            self._write(
                f"{_subject(step)}: failed: {outcome.error_code}: {outcome.error_message}",
                fg="red",
                bold=True,
            )
        elif outcome.status is StepStatus.SKIPPED:
            self._write(f"{_subject(step)}: skipped (a dependency failed)", fg="yellow")

    def apply_finished(self, result: ApplyResult) -> None:
        return None
