"""The whole pipeline in one place: load → observe → plan (+ policy, cost) → apply, and reads.

Commands call these functions and only render and map errors; nothing else knows every stage.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.engine.clock import Clock, SystemClock
from reconciler.engine.hooks import Hook, NullHook
from reconciler.engine.result import ApplyResult
from reconciler.engine.retry import Retry
from reconciler.engine.settings import ExecutorSettings
from reconciler.errors import PlanError, StalePlanError, UsageError
from reconciler.model.desired import DesiredStack, DesiredState
from reconciler.model.observed import TAG_GENERATION, ObservedCloud, ObservedImage
from reconciler.model.plan import Plan, PlanOptions
from reconciler.model.regions import REGIONS
from reconciler.provider.tencent import TencentCloudProvider

if TYPE_CHECKING:
    from reconciler.manifests.export import ImportedImage


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


DEFAULT_PARALLELISM: int = ExecutorSettings().parallelism
"""`--parallelism`'s default: the executor's own (`ExecutorSettings.parallelism`)."""


def executor_settings_for(
    stack: DesiredStack, parallelism: int = DEFAULT_PARALLELISM
) -> ExecutorSettings:
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
    from reconciler.planner.needs import observation_needs
    from reconciler.provider.observe import observe, observe_sources

    retry = retry or Retrier()
    needs = observation_needs(desired)
    observed = observe(
        provider,
        observe_regions(desired),
        desired.stack.name,
        now=now,
        share_lists_for=needs.share_ids,
        share_names_for=needs.share_names,
        share_suffixes_for=needs.share_suffixes,
        retry=retry,
        quota_regions=needs.quota_regions,
    )
    if not source_sizes:
        return observed
    sources = observe_sources(
        provider, instances=needs.instances, snapshots=needs.snapshots, retry=retry
    )
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """A plan with what it was made from: the manifests and the observation of the cloud."""

    plan: Plan
    desired: DesiredState
    observed: ObservedCloud


def planned(
    path: Path,
    options: PlanOptions,
    *,
    runtime: Runtime | None = None,
    now: datetime | None = None,
) -> Planned:
    """`plan`, with the manifests and the observation it was made from (for `apply_plan`)."""
    runtime = runtime or Runtime()
    desired = load(path)
    moment = _utc_now(runtime, now)
    with open_provider(desired, path, runtime) as provider:
        observed = observe_cloud(provider, desired, moment, retry=reads_retry(runtime))
    made = plan_from(desired, observed, options, moment)
    return Planned(
        plan=dataclasses.replace(made, path=recorded_path(path)),
        desired=desired,
        observed=observed,
    )


def plan(
    path: Path,
    options: PlanOptions,
    *,
    db: str | None = None,
    runtime: Runtime | None = None,
    now: datetime | None = None,
) -> Plan:
    """Load + validate → observe every region → make the plan → add policy and cost.

    `db` is a shorthand for `runtime=Runtime(db=db)`; give one or the other (ValueError if
    both). The plan records `path` (`Plan.path`).
    """
    if db is not None and runtime is not None:
        raise ValueError("app.plan: give db or runtime, not both (put db in the Runtime)")
    return planned(path, options, runtime=runtime or Runtime(db=db), now=now).plan


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
    with held(store, desired.stack.name, clock=runtime.clock):
        return execute(
            plan.steps,
            provider,
            settings=runtime.settings,
            clock=runtime.clock,
            hook=hook,
            stop=stop,
        )


def _apply_checked(
    plan: Plan,
    path: Path,
    *,
    desired: DesiredState,
    runtime: Runtime,
    parallelism: int | None,
    hook: Hook | None,
    stop: threading.Event | None,
    observation: Callable[[TencentCloudProvider], ObservedCloud],
) -> ApplyResult:
    """The tail both applies share: observe (`observation`), check every step's ownership
    against it, then run the steps under the stack's apply lock.

    `parallelism`: run with `executor_settings_for(stack, parallelism)` instead of the
    runtime's settings (what `reconciler apply` does)."""
    if parallelism is not None:
        runtime = dataclasses.replace(
            runtime, settings=executor_settings_for(desired.stack, parallelism)
        )
    with open_provider(desired, path, runtime) as provider:
        observed = observation(provider)
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


