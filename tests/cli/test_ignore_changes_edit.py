"""Adding a path to `lifecycle.ignoreChanges` with nothing else changed: the images' records are
written again under its reason (not as an interrupted apply), then the path is ignored."""

from __future__ import annotations

from pathlib import Path

from reconciler import app
from reconciler.model.plan import Action

from .cloud import OWN_ACCOUNT, CloudProbe
from .pipeline import converge, edit, make_plan, text

REASON = "lifecycle.ignoreChanges changed: record what is applied"


def test_an_added_ignore_path_is_recorded_under_its_own_reason(
    quickstart: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    converge(quickstart, runtime)
    edit(
        quickstart / "web-base.yaml",
        "  source:",
        "  lifecycle: {ignoreChanges: [tags.owner]}\n  source:",
    )
    plan = make_plan(quickstart, runtime)
    updates = [c for c in plan.changes if c.action is not Action.NOOP]
    assert len(updates) == 3, text(plan)
    assert {c.reason for c in updates} == {REASON}
    assert plan.drift == ()
    converge(quickstart, runtime)
    home = next(i for i in probe.owned("quickstart") if i.region == "ap-guangzhou")
    probe.call(
        "ModifyResourceTags",
        "ap-guangzhou",
        {
            "Resource": f"qcs::cvm:ap-guangzhou:uin/{OWN_ACCOUNT}:image/{home.image_id}",
            "ReplaceTags": [{"TagKey": "owner", "TagValue": "someone"}],
        },
        service="tag",
    )
    after = make_plan(quickstart, runtime)
    assert not after.has_changes, text(after)
    assert after.drift == (), text(after)
