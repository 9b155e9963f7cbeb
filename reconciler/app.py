"""The whole pipeline in one place: load → observe → plan (+ policy, cost) → apply, and reads.

Commands call these functions and only render and map errors; nothing else knows every stage.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reconciler.engine.clock import Clock, SystemClock
from reconciler.engine.hooks import Hook, NullHook
from reconciler.engine.result import ApplyResult
from reconciler.engine.retry import Retry
from reconciler.engine.settings import ExecutorSettings
from reconciler.errors import PlanError, StalePlanError, UsageError
from reconciler.model.desired import (
    DesiredStack,
    DesiredState,
    ExistingSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.generation import NAME_SUFFIX_LENGTH
from reconciler.model.observed import TAG_GENERATION, ObservedCloud
from reconciler.model.plan import Plan, PlanOptions
from reconciler.model.regions import REGIONS
from reconciler.provider.tencent import TencentCloudProvider


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    """What the pipeline needs besides the manifests: where the cloud is and how time passes."""

    db: str | None = None
    """`--db FILE`: the simulated cloud's database (SPEC §6 resolution otherwise)."""
    clock: Clock = field(default_factory=SystemClock)
    """The executor's and the rate limiter's clock (a VirtualClock in tests)."""
    settings: ExecutorSettings = field(default_factory=ExecutorSettings)
    """Parallelism, retries, wait timeouts and polling of apply."""


LOCAL_POLL_INTERVAL = 1.0
"""Seconds between wait polls on the embedded simulated cloud (it finishes a create in ~3 s)."""


def executor_settings_for(stack: DesiredStack, parallelism: int = 10) -> ExecutorSettings:
    """How `reconciler apply` runs against this stack's provider.

    The embedded simulated cloud (`local`) is polled every second; any other provider (the real
    cloud, or the emulator through `tencentcloud`) keeps the default interval of 5 s.
    """
    if stack.provider.type == "local":
        return ExecutorSettings(parallelism=parallelism, poll_interval=LOCAL_POLL_INTERVAL)
    return ExecutorSettings(parallelism=parallelism)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageOutput:
    """One managed image as `reconciler output` lists it."""

    address: str
    region: str
    image_id: str
    image_name: str
    state: str
    generation: str


def load(path: Path) -> DesiredState:
    """Load and validate the manifests (raises ManifestError with every problem)."""
    from reconciler.manifests import load_desired

    if not path.is_dir():
        raise UsageError(f"{path}: not a manifest directory")
    return load_desired(path)


def observe_regions(desired: DesiredState) -> tuple[str, ...]:
    """Every Tencent Cloud region, the stack's own first (owned images may linger elsewhere)."""
    own = tuple(desired.stack.regions)
    return own + tuple(r for r in REGIONS if r not in own)


def _utc_now(runtime: Runtime, now: datetime | None) -> datetime:
    return now if now is not None else datetime.fromtimestamp(runtime.clock.now(), UTC)


@contextmanager
def open_provider(
    desired: DesiredState, path: Path, runtime: Runtime
) -> Iterator[TencentCloudProvider]:
    """The provider for this stack (local simulated cloud or the real one), closed afterwards."""
    from reconciler.provider.factory import build_provider

    provider = build_provider(desired.stack, path, db=runtime.db, clock=runtime.clock)
    try:
        yield provider
    finally:
        provider.close()


def reads_retry(runtime: Runtime) -> Retry:
    """How reads of the cloud are retried: the executor's policy, on the runtime's clock."""
    from reconciler.engine.retry import Retrier

    return Retrier(policy=runtime.settings.retry, clock=runtime.clock)


def observe_cloud(
    provider: TencentCloudProvider,
    desired: DesiredState,
    now: datetime,
    *,
    source_sizes: bool = True,
    retry: Retry | None = None,
) -> ObservedCloud:
    """Every PRIVATE_IMAGE of the account in every region, classified for this stack.

    `source_sizes`: also read the disk sizes of the instances and snapshots the images are made
    from (for the plan's cost estimate and the check that they exist; applying a saved plan and
    `output` don't need them). `retry`: how transient errors of the reads are retried (default:
    the default policy on the system clock).
    """
    from reconciler.engine.retry import Retrier
    from reconciler.provider.observe import observe, observe_sources

    retry = retry or Retrier()

    adopting = {
        image.source.image_id
        for image in desired.images
        if isinstance(image.source, ExistingSource)
    }
    # Untagged images with a desired exact name are adopted (SPEC §3): read their shares too.
    names = {image.cloud_name for image in desired.images if image.cloud_name is not None}
    names |= {image.copy_name for image in desired.images}
    observed = observe(
        provider,
        observe_regions(desired),
        desired.stack.name,
        now=now,
        share_lists_for=adopting,
        share_names_for=names,
        share_suffixes_for={
            "-" + image.generation[:NAME_SUFFIX_LENGTH] for image in desired.images
        },
        retry=retry,
        quota_regions=frozenset(desired.stack.regions),
    )
    if not source_sizes:
        return observed
    instances: defaultdict[str, set[str]] = defaultdict(set)
    snapshots: defaultdict[str, set[str]] = defaultdict(set)
    for image in desired.images:
        source = image.source
        if isinstance(source, InstanceSource):
            instances[image.region].add(source.instance_id)
        elif isinstance(source, SnapshotsSource):
            snapshots[image.region].update((source.system, *source.data))
    sources = observe_sources(provider, instances=instances, snapshots=snapshots, retry=retry)
    return dataclasses.replace(
        observed, source_sizes=sources.sizes, missing_sources=sources.missing
    )


