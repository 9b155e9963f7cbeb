"""`--target` of a share in a removed copy region cancels that share and nothing else (SPEC §4:
a target brings what it depends on; an unshare depends on nothing)."""

from __future__ import annotations

from pathlib import Path

from reconciler import app

from .cloud import CloudProbe
from .pipeline import actions, apply, converge, edit, make_plan

PARTNER = "100000000002"
TARGET = f"share.web-base@ap-singapore:{PARTNER}"


def test_a_targeted_unshare_keeps_the_removed_copy(
    quickstart: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    converge(quickstart, runtime)
    edit(
        quickstart / "web-base.yaml",
        "regions: [ap-shanghai, ap-singapore]",
        "regions: [ap-shanghai]",
    )
    plan = make_plan(quickstart, runtime, targets=(TARGET,))
    assert actions(plan) == {TARGET: "unshare"}
    assert [(s.operation, s.params["Permission"]) for s in plan.steps] == [
        ("ModifyImageSharePermission", "CANCEL")
    ]
    apply(quickstart, runtime, plan)
    (copy,) = probe.images("ap-singapore")
    assert copy.managed
    assert copy.shares == ()
    # The rest follows without --target: the copy is deleted.
    after = make_plan(quickstart, runtime)
    assert actions(after) == {"image.web-base@ap-singapore": "delete"}
    converge(quickstart, runtime)
    assert probe.images("ap-singapore") == []
