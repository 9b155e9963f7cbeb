"""The snapshot model: CBS snapshots of disks, which back every custom image."""

from __future__ import annotations

import sqlite3
from typing import Any

from reconciler.cloudsim.context import CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.ids import is_snapshot_id, new_id
from reconciler.cloudsim.images import iso_time


def create(
    ctx: CallContext,
    *,
    region: str,
    zone: str,
    disk_id: str,
    usage: str,
    size: int,
    name: str,
    ready_at: float,
) -> str:
    """Store a new snapshot (CREATING until `ready_at`, then NORMAL); returns its ID."""
    while True:
        snapshot_id = new_id("snap", ctx.rng)
        taken = ctx.db.execute("SELECT 1 FROM snapshots WHERE snapshot_id=?", (snapshot_id,))
        if taken.fetchone() is None:
            break
    ctx.db.execute(
        "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (snapshot_id, ctx.account, region, zone, disk_id, usage, size, name, ctx.now, ready_at),
    )
    return snapshot_id


def check_snapshot_id(snapshot_id: str) -> None:
    """Raise `InvalidSnapshotId.Malformed` unless the ID looks like `snap-` + 8 of [0-9a-z]."""
    if not is_snapshot_id(snapshot_id):
        raise ApiError(
            "InvalidSnapshotId.Malformed", f"The snapshot ID `{snapshot_id}` is malformed."
        )


def get_owned(ctx: CallContext, snapshot_id: str) -> sqlite3.Row | None:
    """The caller's snapshot in the region, or None."""
    row: sqlite3.Row | None = ctx.db.execute(
        "SELECT * FROM snapshots WHERE snapshot_id=? AND account=? AND region=?",
        (snapshot_id, ctx.account, ctx.region),
    ).fetchone()
    return row


def state(row: sqlite3.Row, now: float) -> str:
    """NORMAL once created, CREATING before."""
    return "NORMAL" if now >= row["ready_at"] else "CREATING"


def percent(row: sqlite3.Row, now: float) -> int:
    """Creation progress in percent."""
    span = row["ready_at"] - row["created_at"]
    if span <= 0 or now >= row["ready_at"]:
        return 100
    return max(0, min(99, int((now - row["created_at"]) / span * 100)))


def bound_images(db: sqlite3.Connection, snapshot_id: str) -> list[sqlite3.Row]:
    """The images a snapshot backs."""
    return list(
        db.execute(
            "SELECT i.image_id, i.name FROM image_snapshots b JOIN images i "
            "ON i.image_id = b.image_id WHERE b.snapshot_id=? ORDER BY i.image_id",
            (snapshot_id,),
        )
    )


def delete(db: sqlite3.Connection, snapshot_id: str) -> None:
    """Remove a snapshot and its tags."""
    db.execute("DELETE FROM snapshots WHERE snapshot_id=?", (snapshot_id,))
    db.execute(
        "DELETE FROM tags WHERE service='cbs' AND prefix='snap' AND resource_id=?", (snapshot_id,)
    )


def render(ctx: CallContext, row: sqlite3.Row) -> dict[str, Any]:
    """The CBS `Snapshot` object."""
    images = bound_images(ctx.db, row["snapshot_id"])
    created = iso_time(row["created_at"]).replace("T", " ")[:19]
    return {
        "Placement": {
            "CageId": "",
            "Zone": row["zone"],
            "ProjectId": 0,
            "CdcName": "",
            "CdcId": "",
            "ProjectName": "",
            "DedicatedClusterId": "",
        },
        "CopyFromRemote": False,
        "SnapshotState": state(row, ctx.now),
        "IsPermanent": True,
        "SnapshotName": row["name"],
        "DeadlineTime": created,
        "Percent": percent(row, ctx.now),
        "Images": [{"ImageId": i["image_id"], "ImageName": i["name"]} for i in images],
        "ShareReference": 0,
        "SnapshotType": "PRIVATE_SNAPSHOT",
        "DiskSize": row["size"],
        "DiskId": row["disk_id"],
        "CopyingToRegions": [],
        "Encrypt": False,
        "CreateTime": created,
        "ImageCount": len(images),
        "DiskUsage": row["usage"],
        "SnapshotId": row["snapshot_id"],
        "TimeStartShare": created[:10],
        "Tags": [],
    }
