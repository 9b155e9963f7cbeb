"""Moving the home region into a former copy region (and back) is create-before-destroy: the old
generation's copies in regions no longer declared go with the old home, after the new images."""

from __future__ import annotations

from pathlib import Path

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.engine.result import StepStatus
from reconciler.model.observed import TAG_ADDRESS
from reconciler.model.plan import Plan, Step

from .cloud import CloudProbe
from .pipeline import converge, edit, make_plan, text

PARTNER = "100000000002"


def _ancestors(plan: Plan, step: Step) -> set[str]:
    by_id = {s.id: s for s in plan.steps}
    seen: set[str] = set()
    todo = list(step.depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += by_id[current].depends_on
    return seen


def _move_to_shanghai(stack: Path) -> None:
    manifest = stack / "web-base.yaml"
    edit(manifest, "region: ap-guangzhou", "region: ap-shanghai")
    edit(manifest, "id: ins-demo0001", "id: ins-demo0002")
    edit(manifest, "regions: [ap-shanghai]", "regions: [ap-guangzhou, ap-singapore]")


def _move_back(stack: Path) -> None:
    manifest = stack / "web-base.yaml"
    edit(manifest, "region: ap-shanghai", "region: ap-guangzhou")
    edit(manifest, "id: ins-demo0002", "id: ins-demo0001")
    edit(manifest, "regions: [ap-guangzhou, ap-singapore]", "regions: [ap-shanghai]")


def test_old_copies_in_removed_regions_are_deposed_after_the_new_home(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path, probe: CloudProbe
) -> None:
    edit(
        quickstart / "web-base.yaml",
        "regions: [ap-shanghai, ap-singapore]",
        "regions: [ap-shanghai]",
    )
    converge(quickstart, runtime)
    _move_to_shanghai(quickstart)
    plan = make_plan(quickstart, runtime)
    create = next(s for s in plan.steps if s.operation == "CreateImage")
    for delete in (s for s in plan.steps if s.operation == "DeleteImages"):
        assert create.id in _ancestors(plan, delete), text(plan)
    converge(quickstart, runtime)

    old_copy = next(
        i for i in probe.owned("quickstart") if i.tags[TAG_ADDRESS] == "image.web-base@ap-guangzhou"
    )
    _move_back(quickstart)
    sim = CloudSim(cloud_db)
    sim.set_fault("CreateImage", "InvalidParameterValue", count=1)
    sim.close()
    result = app.apply_plan(make_plan(quickstart, runtime), quickstart, runtime=runtime)
    assert not result.ok
    status = {o.step_id: o for o in result.outcomes}
    assert [o.operation for o in status.values() if o.status is StepStatus.FAILED] == [
        "CreateImage"
    ]
    assert not [
        o for o in status.values() if o.status is StepStatus.DONE and o.operation == "DeleteImages"
    ]
    # The old copy in ap-guangzhou is still there, and still shared.
    kept = {i.image_id: i for i in probe.images("ap-guangzhou")}
    assert old_copy.image_id in kept
    assert kept[old_copy.image_id].shares == (PARTNER,)
    converge(quickstart, runtime)
    assert old_copy.image_id not in {i.image_id for i in probe.images("ap-guangzhou")}