def apply_plan(
    plan: Plan,
    path: Path,
    *,
    runtime: Runtime | None = None,
    hook: Hook | None = None,
    stop: threading.Event | None = None,
    observed: ObservedCloud | None = None,
    desired: DesiredState | None = None,
    parallelism: int | None = None,
) -> ApplyResult:
    """Run a freshly made plan's steps under the stack's apply lock.

    `observed` and `desired`: the observation and the manifests the plan was made from
    (`planned`); without them the cloud is observed again and `path` loaded again. Every step is
    checked against them (`check_ownership`) first. `parallelism`: see `_apply_checked`.
    """
    runtime = runtime or Runtime()
    check_applicable(plan)
    check_steps(plan)
    manifests = desired if desired is not None else load(path)

    def observation(provider: TencentCloudProvider) -> ObservedCloud:
        if observed is not None:
            return observed
        moment = _utc_now(runtime, None)
        return observe_cloud(
            provider, manifests, moment, source_sizes=False, retry=reads_retry(runtime)
        )

    return _apply_checked(
        plan,
        path,
        desired=manifests,
        runtime=runtime,
        parallelism=parallelism,
        hook=hook,
        stop=stop,
        observation=observation,
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


def check_plan_stack(plan: Plan, desired: DesiredState, path: Path) -> None:
    """UsageError when the manifests in `path` hold another stack than the plan's."""
    if desired.stack.name != plan.stack:
        raise UsageError(
            f"the plan is for stack {plan.stack!r} but {path} holds stack {desired.stack.name!r}"
        )


def load_for_plan(plan: Plan, path: Path) -> DesiredState:
    """The manifests of the plan's stack in `path` (UsageError when they hold another stack)."""
    desired = load(path)
    check_plan_stack(plan, desired, path)
    return desired


def apply_planfile(
    plan: Plan,
    path: Path,
    *,
    runtime: Runtime | None = None,
    hook: Hook | None = None,
    stop: threading.Event | None = None,
    now: datetime | None = None,
    desired: DesiredState | None = None,
    parallelism: int | None = None,
) -> ApplyResult:
    """Apply exactly a saved plan after re-observing: refuse it if stale or expired, if a step is
    not what the planner makes, or if a step changes an image the stack doesn't own.

    `path` is the manifest directory of the plan's stack (for the provider settings, the lock and
    the ownership check); `desired`: its manifests when already loaded (`load_for_plan`).
    Changes to images the plan does not touch don't make it stale. `parallelism`: see
    `_apply_checked`.
    """
    runtime = runtime or Runtime()
    check_applicable(plan)
    check_steps(plan)
    if desired is None:
        manifests = load_for_plan(plan, path)
    else:
        check_plan_stack(plan, desired, path)
        manifests = desired
    moment = _utc_now(runtime, now)

    def observation(provider: TencentCloudProvider) -> ObservedCloud:
        observed = observe_cloud(
            provider, manifests, moment, source_sizes=False, retry=reads_retry(runtime)
        )
        reasons = stale_reasons(plan, observed, moment)
        if reasons:
            raise StalePlanError("\n".join([*(f"  {r}" for r in reasons), "Make a new plan."]))
        return observed

    return _apply_checked(
        plan,
        path,
        desired=manifests,
        runtime=runtime,
        parallelism=parallelism,
        hook=hook,
        stop=stop,
        observation=observation,
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Imports:
    """What `reconciler import` found to adopt, and where it looked."""

    images: tuple[ImportedImage, ...]
    """The custom images to adopt, by region, name and ID, with unused manifest names."""
    regions: tuple[str, ...]
    """The regions searched."""
    outside_regions: tuple[str, ...]
    """Regions of `images` the stack does not list (add them before planning)."""


def _check_import_options(region: str | None, image_id: str | None, all_unmanaged: bool) -> None:
    from reconciler.model.regions import is_region

    if all_unmanaged == bool(image_id):
        raise UsageError("give either --region R --image-id IMG or --all-unmanaged")
    if image_id and not region:
        raise UsageError("--image-id needs --region")
    if region and not is_region(region):
        raise UsageError(f"--region {region}: not a Tencent Cloud region")


def _custom_image(provider: TencentCloudProvider, region: str, image_id: str) -> ObservedImage:
    # ImageIds and Filters can't be combined in one DescribeImages: list the custom images.
    for image in provider.describe_private_images(region):
        if image.image_id == image_id:
            return image
    raise UsageError(
        f"{image_id}: no custom image with this ID in {region} "
        "(public and shared-in images can't be imported)"
    )


def _adoptable_image(image: ObservedImage, desired: DesiredState) -> ObservedImage:
    """`image` when it can be adopted; UsageError when it failed or a stack manages it."""
    if image.state.failed:
        raise UsageError(f"{image.image_id} in {image.region} is {image.state.value}: not usable")
    if image.stack is not None:
        whose = "this stack" if image.stack == desired.stack.name else f"stack {image.stack!r}"
        raise UsageError(
            f"{image.image_id} in {image.region} is already managed by {whose}"
            + (f" as {image.address}" if image.address else "")
        )
    return image


def import_images(
    path: Path,
    *,
    region: str | None = None,
    image_id: str | None = None,
    all_unmanaged: bool = False,
    runtime: Runtime | None = None,
) -> Imports:
    """The live custom images to adopt into the stack in `path` (`reconciler import`, SPEC §3).

    `region` + `image_id`: that one image (UsageError if it is failed or managed by a stack);
    `all_unmanaged`: every usable custom image no stack manages, in `region` or else in the
    stack's regions. Each gets its live share accounts and an unused manifest name.
    """
    from reconciler.manifests.export import ImportedImage, manifest_name

    _check_import_options(region, image_id, all_unmanaged)
    runtime = runtime or Runtime()
    desired = load(path)
    regions = (region,) if region else tuple(desired.stack.regions)
    with open_provider(desired, path, runtime) as provider:
        if image_id and region:
            found = [_adoptable_image(_custom_image(provider, region, image_id), desired)]
        else:
            found = [
                image
                for r in regions
                for image in provider.describe_private_images(r)
                if image.stack is None and not image.state.failed
            ]
        taken = {image.name for image in desired.images}
        imported = tuple(
            ImportedImage(
                image=image,
                shares=provider.share_accounts(image.region, image.image_id),
                name=manifest_name(image.name or image.image_id, taken),
            )
            for image in sorted(found, key=lambda i: (i.region, i.name, i.image_id))
        )
    outside = sorted({entry.image.region for entry in imported} - set(desired.stack.regions))
    return Imports(images=imported, regions=regions, outside_regions=tuple(outside))


__all__: Sequence[str] = (
    "DEFAULT_PARALLELISM",
    "ImageOutput",
    "Imports",
    "Planned",
    "Runtime",
    "apply_plan",
    "apply_planfile",
    "check_applicable",
    "check_ownership",
    "check_plan_stack",
    "check_steps",
    "executor_settings_for",
    "graph",
    "import_images",
    "load",
    "load_for_plan",
    "output",
    "plan",
    "plan_from",
    "planned",
    "recorded_path",
    "stale_reasons",
    "unlock",
)
