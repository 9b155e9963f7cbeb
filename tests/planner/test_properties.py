"""Property tests of the planner's invariants over random manifests and random clouds."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from reconciler.model.desired import DesiredState
from reconciler.model.observed import ImageState, ObservedCloud, ObservedImage
from reconciler.model.plan import Action, Plan, Step
from reconciler.planner.ownership import is_untagged

from .builders import cloud, plan
from .cloud_model import apply_plan
from .strategies import desired_states, unowned_images

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _step_image_ids(step: Step) -> set[str]:
    ids = {step.params["ImageId"]} if isinstance(step.params.get("ImageId"), str) else set()
    return ids | {i for i in step.params.get("ImageIds", ()) if isinstance(i, str)}


def _exact_names(desired: DesiredState) -> set[tuple[str, str]]:
    names = {(i.region, str(i.cloud_name)) for i in desired.images}
    return names | {(c.region, desired.image(c.image).copy_name) for c in desired.copies}


def _converged(desired: DesiredState) -> ObservedCloud:
    observed = cloud()
    result = plan(desired, observed)
    return apply_plan(observed, result.steps).observed()


def _describe(result: Plan, observed: ObservedCloud) -> str:
    lines = [
        f"{i.image_id} {i.region} {i.name} {i.address} {i.state} {i.shares}"
        for i in observed.images
    ]
    lines += [f"{c.address} {c.action} {c.reason}" for c in result.changes]
    lines += [
        f"{s.id} {s.operation} {s.address} {s.region} {s.depends_on} {dict(s.params)}"
        for s in result.steps
    ]
    return "\n".join(lines)


def _assert_steps_are_changes(result: Plan) -> None:
    """A plan with steps has a change that is not a no-op (so `has_changes`, the summary and
    `--detailed-exitcode` agree with what apply would do)."""
    if result.steps:
        assert any(c.action is not Action.NOOP for c in result.changes), [
            (s.operation, s.address) for s in result.steps
        ]


def _assert_dag(result: Plan) -> None:
    seen: set[str] = set()
    for step in result.steps:
        assert set(step.depends_on) <= seen, f"{step.id} depends on a later or missing step"
        seen.add(step.id)
    assert len(seen) == len(result.steps)


@SETTINGS
@given(data=st.data(), desired=desired_states())
def test_unowned_images_are_never_touched_except_exact_name_adoption(
    data: st.DataObject, desired: DesiredState
) -> None:
    foreign = data.draw(unowned_images(desired))
    result = plan(desired, cloud(*foreign))
    allowed = _exact_names(desired)
    for step in result.steps:
        for image_id in _step_image_ids(step):
            image = next((i for i in foreign if i.image_id == image_id), None)
            if image is None:
                continue
            assert is_untagged(image), f"{step.operation} touches {image_id} of another stack"
            assert (image.region, image.name) in allowed, f"{step.operation} on {image.name}"
    for image in foreign:
        if not is_untagged(image) and (image.region, image.name) in allowed:
            assert any(image.name in error for error in result.errors)


@SETTINGS
@given(first=desired_states(), second=desired_states(), seed=st.integers(0, 2**16))
def test_any_change_applies_in_any_valid_order_and_then_converges(
    first: DesiredState, second: DesiredState, seed: int
) -> None:
    """Invariants 2-4: a DAG; the API's ordering rules hold in every topological order
    (the model cloud refuses a delete of a shared or busy image, a share of a busy one, ...);
    and planning the result of the apply gives nothing to do."""
    before = _converged(first)
    result = plan(second, before)
    _assert_dag(result)
    _assert_steps_are_changes(result)
    protected = [e for e in result.errors if "protect" in e]
    if result.errors:
        assert protected, result.errors
        return
    note(_describe(result, before))
    model = apply_plan(before, result.steps, random.Random(seed))
    # Snapshots named in a `source.snapshots` are the user's: never deleted (SPEC §4).
    assert not model.deleted_snapshots & {"snap-demo0001", "snap-demo0002"}
    after = model.observed()
    again = plan(second, after)
    assert again.errors == ()
    assert again.steps == ()
    assert {c.action.value for c in again.changes} <= {"no-op"}
    assert again.drift == ()


@SETTINGS
@given(desired=desired_states(), seed=st.integers(0, 2**16), busy=st.data())
def test_interrupted_states_are_waited_for_or_remade(
    desired: DesiredState, seed: int, busy: st.DataObject
) -> None:
    """Images left CREATING/SYNCING or CREATEFAILED by an interrupted apply converge."""
    before = _converged(desired)
    states = [ImageState.NORMAL, ImageState.CREATING, ImageState.SYNCING, ImageState.CREATEFAILED]
    images: list[ObservedImage] = []
    for image in before.images:
        chosen = busy.draw(st.sampled_from(states))
        # A failed image was never shared (sharing needs NORMAL).
        shares = () if chosen is ImageState.CREATEFAILED else image.shares
        images.append(replace(image, state=chosen, shares=shares))
    interrupted = replace(before, images=tuple(images))
    result = plan(desired, interrupted)
    assert result.errors == ()
    _assert_steps_are_changes(result)
    after = apply_plan(interrupted, result.steps, random.Random(seed)).observed()
    again = plan(desired, after)
    assert again.steps == ()
    assert all(i.state is ImageState.NORMAL for i in after.images)


@SETTINGS
@given(data=st.data(), desired=desired_states(), other=desired_states())
def test_planning_is_deterministic(
    data: st.DataObject, desired: DesiredState, other: DesiredState
) -> None:
    observed = _converged(other)
    observed = replace(observed, images=observed.images + tuple(data.draw(unowned_images(desired))))
    shuffled = list(observed.images)
    random.Random(data.draw(st.integers(0, 99))).shuffle(shuffled)
    first = plan(desired, observed)
    assert plan(desired, observed) == first
    assert plan(desired, replace(observed, images=tuple(shuffled))) == first


@SETTINGS
@given(first=desired_states(), second=desired_states(), cut=st.integers(0, 200))
def test_an_apply_stopped_after_any_step_plans_only_changes_it_shows(
    first: DesiredState, second: DesiredState, cut: int
) -> None:
    """After an apply stopped part-way (e.g. a failed final tag step), every step of the next
    plan belongs to a change that is not a no-op, and that plan converges."""
    before = _converged(first)
    steps = plan(second, before).steps
    if not steps:
        return
    stopped = apply_plan(before, steps[: cut % len(steps)]).observed()
    result = plan(second, stopped)
    if result.errors:
        return
    _assert_steps_are_changes(result)
    after = apply_plan(stopped, result.steps).observed()
    again = plan(second, after)
    assert again.steps == ()
    assert again.drift == ()
