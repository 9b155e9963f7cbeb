"""A disruptive update (unshare → modify → re-share) that stops after its modify leaves no false
drift: the next plan finishes it as this stack's own change (SPEC §3 drift vs change)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.engine.hooks import NullHook
from reconciler.engine.result import StepOutcome, StepStatus
from reconciler.engine.settings import ExecutorSettings
from reconciler.model.plan import Action, Step

from .pipeline import converge, edit, make_plan, text


class FailReshares(NullHook):
    """Once an image's modify is done, its re-share fails (a permission lost mid-apply)."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        if step.operation == "ModifyImageAttribute":
            sim = CloudSim(self.db)
            try:
                sim.set_fault("ModifyImageSharePermission", "UnauthorizedOperation", count=1)
            finally:
                sim.close()


def test_a_failed_reshare_is_finished_without_drift(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    converge(quickstart, runtime)
    edit(quickstart / "web-base.yaml", "description: Nginx + app runtime", "description: Nginx 2")
    one_at_a_time = dataclasses.replace(runtime, settings=ExecutorSettings(parallelism=1))
    result = app.apply_plan(
        make_plan(quickstart, runtime),
        quickstart,
        runtime=one_at_a_time,
        hook=FailReshares(cloud_db),
    )
    failed = [o for o in result.outcomes if o.status is StepStatus.FAILED]
    assert failed
    assert {o.operation for o in failed} == {"ModifyImageSharePermission"}
    after = make_plan(quickstart, runtime)
    assert after.drift == (), text(after)
    assert not any("outside" in c.reason for c in after.changes), text(after)
    assert {c.action for c in after.changes if c.address.startswith("share.")} == {Action.SHARE}
    converge(quickstart, runtime)
