"""CBS snapshot actions (`cbs` 2017-03-12): DescribeSnapshots and DeleteSnapshots."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from reconciler.cloudsim import images, snapshots
from reconciler.cloudsim.context import Action, CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.filters import Filter, check_filters, page
from reconciler.cloudsim.params import BOOL, FILTERS, INT, STR, STRS, obj

_SNAPSHOT_FILTERS = frozenset(
    {"snapshot-id", "snapshot-name", "snapshot-state", "disk-usage", "zone", "disk-id"}
)


def describe_snapshots(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeSnapshots: the caller's snapshots in the region, by IDs or filters, paged."""
    ids, filters = params.get("SnapshotIds"), params.get("Filters")
    if ids is not None and filters is not None:
        raise ApiError(
            "InvalidParameterCombination", "SnapshotIds and Filters cannot be given together."
        )
    for snapshot_id in ids or []:
        snapshots.check_snapshot_id(snapshot_id)
    checked = check_filters(filters or [], lambda name: name in _SNAPSHOT_FILTERS)
    order = params.get("Order", "DESC")
    field = params.get("OrderField", "CREATE_TIME")
    if order not in {"ASC", "DESC"} or field not in {"CREATE_TIME", "DISK_SIZE"}:
        raise ApiError(
            "InvalidParameterValue", "Order is ASC or DESC; OrderField CREATE_TIME or DISK_SIZE."
        )
    rows = [
        row
        for row in ctx.db.execute(
            "SELECT * FROM snapshots WHERE account=? AND region=?", (ctx.account, ctx.region)
        )
        if (ids is None or row["snapshot_id"] in ids) and _matches(ctx, row, checked)
    ]
    column = "created_at" if field == "CREATE_TIME" else "size"
    rows.sort(key=lambda row: (row[column], row["snapshot_id"]), reverse=order == "DESC")
    return {
        "TotalCount": len(rows),
        "SnapshotSet": [snapshots.render(ctx, row) for row in page(rows, params)],
    }


def _matches(ctx: CallContext, row: sqlite3.Row, filters: list[Filter]) -> bool:
    actual = {
        "snapshot-id": row["snapshot_id"],
        "snapshot-name": row["name"],
        "snapshot-state": snapshots.state(row, ctx.now),
        "disk-usage": row["usage"],
        "zone": row["zone"],
        "disk-id": row["disk_id"],
    }
    return all(actual[name] in values for name, values in filters)


def delete_snapshots(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DeleteSnapshots: remove snapshots; one still backing an image is refused."""
    snapshot_ids = list(dict.fromkeys(params["SnapshotIds"]))
    if not snapshot_ids:
        raise ApiError("MissingParameter", "SnapshotIds must name at least one snapshot.")
    if len(snapshot_ids) > 100:
        raise ApiError("InvalidParameterValue.LimitExceeded", "At most 100 SnapshotIds per call.")
    for snapshot_id in snapshot_ids:
        snapshots.check_snapshot_id(snapshot_id)
        if snapshots.get_owned(ctx, snapshot_id) is None:
            raise ApiError(
                "InvalidSnapshotId.NotFound", f"The snapshot `{snapshot_id}` does not exist."
            )
        bound = snapshots.bound_images(ctx.db, snapshot_id)
        if bound and not params.get("DeleteBindImages"):
            raise ApiError(
                "UnsupportedOperation.SnapshotHasBindedImage",
                f"The snapshot `{snapshot_id}` backs the image {bound[0]['image_id']}; "
                "delete the image first.",
            )
        for image in bound:
            row = images.get_owned(ctx, image["image_id"])
            busy = row["state"] in images.BUSY_STATES
            if busy or images.shared_accounts(ctx.db, row["image_id"]):
                raise ApiError("ResourceBusy", f"The image `{row['image_id']}` is busy or shared.")
    for snapshot_id in snapshot_ids:
        for image in snapshots.bound_images(ctx.db, snapshot_id):
            images.delete(ctx.db, images.get_owned(ctx, image["image_id"]))
        snapshots.delete(ctx.db, snapshot_id)
    return {}


ACTIONS: Mapping[str, Action] = {
    "DescribeSnapshots": Action(
        obj(SnapshotIds=STRS, Filters=FILTERS, Limit=INT, Offset=INT, Order=STR, OrderField=STR),
        describe_snapshots,
    ),
    "DeleteSnapshots": Action(
        obj(("SnapshotIds",), SnapshotIds=STRS, DeleteBindImages=BOOL), delete_snapshots
    ),
}
"""The snapshot actions of the `cbs` service."""
