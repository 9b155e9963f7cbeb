"""What apply checks before its first call: every step is a known operation, and changes only
images this stack owns (SPEC §3). Pure: `apply PATH` and `apply PLANFILE` both call it from app.

A plan file can be edited between review and apply; the planner never makes a step these checks
refuse, so a refusal means a tampered (or corrupted) plan, or a planner bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from reconciler.model.desired import DesiredState, ExistingSource
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.model.plan import (
    IMAGE_MAKING_OPERATIONS,
    STEP_SERVICES,
    JSONValue,
    Plan,
    Step,
    StepRef,
)
from reconciler.planner.fingerprint import touched
from reconciler.planner.make import source_snapshots
from reconciler.planner.ownership import Ownership, is_untagged
from reconciler.planner.resolve import resolve_image

CHANGES_IMAGES = frozenset(
    {
        "DeleteImages",
        "ModifyImageAttribute",
        "ModifyImageSharePermission",
        "ModifyResourceTags",
        "UnTagResources",
        "SyncImages",
    }
)
"""Operations that delete, modify, share, retag, untag or copy the live images they name."""


def describe_step(step: Step) -> str:
    return f"step {step.id} ({step.operation} {step.address} in {step.region})"


def _refs(value: JSONValue) -> Iterator[StepRef]:
    if isinstance(value, StepRef):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _refs(item)


def _is_id(value: JSONValue) -> bool:
    return isinstance(value, str | StepRef)


def _param_problems(step: Step) -> list[str]:
    params = step.params
    problems = []
    if "ImageId" in params and not _is_id(params["ImageId"]):
        problems.append("ImageId must be an image ID")
    ids = params.get("ImageIds", [])
    if not isinstance(ids, list | tuple) or not all(_is_id(i) for i in ids):
        problems.append("ImageIds must be a list of image IDs")
    if step.operation in IMAGE_MAKING_OPERATIONS | {"SyncImages"} and not isinstance(
        params.get("ImageName"), str
    ):
        problems.append("ImageName must be a string")
    if step.operation == "SyncImages":
        regions = params.get("DestinationRegions")
        if not isinstance(regions, list | tuple) or not all(isinstance(r, str) for r in regions):
            problems.append("DestinationRegions must be a list of regions")
    if step.operation == "DeleteSnapshots":
        snapshots = params.get("SnapshotIds")
        if not isinstance(snapshots, list | tuple) or not all(
            isinstance(s, str) for s in snapshots
        ):
            problems.append("SnapshotIds must be a list of snapshot IDs")
    return problems


def step_problems(steps: Iterable[Step]) -> list[str]:
    """Steps apply can't run as they are: unknown operation, wrong service, bad references."""
    problems: list[str] = []
    earlier: set[str] = set()
    known = ", ".join(sorted(STEP_SERVICES))
    for step in steps:
        where = describe_step(step)
        service = STEP_SERVICES.get(step.operation)
        if service is None:
            problems.append(f"{where}: unknown operation {step.operation!r} (known: {known})")
        elif step.service != service:
            problems.append(
                f"{where}: service {step.service!r}, but {step.operation} is a {service} operation"
            )
        if step.id in earlier:
            problems.append(f"{where}: the step id {step.id} is used twice")
        unknown = [d for d in step.depends_on if d not in earlier]
        unknown += [r.step for r in _refs(step.params) if r.step not in earlier]
        if unknown:
            problems.append(
                f"{where}: refers to {', '.join(sorted(set(unknown)))}, not an earlier step"
            )
        problems += [f"{where}: {p}" for p in _param_problems(step)]
        earlier.add(step.id)
    return problems


def unfingerprinted(plan: Plan) -> list[str]:
    """Steps that touch an image ID or name the plan's fingerprint doesn't cover (never checked
    for staleness, so never reviewed as they are now)."""
    problems = []
    for step in plan.steps:
        missing = [key for key in touched([step]) if key not in plan.fingerprint]
        if missing:
            problems.append(
                f"{describe_step(step)}: touches {', '.join(missing)}, "
                "which the plan's fingerprint does not cover"
            )
    return problems


@dataclass(frozen=True, slots=True)
class Offence:
    """A step that would change something this stack does not own."""

    step: Step
    subject: str
    """`img-…` or `snapshot snap-…`."""
    why: str

    def __str__(self) -> str:
        return f"{describe_step(self.step)}: {self.subject} {self.why}"


