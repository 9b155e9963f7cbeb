"""An apply stopped after any step converges on the next plan + apply (SPEC §7)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.engine.hooks import NullHook
from reconciler.engine.result import StepOutcome
from reconciler.engine.settings import ExecutorSettings
from reconciler.model.observed import TAG_ADDRESS
from reconciler.model.plan import Plan, Step

from .cloud import CloudProbe, zero_timings
from .conftest import copy_example
from .pipeline import converge, edit, make_plan, text, with_runtime

PARTNER = "100000000002"
REGIONS = ("ap-guangzhou", "ap-shanghai", "ap-singapore")


class StopAfter(NullHook):
    """Sets the stop event (as Ctrl-C does) once `count` steps have finished."""

    def __init__(self, stop: threading.Event, count: int) -> None:
        self.stop = stop
        self.count = count
        self.finished = 0

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        self.finished += 1
        if self.finished >= self.count:
            self.stop.set()


def _snapshot(probe: CloudProbe) -> tuple[set[str], set[str]]:
    images = {i.image_id for i in probe.all_images(REGIONS)}
    snapshots = {s for region in REGIONS for s in probe.snapshot_ids(region)}
    return images, snapshots


def _scenario(
    name: str, tmp_path: Path, runtime: app.Runtime
) -> tuple[Path, app.Runtime, Plan, tuple[set[str], set[str]]]:
    """The stack, runtime and plan of a scenario, and the fresh cloud's images and snapshots.

    `slow-sync`: a create whose copies take 30 s (SYNCING while the apply goes on).
    """
    db = tmp_path / "cloud.db"
    zero_timings(db)
    if name == "slow-sync":
        sim = CloudSim(db)
        try:
            sim.update_settings(sync_image_seconds=30, create_image_seconds=3)
        finally:
            sim.close()
    fresh = _snapshot(CloudProbe(db))
    stack = copy_example("quickstart", tmp_path)
    run = with_runtime(
        runtime, db=str(db), settings=ExecutorSettings(parallelism=1, poll_interval=1.0)
    )
    if name == "replace":
        converge(stack, run)
        edit(stack / "web-base.yaml", "id: ins-demo0001", "id: ins-demo0004")
    return stack, run, make_plan(stack, run), fresh


def _check_converged(probe: CloudProbe, before: tuple[set[str], set[str]]) -> None:
    owned = probe.owned("quickstart")
    addresses = [i.tags[TAG_ADDRESS] for i in owned]
    assert sorted(addresses) == sorted(set(addresses)), "duplicate image for an address"
    assert len(owned) == 3
    assert all(i.shares == (PARTNER,) and i.state == "NORMAL" for i in owned), "lost share"
    images, snapshots = _snapshot(probe)
    owned_ids = {i.image_id for i in owned}
    assert images - owned_ids <= before[0], "leaked image"
    live_snapshots = {s for i in probe.all_images(REGIONS) for s in i.snapshots}
    assert snapshots <= before[1] | live_snapshots, "leaked snapshot"
    for region in REGIONS:
        names = [i.name for i in probe.images(region)]
        assert len(names) == len(set(names)), f"duplicate name in {region}"


@pytest.mark.parametrize("scenario", ["create", "replace", "slow-sync"])
def test_stop_after_each_step_then_converge(
    scenario: str, tmp_path: Path, runtime: app.Runtime
) -> None:
    _, _, reference, _ = _scenario(scenario, tmp_path / "reference", runtime)
    total = len(reference.steps)
    assert total > 3
    for count in range(1, total):
        stack, run, plan, before = _scenario(scenario, tmp_path / f"stop-{count}", runtime)
        assert run.db is not None
        probe = CloudProbe(Path(run.db))
        stop = threading.Event()
        result = app.apply_plan(plan, stack, runtime=run, hook=StopAfter(stop, count), stop=stop)
        assert result.interrupted, f"stop after {count} of {total} steps"
        assert any(o.status.value == "not-run" for o in result.outcomes)
        # The stack's own unfinished apply is a change to complete, never drift.
        refresh = make_plan(stack, run, refresh_only=True)
        assert refresh.drift == (), f"stop after {count}: {text(refresh)}"
        assert make_plan(stack, run).drift == ()
        converge(stack, run)
        _check_converged(probe, before)
