"""The quota check end to end: a plan over DescribeImageQuota fails before any change."""

from __future__ import annotations

from pathlib import Path

from reconciler.cloudsim import CloudSim

from .cloud import CloudProbe
from .runner import run_cli


def test_a_plan_over_the_quota_fails_and_apply_changes_nothing(
    quickstart: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    sim = CloudSim(cloud_db)
    try:
        sim.update_settings(image_quota=0)
    finally:
        sim.close()
    planned = run_cli("plan", str(quickstart), "--db", str(cloud_db))
    assert planned.exit_code == 1
    assert "quota: ap-guangzhou would hold 1 custom images" in planned.stdout
    assert "DescribeImageQuota allows 0" in planned.stdout
    applied = run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    assert applied.exit_code == 1
    assert probe.images("ap-guangzhou") == []
    assert probe.images("ap-shanghai") == []
