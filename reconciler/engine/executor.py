"""The executor: walks the plan's step DAG with a bounded pool, polls waits, retries, reports.

Calls run in a thread pool of `parallelism` workers; `Wait` steps take no worker: per region,
one poller sends ONE DescribeImages(ImageIds=[...]) for every image waiting there, every
`poll_interval`. Transient errors are retried with backoff and jitter; anything else fails the
step, which skips only its dependents (not `always_run` ones). When `stop` is set, no new step
starts, running calls finish, and the rest is marked not-run. All state lives in the main
thread; workers only post events. The executor never prints: it reports through the hook.
"""

from __future__ import annotations

import heapq
import queue
import random
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.engine.clock import Clock, SystemClock
from reconciler.engine.hooks import Hook, NullHook, WaitProgress
from reconciler.engine.result import ApplyResult, StepOutcome, StepStatus
from reconciler.engine.settings import ExecutorSettings
from reconciler.errors import PlanError, ProviderError, ReconcilerError
from reconciler.model.observed import ImageState, ObservedImage
from reconciler.model.plan import WAIT, Step, StepRef

_SLEEP_SLICE = 1.0
"""Long sleeps are cut in slices so a stop or shutdown is noticed within a second."""
_READY = frozenset({ImageState.NORMAL, ImageState.USING})
"""States that end a wait for NORMAL (USING is the historical "in use", i.e. available)."""
_STOP_CHECK = 0.1
"""Real seconds between two looks at the stop event while nothing else happens."""


class StepProvider(Protocol):
    """What the executor needs from the provider (TencentCloudProvider satisfies it)."""

    def run_step(
        self, operation: str, service: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, str]: ...

    def describe_images_by_id(self, region: str, ids: Sequence[str]) -> list[ObservedImage]: ...


class _MissingOutputError(Exception):
    def __init__(self, ref: StepRef) -> None:
        super().__init__(f"output {ref.field} of step {ref.step} is not available")


@dataclass(frozen=True, slots=True)
class _CallFinished:
    step_id: str
    attempts: int
    outputs: Mapping[str, str] | None
    error_code: str = ""
    error_message: str = ""
    stopped: bool = False
    """A retry was due but the apply was stopped: the step ends not-run, not failed."""


@dataclass(frozen=True, slots=True)
class _PollFinished:
    region: str
    polled: tuple[str, ...]
    images: Mapping[str, ObservedImage]
    error: ProviderError | None = None


@dataclass(slots=True)
class _Waiter:
    step: Step
    image_id: str
    started: float
    deadline: float
    polls: int = 0
    missing: int = 0


def substitute(value: Any, outputs: Mapping[str, Mapping[str, str]]) -> Any:
    """`value` with every StepRef (at any depth) replaced by the referenced step's output."""
    if isinstance(value, StepRef):
        produced = outputs.get(value.step, {})
        if value.field not in produced:
            raise _MissingOutputError(value)
        return produced[value.field]
    if isinstance(value, Mapping):
        return {key: substitute(item, outputs) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(item, outputs) for item in value]
    return value


def check_dag(steps: Sequence[Step]) -> None:
    """Raise PlanError for duplicate step IDs, unknown dependencies or a cycle."""
    ids = [step.id for step in steps]
    known = set(ids)
    if len(known) != len(ids):
        raise PlanError("the plan has duplicate step IDs")
    for step in steps:
        for dependency in step.depends_on:
            if dependency not in known:
                raise PlanError(f"step {step.id} depends on unknown step {dependency}")
    by_id = {step.id: step for step in steps}
    done: set[str] = set()
    visiting: set[str] = set()
    for root in ids:
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, index = stack.pop()
            if node in done:
                continue
            deps = by_id[node].depends_on
            if index == 0:
                if node in visiting:
                    raise PlanError(f"the plan's steps form a cycle through {node}")
                visiting.add(node)
            if index < len(deps):
                stack.append((node, index + 1))
                if deps[index] in visiting:
                    raise PlanError(f"the plan's steps form a cycle through {deps[index]}")
                stack.append((deps[index], 0))
            else:
                visiting.discard(node)
                done.add(node)


