"""Shared scenario helpers: a desired state applied to a fresh model cloud, then edited."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.desired import DesiredState
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.model.plan import Plan

from .builders import cloud, plan
from .cloud_model import apply_plan


def converge(
    desired: DesiredState, observed: ObservedCloud | None = None, **options: object
) -> ObservedCloud:
    """Plan and apply (on the model cloud) until nothing is left to do; at most 3 rounds."""
    current = observed if observed is not None else cloud()
    for _ in range(3):
        result = plan(desired, current, **options)
        assert not result.errors, result.errors
        if not result.steps:
            return current
        current = apply_plan(current, result.steps).observed()
    raise AssertionError("the plan did not converge in 3 applies")


def image_at(observed: ObservedCloud, address: str) -> ObservedImage:
    (found,) = [i for i in observed.images if i.address == address]
    return found


def edit(observed: ObservedCloud, address: str, **changes: object) -> ObservedCloud:
    """Change one owned image outside the stack."""
    target = image_at(observed, address)
    images = tuple(replace(i, **changes) if i is target else i for i in observed.images)  # type: ignore[arg-type]
    return replace(observed, images=images)


def without(observed: ObservedCloud, address: str) -> ObservedCloud:
    target = image_at(observed, address)
    return replace(observed, images=tuple(i for i in observed.images if i is not target))


def actions(result: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in result.changes if c.action.value != "no-op"}


def operations(result: Plan) -> list[tuple[str, str]]:
    return [(s.operation, s.address) for s in result.steps]
