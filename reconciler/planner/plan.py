"""`make_plan`: the pure planner, (desired, observed, options, now) → Plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.model.desired import DesiredState, InstanceSource, SnapshotsSource
from reconciler.model.observed import ObservedCloud
from reconciler.model.plan import Plan, PlanOptions
from reconciler.planner.changes import plan_changes
from reconciler.planner.fingerprint import plan_fingerprint
from reconciler.planner.ownership import Ownership
from reconciler.planner.quota import quota_errors
from reconciler.planner.resolve import ResolvedImage, resolve_image
from reconciler.planner.steps import build_steps
from reconciler.planner.targets import target_scope
from reconciler.planner.work import PlannedWork

DEFAULT_TTL = timedelta(hours=24)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with `Z`; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _replace_errors(desired: DesiredState, options: PlanOptions) -> list[str]:
    homes = {image.address for image in desired.images}
    return [
        f"--replace {address}: not an Image of the manifests (use image.<name>; "
        "its copies are replaced with it)"
        for address in options.replace
        if address not in homes
    ]


def _missing_source_errors(
    desired: DesiredState, observed: ObservedCloud, work: PlannedWork
) -> list[str]:
    """A home image this plan makes from an instance or snapshots that are definitely not in
    its region (the read succeeded without them) can't be made: a plan error, not a failed apply.
    An ID whose read failed is not in `missing_sources`, so it is never reported."""
    making = {g.address for g in work.groups if g.home is not None and g.home.make is not None}
    errors = []
    for image in desired.images:
        if image.address not in making:
            continue
        source = image.source
        named: list[tuple[str, str]] = []
        if isinstance(source, InstanceSource):
            named.append(("source.instance.id", source.instance_id))
        elif isinstance(source, SnapshotsSource):
            named.append(("source.snapshots.system", source.system))
            named += [("source.snapshots.data", snapshot) for snapshot in source.data]
        errors += [
            f"{image.address} ({image.source_ref}): {path} {value} does not exist in {image.region}"
            for path, value in named
            if value in observed.missing_sources
        ]
    return errors


def make_plan(
    desired: DesiredState,
    observed: ObservedCloud,
    options: PlanOptions,
    *,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> Plan:
    """Diff the manifests against the cloud: changes, drift, the step DAG and plan errors.

    Pure: the same inputs give the same plan. Policy and cost are added by the caller.
    """
    stack = desired.stack.name
    ownership = Ownership.of(observed, stack)
    scope, errors = target_scope(options.targets, desired, ownership)
    resolved: dict[str, ResolvedImage] = {}
    if not options.destroy:
        errors += _replace_errors(desired, options)
        for image in desired.images:
            forced = image.address in options.replace
            resolution, problems = resolve_image(stack, image, ownership, forced=forced)
            errors += problems
            if resolution.copy_name is not None or resolution.existing is not None:
                resolved[image.address] = resolution
    change_set = plan_changes(
        desired, resolved, ownership, options, scope, source_sizes=observed.source_sizes
    )
    refresh_only = options.refresh_only
    steps = () if refresh_only else build_steps(change_set.work)
    if not refresh_only:
        errors += change_set.errors
        errors += quota_errors(observed, change_set.work)
        errors += _missing_source_errors(desired, observed, change_set.work)
    return Plan(
        stack=stack,
        created_at=iso_utc(now),
        expires_at=iso_utc(now + ttl),
        changes=() if refresh_only else change_set.changes,
        drift=change_set.drift,
        steps=steps,
        options=options,
        errors=() if refresh_only else tuple(dict.fromkeys(errors)),
        fingerprint=plan_fingerprint(steps, observed),
    )