def plan_from(
    desired: DesiredState, observed: ObservedCloud, options: PlanOptions, now: datetime
) -> Plan:
    """make_plan, then the policy verdicts and the cost estimate added to it."""
    from reconciler.planner import make_plan
    from reconciler.planner.cost import estimate_cost
    from reconciler.planner.policy import check_policy

    made = make_plan(desired, observed, options, now=now)
    with_policy = dataclasses.replace(made, policy=check_policy(desired, made))
    return dataclasses.replace(with_policy, cost=estimate_cost(desired, observed, with_policy))


def recorded_path(path: Path) -> str:
    """The manifest PATH as a plan records it: as given, relative to the current directory (an
    absolute PATH inside the current directory is made relative, so another checkout finds it)."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix() or "."
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def plan_and_observation(
    path: Path,
    options: PlanOptions,
    *,
    runtime: Runtime | None = None,
    now: datetime | None = None,
) -> tuple[Plan, ObservedCloud]:
    """`plan`, and the observation of the cloud it was made from (for `apply_plan`'s checks)."""
    runtime = runtime or Runtime()
    desired = load(path)
    moment = _utc_now(runtime, now)
    with open_provider(desired, path, runtime) as provider:
        observed = observe_cloud(provider, desired, moment, retry=reads_retry(runtime))
    made = plan_from(desired, observed, options, moment)
    return dataclasses.replace(made, path=recorded_path(path)), observed


def plan(
    path: Path,
    options: PlanOptions,
    *,
    db: str | None = None,
    runtime: Runtime | None = None,
    now: datetime | None = None,
) -> Plan:
    """Load + validate → observe every region → make the plan → add policy and cost.

    `db` is a shorthand for `runtime=Runtime(db=db)`. The plan records `path` (`Plan.path`).
    """
    return plan_and_observation(path, options, runtime=runtime or Runtime(db=db), now=now)[0]


def check_applicable(plan: Plan) -> None:
    """A plan with errors or denied policy violations can't be applied (PlanError says why)."""
    if plan.errors:
        raise PlanError("the plan has errors and can't be applied:\n  " + "\n  ".join(plan.errors))
    denied = plan.denied
    if denied:
        lines = [
            f"{v.rule}: {v.address}: {v.message}" + (f" ({v.source})" if v.source else "")
            for v in denied
        ]
        raise PlanError("policy denies this plan:\n  " + "\n  ".join(lines))


def check_steps(plan: Plan) -> None:
    """Refuse (PlanError) a plan whose steps aren't all known operations on their own service,
    or that touch an image or name its fingerprint doesn't cover (an edited plan file)."""
    from reconciler.planner.guard import step_problems, unfingerprinted

    problems = step_problems(plan.steps)
    if not problems:
        problems = unfingerprinted(plan)
    if problems:
        raise PlanError(
            "the plan can't be applied: its steps are not what the planner makes:\n  "
            + "\n  ".join(problems)
            + "\nNothing was changed; make a new plan."
        )


def check_ownership(plan: Plan, desired: DesiredState, observed: ObservedCloud) -> None:
    """Refuse (PlanError) a plan with a step that changes an image this stack doesn't own."""
    from reconciler.planner.guard import ownership_offences

    offences = ownership_offences(plan, desired, observed)
    if offences:
        raise PlanError(
            f"the plan can't be applied: it would change what stack {plan.stack!r} "
            "does not own:\n  " + "\n  ".join(str(o) for o in offences) + "\nNothing was changed."
        )


def _execute_locked(
    plan: Plan,
    *,
    desired: DesiredState,
    path: Path,
    provider: TencentCloudProvider,
    runtime: Runtime,
    hook: Hook,
    stop: threading.Event | None,
) -> ApplyResult:
    from reconciler.engine.executor import execute
    from reconciler.engine.lock import held
    from reconciler.provider.factory import lock_store_for

    store = lock_store_for(desired.stack, path, db=runtime.db)
    with held(store, desired.stack.name):
        return execute(
            plan.steps,
            provider,
            settings=runtime.settings,
            clock=runtime.clock,
            hook=hook,
            stop=stop,
        )


def apply_plan(
    plan: Plan,
    path: Path,
    *,
    runtime: Runtime | None = None,
    hook: Hook | None = None,
    stop: threading.Event | None = None,
    observed: ObservedCloud | None = None,
) -> ApplyResult:
    """Run a freshly made plan's steps under the stack's apply lock.

    `observed`: the observation the plan was made from (`plan_and_observation`); without it the
    cloud is observed again. Every step is checked against it (`check_ownership`) first.
    """
    runtime = runtime or Runtime()
    check_applicable(plan)
    check_steps(plan)
    desired = load(path)
    with open_provider(desired, path, runtime) as provider:
        if observed is None:
            moment = _utc_now(runtime, None)
            observed = observe_cloud(
                provider, desired, moment, source_sizes=False, retry=reads_retry(runtime)
            )
        check_ownership(plan, desired, observed)
        return _execute_locked(
            plan,
            desired=desired,
            path=path,
            provider=provider,
            runtime=runtime,
            hook=hook or NullHook(),
            stop=stop,
        )


def stale_reasons(plan: Plan, observed: ObservedCloud, now: datetime) -> list[str]:
    """What changed since the plan was made: expiry, and every fingerprinted image that differs
    (named by its address, with the tag keys and share accounts that changed)."""
    from reconciler.planner.fingerprint import fingerprint, fingerprint_changes, key_addresses

    reasons: list[str] = []
    if datetime.fromisoformat(plan.expires_at.replace("Z", "+00:00")) <= now:
        reasons.append(f"the plan expired at {plan.expires_at}")
    current = fingerprint(plan.fingerprint.keys(), observed)
    addresses = key_addresses(plan.changes, plan.steps)
    reasons.extend(fingerprint_changes(plan.fingerprint, current, addresses))
    return reasons


def load_for_plan(plan: Plan, path: Path) -> DesiredState:
    """The manifests of the plan's stack in `path` (UsageError when they hold another stack)."""
    desired = load(path)
    if desired.stack.name != plan.stack:
        raise UsageError(
            f"the plan is for stack {plan.stack!r} but {path} holds stack {desired.stack.name!r}"
        )
    return desired


def apply_planfile(
    plan: Plan,
    path: Path,
    *,
    runtime: Runtime | None = None,
    hook: Hook | None = None,
    stop: threading.Event | None = None,
    now: datetime | None = None,
) -> ApplyResult:
    """Apply exactly a saved plan after re-observing: refuse it if stale or expired, if a step is
    not what the planner makes, or if a step changes an image the stack doesn't own.

    `path` is the manifest directory of the plan's stack (for the provider settings, the lock and
    the ownership check). Changes to images the plan does not touch don't make it stale.
    """
    runtime = runtime or Runtime()
    check_applicable(plan)
    check_steps(plan)
    desired = load_for_plan(plan, path)
    moment = _utc_now(runtime, now)
    with open_provider(desired, path, runtime) as provider:
        observed = observe_cloud(
            provider, desired, moment, source_sizes=False, retry=reads_retry(runtime)
        )
        reasons = stale_reasons(plan, observed, moment)
        if reasons:
            raise StalePlanError("\n".join([*(f"  {r}" for r in reasons), "Make a new plan."]))
        check_ownership(plan, desired, observed)
        return _execute_locked(
            plan,
            desired=desired,
            path=path,
            provider=provider,
            runtime=runtime,
            hook=hook or NullHook(),
            stop=stop,
        )


def output(path: Path, *, runtime: Runtime | None = None) -> list[ImageOutput]:
    """The image ID of every image the stack owns, per address and region."""
    runtime = runtime or Runtime()
    desired = load(path)
    moment = _utc_now(runtime, None)
    with open_provider(desired, path, runtime) as provider:
        observed = observe_cloud(
            provider, desired, moment, source_sizes=False, retry=reads_retry(runtime)
        )
    return sorted(
        (
            ImageOutput(
                address=image.address or "",
                region=image.region,
                image_id=image.image_id,
                image_name=image.name,
                state=image.state.value,
                generation=image.tags.get(TAG_GENERATION, ""),
            )
            for image in observed.owned_by(desired.stack.name)
        ),
        key=lambda o: (o.address, o.region, o.image_id),
    )


def unlock(lock_id: str, path: Path, *, runtime: Runtime | None = None) -> str:
    """Remove a stale apply lock by its id; returns who held it."""
    from reconciler.provider.factory import lock_store_for

    runtime = runtime or Runtime()
    desired = load(path)
    return lock_store_for(desired.stack, path, db=runtime.db).force_unlock(lock_id).describe()


def graph(
    path: Path,
    options: PlanOptions,
    *,
    graph_format: str = "mermaid",
    runtime: Runtime | None = None,
) -> str:
    """The step graph of the plan for `path`, as Mermaid or DOT (`reconciler graph`)."""
    from reconciler.render.graph import render_graph
    from reconciler.render.plan_json import plan_to_json

    return render_graph(plan_to_json(plan(path, options, runtime=runtime)), graph_format)


__all__: Sequence[str] = (
    "ImageOutput",
    "Runtime",
    "apply_plan",
    "apply_planfile",
    "check_applicable",
    "check_ownership",
    "check_steps",
    "executor_settings_for",
    "graph",
    "load",
    "load_for_plan",
    "output",
    "plan",
    "plan_and_observation",
    "plan_from",
    "recorded_path",
    "stale_reasons",
    "unlock",
)