class _SerialHook:
    """Calls the user's hook under a lock, so hooks never run concurrently."""

    def __init__(self, hook: Hook) -> None:
        self._hook = hook
        self._lock = threading.Lock()

    def started(self, step: Step) -> None:
        with self._lock:
            self._hook.step_started(step)

    def waiting(self, step: Step, progress: WaitProgress) -> None:
        with self._lock:
            self._hook.step_waiting(step, progress)

    def retrying(self, step: Step, attempt: int, error: ProviderError, delay: float) -> None:
        with self._lock:
            self._hook.step_retrying(step, attempt, error, delay)

    def finished(self, step: Step, outcome: StepOutcome) -> None:
        with self._lock:
            self._hook.step_finished(step, outcome)

    def apply_finished(self, result: ApplyResult) -> None:
        with self._lock:
            self._hook.apply_finished(result)


class _Run:
    """One execution of a list of steps (single use)."""

    def __init__(
        self,
        steps: Sequence[Step],
        provider: StepProvider,
        *,
        settings: ExecutorSettings,
        clock: Clock,
        hook: Hook,
        stop: threading.Event | None,
        rng: random.Random,
    ) -> None:
        check_dag(steps)
        self.steps = {step.id: step for step in steps}
        self.order = [step.id for step in steps]
        self.provider = provider
        self.settings = settings
        self.clock = clock
        self.hook = _SerialHook(hook)
        self.stop = stop
        self.rng = rng
        self.outcomes: dict[str, StepOutcome] = {}
        self.outputs: dict[str, Mapping[str, str]] = {}
        self.position = {step_id: index for index, step_id in enumerate(self.order)}
        self.unresolved = {step.id: len(set(step.depends_on)) for step in steps}
        """Step ID → how many of its dependencies have no outcome yet."""
        self.dependents: dict[str, list[str]] = {step.id: [] for step in steps}
        for step in steps:
            for dep in set(step.depends_on):
                self.dependents[dep].append(step.id)
        self.ready: list[int] = [
            self.position[step_id] for step_id, count in self.unresolved.items() if count == 0
        ]
        """Heap of positions (plan order) of steps whose dependencies all have outcomes."""
        heapq.heapify(self.ready)
        self.running: dict[str, float] = {}
        """Calls in flight: step ID → wall-clock start."""
        self.wait_started: dict[str, float] = {}
        self.waiters: dict[str, dict[str, _Waiter]] = {}
        self.waiters_lock = threading.Lock()
        self.polling: set[str] = set()
        self.events: queue.Queue[_CallFinished | _PollFinished] = queue.Queue()
        self.closing = threading.Event()
        regions = {step.region for step in steps if step.operation == WAIT}
        self.call_pool = ThreadPoolExecutor(settings.parallelism, thread_name_prefix="apply")
        self.poll_pool = ThreadPoolExecutor(max(1, min(8, len(regions))), thread_name_prefix="poll")

    # -- the main loop -------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        try:
            while True:
                if self._stopping():
                    self._stop_pending()
                else:
                    while self._start_ready():
                        pass
                if not self.running and not self._waiting_ids():
                    break
                try:
                    event = self.events.get(timeout=_STOP_CHECK if self.stop else None)
                except queue.Empty:
                    continue
                if isinstance(event, _CallFinished):
                    self._call_finished(event)
                else:
                    self._poll_finished(event)
        finally:
            self.closing.set()
            self.call_pool.shutdown(wait=True, cancel_futures=True)
            self.poll_pool.shutdown(wait=True, cancel_futures=True)
        for step_id in self.order:  # defensive: nothing can be left, but never lose a step
            if step_id not in self.outcomes:
                self._record(self.steps[step_id], StepStatus.NOT_RUN)
        result = ApplyResult(
            outcomes=tuple(self.outcomes[step_id] for step_id in self.order),
            interrupted=self._stopping(),
        )
        self.hook.apply_finished(result)
        return result

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _waiting_ids(self) -> set[str]:
        with self.waiters_lock:
            return {step_id for region in self.waiters.values() for step_id in region}

    def _start_ready(self) -> bool:
        """Start (or skip) every step whose dependencies are resolved; True if any changed.

        Only the ready heap is visited, so each event costs O(ready), not O(all steps).
        """
        changed = False
        deferred: list[int] = []
        while self.ready:
            if self._stopping():
                break  # started nothing new: the main loop marks the rest not-run
            position = heapq.heappop(self.ready)
            step_id = self.order[position]
            if step_id in self.outcomes or step_id in self.running:
                continue
            step = self.steps[step_id]
            blocking = [
                (dep, self.outcomes[dep].status)
                for dep in step.depends_on
                if self.outcomes[dep].status is not StepStatus.DONE
            ]
            if blocking and not step.always_run:
                dep, status = blocking[0]
                self._record(
                    step,
                    StepStatus.SKIPPED,
                    error_code="DependencyFailed",
                    error_message=f"skipped because step {dep} is {status.value}",
                )
                changed = True
            elif step.operation == WAIT:
                self._start_wait(step)
                changed = True
            elif len(self.running) < self.settings.parallelism:
                self._start_call(step)
                changed = True
            else:
                deferred.append(position)
        for position in deferred:
            heapq.heappush(self.ready, position)
        return changed

    def _stop_pending(self) -> None:
        with self.waiters_lock:
            waiting = [w.step for region in self.waiters.values() for w in region.values()]
            self.waiters.clear()
        for step in waiting:
            self._record(step, StepStatus.NOT_RUN, error_message="apply stopped while waiting")
        for step_id in self.order:
            if step_id not in self.outcomes and step_id not in self.running:
                self._record(self.steps[step_id], StepStatus.NOT_RUN)

    def _record(
        self,
        step: Step,
        status: StepStatus,
        *,
        attempts: int = 0,
        error_code: str = "",
        error_message: str = "",
        outputs: Mapping[str, str] | None = None,
        started: float | None = None,
    ) -> None:
        outcome = StepOutcome(
            step_id=step.id,
            status=status,
            operation=step.operation,
            address=step.address,
            region=step.region,
            attempts=attempts,
            error_code=error_code,
            error_message=error_message,
            outputs=dict(outputs or {}),
            started=started,
            finished=self.clock.now() if started is not None else None,
        )
        self.outcomes[step.id] = outcome
        if status is StepStatus.DONE:
            self.outputs[step.id] = outcome.outputs
        for dependent in self.dependents[step.id]:
            self.unresolved[dependent] -= 1
            if self.unresolved[dependent] == 0:
                heapq.heappush(self.ready, self.position[dependent])
        self.hook.finished(step, outcome)

    # -- calls ---------------------------------------------------------------------------------

    def _start_call(self, step: Step) -> None:
        try:
            params = substitute(step.params, self.outputs)
        except _MissingOutputError as exc:
            self._record(
                step, StepStatus.FAILED, error_code="MissingOutput", error_message=str(exc)
            )
            return
        self.hook.started(step)
        self.running[step.id] = self.clock.now()
        self.call_pool.submit(self._call_worker, step, params)

    def _call_worker(self, step: Step, params: Mapping[str, Any]) -> None:
        try:
            event = self._call_with_retries(step, params)
        except Exception as exc:  # a bug (or a failing hook) must fail its step, not hang
            event = _CallFinished(step.id, 0, None, "InternalError", f"{type(exc).__name__}: {exc}")
        self.events.put(event)

    def _call_with_retries(self, step: Step, params: Mapping[str, Any]) -> _CallFinished:
        retry = self.settings.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                outputs = self.provider.run_step(step.operation, step.service, step.region, params)
            except ProviderError as exc:
                if exc.retryable and attempt < retry.attempts:
                    if not self._stopping():
                        delay = retry.delay(attempt, self.rng.random())
                        self.hook.retrying(step, attempt, exc, delay)
                        if self._sleep(delay, stop_aware=True):
                            continue
                    if self._stopping():  # stopped before or during the backoff
                        message = (
                            f"apply stopped before a retry; last error {exc.code}: {exc.message}"
                        )
                        return _CallFinished(step.id, attempt, None, exc.code, message, True)
                return _CallFinished(step.id, attempt, None, exc.code, exc.message)
            except ReconcilerError as exc:
                return _CallFinished(step.id, attempt, None, type(exc).__name__, str(exc))
            return _CallFinished(step.id, attempt, outputs)

    def _call_finished(self, event: _CallFinished) -> None:
        started = self.running.pop(event.step_id)
        step = self.steps[event.step_id]
        if event.outputs is not None:
            self._record(
                step,
                StepStatus.DONE,
                attempts=event.attempts,
                outputs=event.outputs,
                started=started,
            )
        else:
            self._record(
                step,
                StepStatus.NOT_RUN if event.stopped else StepStatus.FAILED,
                attempts=event.attempts,
                error_code=event.error_code,
                error_message=event.error_message,
                started=started,
            )

    def _sleep(self, seconds: float, *, stop_aware: bool = False) -> bool:
        """Sleep through the clock in slices; False when interrupted by shutdown (or stop)."""
        remaining = seconds
        while remaining > 0:
            if self.closing.is_set() or (stop_aware and self._stopping()):
                return False
            chunk = min(_SLEEP_SLICE, remaining)
            self.clock.sleep(chunk)
            remaining -= chunk
        return not self.closing.is_set()

    # -- waits ---------------------------------------------------------------------------------

    def _start_wait(self, step: Step) -> None:
        try:
            image_id = str(substitute(step.params.get("ImageId"), self.outputs))
        except _MissingOutputError as exc:
            self._record(
                step, StepStatus.FAILED, error_code="MissingOutput", error_message=str(exc)
            )
            return
        wanted = str(step.params.get("State", ImageState.NORMAL.value))
        if wanted != ImageState.NORMAL.value:
            self._record(
                step,
                StepStatus.FAILED,
                error_code="InvalidRequest",
                error_message=f"a Wait can only wait for NORMAL, not {wanted}",
            )
            return
        self.hook.started(step)
        now = self.clock.monotonic()
        timeout = self.settings.wait_timeouts.for_operation(self._producer(step))
        waiter = _Waiter(step, image_id, started=now, deadline=now + timeout)
        with self.waiters_lock:
            self.waiters.setdefault(step.region, {})[step.id] = waiter
        self.wait_started[step.id] = self.clock.now()
        self._ensure_poll(step.region, 0.0)

    def _producer(self, step: Step) -> str:
        """The operation that makes the awaited image busy (for its timeout)."""
        if any(self.steps[dep].operation == "SyncImages" for dep in step.depends_on):
            return "SyncImages"  # a source waits out its own copy, too
        ref = step.params.get("ImageId")
        if isinstance(ref, StepRef) and ref.step in self.steps:
            return self.steps[ref.step].operation
        return ""

    def _ensure_poll(self, region: str, delay: float) -> None:
        if region not in self.polling:
            self.polling.add(region)
            self.poll_pool.submit(self._poll_worker, region, delay)

    def _poll_worker(self, region: str, delay: float) -> None:
        try:
            event = self._poll(region, delay)
        except Exception as exc:  # a bug must fail the waits, not hang the apply
            error = ProviderError("InternalError", f"{type(exc).__name__}: {exc}")
            with self.waiters_lock:
                ids = tuple(w.image_id for w in self.waiters.get(region, {}).values())
            event = _PollFinished(region, ids, {}, error)
        self.events.put(event)

    def _poll(self, region: str, delay: float) -> _PollFinished:
        if not self._sleep(delay):
            return _PollFinished(region, (), {})
        with self.waiters_lock:
            ids = tuple(dict.fromkeys(w.image_id for w in self.waiters.get(region, {}).values()))
        if not ids:
            return _PollFinished(region, (), {})
        try:
            images = self.provider.describe_images_by_id(region, list(ids))
        except ProviderError as exc:
            return _PollFinished(region, ids, {}, exc)
        return _PollFinished(region, ids, {i.image_id: i for i in images})

    def _poll_finished(self, event: _PollFinished) -> None:
        self.polling.discard(event.region)
        now = self.clock.monotonic()
        with self.waiters_lock:
            waiters = list(self.waiters.get(event.region, {}).values())
        for waiter in waiters:
            if waiter.image_id in event.polled:
                waiter.polls += 1
                self._judge(waiter, event, now)
            if self._is_waiting(waiter) and now >= waiter.deadline:
                self._finish_wait(
                    waiter,
                    StepStatus.FAILED,
                    "WaitTimeout",
                    f"{waiter.image_id} in {event.region} not NORMAL after "
                    f"{now - waiter.started:.0f}s",
                )
        with self.waiters_lock:
            if not self.waiters.get(event.region):
                self.waiters.pop(event.region, None)
                return
        if not self._stopping():
            self._ensure_poll(event.region, self.settings.poll_interval)

    def _judge(self, waiter: _Waiter, event: _PollFinished, now: float) -> None:
        if event.error is not None:
            if not event.error.retryable:
                self._finish_wait(waiter, StepStatus.FAILED, event.error.code, event.error.message)
            return  # a transient poll error: try again at the next poll
        image = event.images.get(waiter.image_id)
        if image is None:
            waiter.missing += 1
            if waiter.missing >= self.settings.missing_polls:
                self._finish_wait(
                    waiter,
                    StepStatus.FAILED,
                    "ImageDisappeared",
                    f"{waiter.image_id} is no longer in {event.region}",
                )
                return
            state, percent = "MISSING", None
        elif image.state in _READY:
            self._finish_wait(waiter, StepStatus.DONE)
            return
        elif image.state.failed:
            self._finish_wait(
                waiter,
                StepStatus.FAILED,
                f"ImageState.{image.state.value}",
                f"{waiter.image_id} in {event.region} ended in {image.state.value}",
            )
            return
        else:
            waiter.missing = 0
            state, percent = image.state.value, image.sync_percent
        progress = WaitProgress(
            image_id=waiter.image_id,
            state=state,
            sync_percent=percent,
            elapsed=now - waiter.started,
        )
        self.hook.waiting(waiter.step, progress)

    def _is_waiting(self, waiter: _Waiter) -> bool:
        return waiter.step.id not in self.outcomes

    def _finish_wait(
        self, waiter: _Waiter, status: StepStatus, code: str = "", message: str = ""
    ) -> None:
        with self.waiters_lock:
            self.waiters.get(waiter.step.region, {}).pop(waiter.step.id, None)
        self._record(
            waiter.step,
            status,
            attempts=waiter.polls,
            error_code=code,
            error_message=message,
            outputs={"ImageId": waiter.image_id} if status is StepStatus.DONE else None,
            started=self.wait_started.pop(waiter.step.id, None),
        )


def execute(
    steps: Sequence[Step],
    provider: StepProvider,
    *,
    settings: ExecutorSettings | None = None,
    clock: Clock | None = None,
    hook: Hook | None = None,
    stop: threading.Event | None = None,
    rng: random.Random | None = None,
) -> ApplyResult:
    """Run the steps (a DAG in plan order) against the provider; never raises for a failed step.

    Raises PlanError only when the steps are not a DAG (unknown dependency, cycle).
    """
    run = _Run(
        steps,
        provider,
        settings=settings or ExecutorSettings(),
        clock=clock or SystemClock(),
        hook=hook or NullHook(),
        stop=stop,
        rng=rng or random.Random(),
    )
    return run.run()
