"""`apply PLANFILE`: applies exactly the saved plan; refuses a stale or expired one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler import app
from reconciler.errors import StalePlanError
from reconciler.model.observed import TAG_ADDRESS

from .cloud import OWN_ACCOUNT, CloudProbe
from .pipeline import converge, edit, make_plan
from .runner import run_cli


@pytest.fixture
def planned_update(quickstart: Path, runtime: app.Runtime, cloud_db: Path) -> Path:
    """quickstart applied, then a description edit saved as a plan file."""
    converge(quickstart, runtime)
    edit(quickstart / "web-base.yaml", "description: Nginx + app runtime", "description: v2")
    planfile = quickstart.parent / "plan.json"
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--out", str(planfile))
    assert result.exit_code == 0, result.stderr
    return planfile


def test_stale_plan_is_refused_naming_the_change(
    planned_update: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    home = next(i for i in probe.owned("quickstart") if i.tags[TAG_ADDRESS] == "image.web-base")
    resource = f"qcs::cvm:ap-guangzhou:uin/{OWN_ACCOUNT}:image/{home.image_id}"
    probe.call(
        "ModifyResourceTags",
        "ap-guangzhou",
        {"Resource": resource, "ReplaceTags": [{"TagKey": "owner", "TagValue": "someone"}]},
        service="tag",
    )
    result = run_cli(
        "apply", str(planned_update), "--stack-dir", str(quickstart), "--db", str(cloud_db)
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: the plan is stale:",
        f"  image.web-base ({home.image_id}, ap-guangzhou): tag owner changed",
        "Make a new plan.",
    ]
    assert "Traceback" not in result.stderr
    assert {i.tags["owner"] for i in probe.owned("quickstart")} == {"someone", "web-team"}
    assert {i.description for i in probe.owned("quickstart")} == {"Nginx + app runtime"}


def test_unrelated_change_does_not_block_the_plan(
    planned_update: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    probe.call(
        "CreateImage", "ap-singapore", {"InstanceId": "ins-demo0003", "ImageName": "unrelated"}
    )
    result = run_cli(
        "apply", str(planned_update), "--stack-dir", str(quickstart), "--db", str(cloud_db)
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert {i.description for i in probe.owned("quickstart")} == {"v2"}
    assert any(i.name == "unrelated" for i in probe.images("ap-singapore"))


def test_expired_plan_is_refused(quickstart: Path, runtime: app.Runtime) -> None:
    plan = make_plan(quickstart, runtime)
    later = datetime.now(UTC) + timedelta(hours=25)
    with pytest.raises(StalePlanError, match="expired"):
        app.apply_planfile(plan, quickstart, runtime=runtime, now=later)


def test_plan_for_another_stack_is_refused(
    planned_update: Path, tmp_path: Path, cloud_db: Path
) -> None:
    data = json.loads(planned_update.read_text())
    data["stack"] = "someone-else"
    planned_update.write_text(json.dumps(data))
    result = run_cli(
        "apply", str(planned_update), "--stack-dir", str(tmp_path / "quickstart"),
        "--db", str(cloud_db),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "someone-else" in result.stderr


def test_plan_options_are_refused_with_a_plan_file(planned_update: Path, cloud_db: Path) -> None:
    result = run_cli("apply", str(planned_update), "--destroy", "--db", str(cloud_db))
    assert result.exit_code == 1
    assert "belong to the plan" in result.stderr