def _image_ids(value: JSONValue, steps: Mapping[str, Step], depth: int = 0) -> Iterator[str | None]:
    """The live image ID a parameter value stands for; None for an image the plan makes."""
    if isinstance(value, str):
        yield value
        return
    if not isinstance(value, StepRef):
        return
    producer = steps.get(value.step)
    if producer is None or depth > len(steps):
        yield None  # step_problems refuses an unknown reference
        return
    if producer.operation in IMAGE_MAKING_OPERATIONS or (
        producer.operation == "SyncImages" and value.field.startswith("ImageSet.")
    ):
        yield None
        return
    # Every other step outputs the image it was given (`ImageId`, or the first of `ImageIds`).
    given = producer.params.get("ImageId")
    if given is None:
        given = next(iter(producer.params.get("ImageIds") or ()), None)
    yield from _image_ids(given, steps, depth + 1)


def _targets(step: Step, steps: Mapping[str, Step]) -> list[str]:
    values = [step.params.get("ImageId"), *(step.params.get("ImageIds") or ())]
    return [i for v in values for i in _image_ids(v, steps) if i is not None]


def adoptable_names(desired: DesiredState, observed: ObservedCloud) -> frozenset[tuple[str, str]]:
    """(region, exact name) pairs an untagged image may hold and still be adopted: the names this
    stack's images and copies get, each carrying this stack's generation suffix (SPEC §3)."""
    ownership = Ownership.of(observed, desired.stack.name)
    names: set[tuple[str, str]] = set()
    for image in desired.images:
        existing = isinstance(image.source, ExistingSource)
        for forced in (False,) if existing else (False, True):
            resolved, _ = resolve_image(desired.stack.name, image, ownership, forced=forced)
            if resolved.home_name and not existing:
                names.add((image.region, resolved.home_name))
            if resolved.copy_name:
                names |= {(c.region, resolved.copy_name) for c in desired.copies_of(image.name)}
    return frozenset(names)


def _existing_sources(desired: DesiredState) -> frozenset[tuple[str, str]]:
    return frozenset(
        (image.region, image.source.image_id)
        for image in desired.images
        if isinstance(image.source, ExistingSource)
    )


def _why_not_ours(
    image: ObservedImage | None,
    step: Step,
    stack: str,
    adoptable: frozenset[tuple[str, str]],
    existing: frozenset[tuple[str, str]],
) -> str | None:
    """None when the step may change `image`; else why not."""
    if image is None:
        return "is not in the cloud as observed now"
    if image.region != step.region:
        return f"is in {image.region}, not in {step.region}"
    if image.stack == stack:
        return None
    if not is_untagged(image):
        return f"belongs to stack {image.stack!r} (reconciler:stack tag)"
    if (image.region, image.image_id) in existing:
        return None  # the adoption of a `source.existing` image named in the manifests
    if (image.region, image.name) in adoptable:
        return None  # the exact-name adoption of an interrupted create
    return (
        f"({image.name}) has no reconciler:stack tag of this stack and is neither a "
        "source.existing image of the manifests nor an interrupted create of this stack"
    )


def ownership_offences(plan: Plan, desired: DesiredState, observed: ObservedCloud) -> list[Offence]:
    """Steps that would change an image without this stack's `reconciler:stack` tag (except the
    two adoptions of SPEC §3), or delete a snapshot that is not of an image the plan deletes.

    `observed` is the cloud as seen just before the apply; `desired` the stack's manifests.
    """
    by_id = {image.image_id: image for image in observed.images}
    steps = {step.id: step for step in plan.steps}
    adoptable = adoptable_names(desired, observed)
    existing = _existing_sources(desired)
    kept = frozenset(s for image in desired.images for s in source_snapshots(image))
    offences: list[Offence] = []
    deletable_snapshots: set[str] = set()
    for step in plan.steps:
        if step.operation not in CHANGES_IMAGES:
            continue
        for image_id in _targets(step, steps):
            image = by_id.get(image_id)
            why = _why_not_ours(image, step, plan.stack, adoptable, existing)
            if why is not None:
                offences.append(Offence(step, image_id, why))
            elif image is not None and step.operation == "DeleteImages":
                deletable_snapshots.update(s.snapshot_id for s in image.snapshots)
    for step in plan.steps:
        if step.operation != "DeleteSnapshots":
            continue
        for snapshot in step.params.get("SnapshotIds") or ():
            if snapshot in kept:
                offences.append(
                    Offence(
                        step, f"snapshot {snapshot}", "is a source of an image in the manifests"
                    )
                )
            elif snapshot not in deletable_snapshots:
                offences.append(
                    Offence(
                        step,
                        f"snapshot {snapshot}",
                        "is not a snapshot of an image this plan deletes",
                    )
                )
    return offences
