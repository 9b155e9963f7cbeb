"""Persistence: state survives reopening, schema versions are checked, and a process killed
mid-burst (SIGKILL) leaves a database that opens and answers consistently."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reconciler.cloudsim import CloudSim, ManualClock
from reconciler.cloudsim.store import SchemaVersionError

ARGS = {"account": "100000000001", "service": "cvm", "version": "2017-03-12"}


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cloud.db"
    clock = ManualClock()
    sim = CloudSim(path, clock=clock)
    image_id = sim.handle(
        **ARGS,
        action="CreateImage",
        region="ap-guangzhou",
        params={"InstanceId": "ins-demo0001", "ImageName": "kept"},
    )["Response"]["ImageId"]
    sim.set_fault("DescribeImages", "InternalError", count=5)
    sim.close()
    clock.advance(10)
    again = CloudSim(path, clock=clock)
    images = again.images()
    assert [(i["ImageId"], i["ImageState"]) for i in images] == [(image_id, "NORMAL")]
    assert again.faults().faults[0].remaining == 5
    again.reset()
    assert again.images() == []
    assert again.faults().faults == ()
    again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    CloudSim(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaVersionError, match="newer"):
        CloudSim(path)


_BURST = textwrap.dedent(
    """
    import sys
    from reconciler.cloudsim import CloudSim
    sim = CloudSim(sys.argv[1])
    sim.update_settings(create_image_seconds=0, sync_image_seconds=0)
    def call(action, params, region="ap-guangzhou"):
        return sim.handle(account="100000000001", service="cvm", version="2017-03-12",
                          action=action, region=region, params=params)["Response"]
    n = 0
    while True:
        image = call("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": f"b{n}",
                                     "DataDiskIds": ["disk-demo0101"]})["ImageId"]
        call("SyncImages", {"ImageIds": [image], "DestinationRegions": ["ap-shanghai"]})
        call("ModifyImageSharePermission", {"ImageId": image, "AccountIds": ["100000000002"],
                                            "Permission": "SHARE"})
        if n % 2:
            call("ModifyImageSharePermission", {"ImageId": image, "AccountIds": ["100000000002"],
                                                "Permission": "CANCEL"})
            call("DeleteImages", {"ImageIds": [image], "DeleteBindedSnap": True})
        n += 1
        print(n, flush=True)
    """
)


def test_sigkill_mid_burst_leaves_a_consistent_database(tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    process = subprocess.Popen(
        [sys.executable, "-c", _BURST, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if int(line) >= 15:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        no_snapshots = db.execute(
            "SELECT image_id FROM images WHERE kind='PRIVATE_IMAGE' AND image_id NOT IN "
            "(SELECT image_id FROM image_snapshots)"
        ).fetchall()
        assert no_snapshots == []
        dangling = db.execute(
            "SELECT snapshot_id FROM image_snapshots WHERE snapshot_id NOT IN "
            "(SELECT snapshot_id FROM snapshots)"
        ).fetchall()
        assert dangling == []
        shares_of_missing = db.execute(
            "SELECT image_id FROM image_shares WHERE image_id NOT IN (SELECT image_id FROM images)"
        ).fetchall()
        assert shares_of_missing == []
    sim = CloudSim(path)
    own = sim.images("ap-guangzhou")
    assert len(own) >= 7
    quota = sim.handle(**ARGS, action="DescribeImageQuota", region="ap-guangzhou", params={})
    assert quota["Response"]["ImageNumQuota"] >= len(own)
    created = sim.handle(
        **ARGS,
        action="CreateImage",
        region="ap-guangzhou",
        params={"InstanceId": "ins-demo0001", "ImageName": "after-crash"},
    )["Response"]
    assert "ImageId" in created
    sim.close()
