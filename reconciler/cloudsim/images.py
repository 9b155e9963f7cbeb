"""The image model: rows, lazily moving states, visibility per account, the API's `Image` shape."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.cloudsim import tagstore
from reconciler.cloudsim.context import CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.ids import is_image_id, new_id

BUSY_STATES = ("CREATING", "SYNCING", "IMPORTING")
MAX_NAME = 60
MAX_DESCRIPTION = 256
_FAMILY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")


@dataclass(frozen=True, slots=True)
class NewImage:
    """The attributes of a custom image being created (CreateImage, ImportImage, SyncImages, and
    `add_image` of the administration); `insert` makes it the caller's, started now."""

    region: str
    name: str
    description: str
    source: str
    platform: str
    os_name: str
    architecture: str
    size: int
    state: str
    outcome: str
    ready_at: float
    license_type: str = "TencentCloud"
    boot_mode: str = "Legacy BIOS"
    family: str = ""
    deprecated: bool = False
    creator: str = ""
    cloudinit: bool = True
    copied_from: str = ""


def settle(db: sqlite3.Connection, now: float) -> None:
    """Move every busy image whose time has come to its outcome (states are computed lazily)."""
    db.execute(
        "UPDATE images SET state = outcome WHERE state IN (?, ?, ?) AND ready_at <= ?",
        (*BUSY_STATES, now),
    )


def insert(ctx: CallContext, image: NewImage, snapshot_ids: Sequence[str]) -> str:
    """Store a new custom image (PRIVATE_IMAGE) of the caller, started now, bound to its
    snapshots; returns its fresh ID."""
    image_id = fresh_image_id(ctx)
    db = ctx.db
    db.execute(
        "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?)",
        (
            image_id,
            ctx.account,
            image.region,
            "PRIVATE_IMAGE",
            image.name,
            image.description,
            image.source,
            image.platform,
            image.os_name,
            image.architecture,
            image.size,
            image.state,
            image.outcome,
            ctx.now,
            image.ready_at,
            ctx.now,
            image.license_type,
            image.boot_mode,
            image.family,
            int(image.deprecated),
            image.creator or ctx.account,
            int(image.cloudinit),
            image.copied_from,
        ),
    )
    for position, snapshot_id in enumerate(snapshot_ids):
        db.execute(
            "INSERT INTO image_snapshots VALUES (?, ?, ?)", (image_id, snapshot_id, position)
        )
    return image_id


def fresh_image_id(ctx: CallContext) -> str:
    """An image ID not used by any image yet."""
    while True:
        candidate = new_id("img", ctx.rng)
        if ctx.db.execute("SELECT 1 FROM images WHERE image_id=?", (candidate,)).fetchone() is None:
            return candidate


def check_image_id(image_id: str) -> None:
    """Raise `InvalidImageId.Malformed` unless the ID looks like `img-` + 8 of [0-9a-z]."""
    if not is_image_id(image_id):
        raise ApiError(
            "InvalidImageId.Malformed", f"The image ID `{image_id}` is malformed (img-xxxxxxxx)."
        )


def visible(ctx: CallContext) -> list[sqlite3.Row]:
    """Every image the caller sees in the region: public, its own, and shared to it."""
    return list(
        ctx.db.execute(
            "SELECT * FROM images WHERE region=? AND (kind='PUBLIC_IMAGE' OR owner=? "
            "OR image_id IN (SELECT image_id FROM image_shares WHERE account=?)) "
            "ORDER BY created_at DESC, image_id",
            (ctx.region, ctx.account, ctx.account),
        )
    )


def get_visible(ctx: CallContext, image_id: str) -> sqlite3.Row:
    """A well-formed image ID the caller can see in the region, or `InvalidImageId.NotFound`."""
    check_image_id(image_id)
    row = ctx.db.execute(
        "SELECT * FROM images WHERE image_id=? AND region=? AND (kind='PUBLIC_IMAGE' OR owner=? "
        "OR image_id IN (SELECT image_id FROM image_shares WHERE account=?))",
        (image_id, ctx.region, ctx.account, ctx.account),
    ).fetchone()
    if row is None:
        raise not_found(image_id)
    return row  # type: ignore[no-any-return]


def get_owned(ctx: CallContext, image_id: str) -> sqlite3.Row:
    """The caller's own custom image; a visible image of another owner is refused as not its own."""
    row = get_visible(ctx, image_id)
    if row["owner"] != ctx.account:
        raise ApiError(
            "UnauthorizedOperation.ImageNotBelongToAccount",
            f"The image `{image_id}` does not belong to this account.",
        )
    return row


def not_found(image_id: str) -> ApiError:
    """The error for a well-formed image ID that does not exist for the caller."""
    return ApiError("InvalidImageId.NotFound", f"The image `{image_id}` does not exist.")


def image_type(row: sqlite3.Row, account: str) -> str:
    """PUBLIC_IMAGE, PRIVATE_IMAGE (the caller's own) or SHARED_IMAGE (shared to the caller)."""
    if row["kind"] == "PUBLIC_IMAGE":
        return "PUBLIC_IMAGE"
    return "PRIVATE_IMAGE" if row["owner"] == account else "SHARED_IMAGE"


def shared_accounts(db: sqlite3.Connection, image_id: str) -> list[sqlite3.Row]:
    """The accounts an image is shared with, oldest share first."""
    return list(
        db.execute(
            "SELECT account, created_at FROM image_shares WHERE image_id=? "
            "ORDER BY created_at, account",
            (image_id,),
        )
    )


def snapshot_set(db: sqlite3.Connection, image_id: str) -> list[dict[str, Any]]:
    """The image's SnapshotSet: `{SnapshotId, DiskUsage, DiskSize}` in disk order."""
    rows = db.execute(
        "SELECT s.snapshot_id, s.usage, s.size FROM image_snapshots b "
        "JOIN snapshots s ON s.snapshot_id = b.snapshot_id WHERE b.image_id=? ORDER BY b.position",
        (image_id,),
    )
    return [{"SnapshotId": r[0], "DiskUsage": r[1], "DiskSize": r[2]} for r in rows]


def sync_percent(row: sqlite3.Row, now: float) -> int:
    """Copy progress: rising while SYNCING, 100 once usable, 0 before."""
    if row["state"] == "SYNCING":
        span = row["ready_at"] - row["started_at"]
        done = 1.0 if span <= 0 else (now - row["started_at"]) / span
        return max(0, min(99, int(done * 100)))
    return 100 if row["state"] == "NORMAL" else 0


def render(ctx: CallContext, row: sqlite3.Row) -> dict[str, Any]:
    """The API's `Image` object as the caller sees it (tags only on its own images)."""
    kind = image_type(row, ctx.account)
    tags = (
        tagstore.tags_of(ctx.db, tagstore.image_key(row["owner"], row["region"], row["image_id"]))
        if kind == "PRIVATE_IMAGE"
        else []
    )
    return {
        "ImageId": row["image_id"],
        "OsName": row["os_name"],
        "ImageType": kind,
        "CreatedTime": iso_time(row["created_at"]),
        "ImageName": row["name"],
        "ImageDescription": row["description"],
        "ImageSize": row["size"],
        "Architecture": row["architecture"],
        "ImageState": row["state"],
        "Platform": row["platform"],
        "ImageCreator": row["creator"],
        "ImageSource": row["source"],
        "SyncPercent": sync_percent(row, ctx.now),
        "IsSupportCloudinit": bool(row["cloudinit"]),
        "SnapshotSet": snapshot_set(ctx.db, row["image_id"]),
        "Tags": [{"Key": key, "Value": value} for key, value in tags],
        "LicenseType": row["license_type"],
        "ImageFamily": row["family"],
        "ImageDeprecated": bool(row["deprecated"]),
    }


def iso_time(epoch: float) -> str:
    """A timestamp as the image API writes it, e.g. `2020-09-22T00:00:00+00:00`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def check_name(
    ctx: CallContext, name: str, *, region: str | None = None, exclude: str = ""
) -> None:
    """A new image name: 1-60 characters and unique among the caller's images in the region."""
    if not name.strip():
        raise ApiError("InvalidParameterValue", "The image name must not be empty.")
    if len(name) > MAX_NAME:
        raise ApiError(
            "InvalidParameterValue.TooLarge",
            f"The image name is {len(name)} characters long; at most {MAX_NAME} are allowed.",
        )
    clash = ctx.db.execute(
        "SELECT image_id FROM images WHERE owner=? AND region=? AND name=? AND image_id<>?",
        (ctx.account, region or ctx.region, name, exclude),
    ).fetchone()
    if clash is not None:
        raise ApiError(
            "InvalidImageName.Duplicate",
            f"The image name `{name}` is already used by `{clash[0]}` in {region or ctx.region}.",
        )


def check_description(description: str) -> None:
    """An image description of at most 256 characters."""
    if len(description) > MAX_DESCRIPTION:
        raise ApiError(
            "InvalidParameterValue.TooLarge",
            f"The image description is {len(description)} characters long; "
            f"at most {MAX_DESCRIPTION} are allowed.",
        )


def check_family(family: str) -> None:
    """An image family: 1-60 of letters, digits, `.`, `_`, `-`, starting with a letter or digit."""
    if not _FAMILY.fullmatch(family):
        raise ApiError(
            "InvalidParameterValue.InvalidImageFamily", f"The image family `{family}` is invalid."
        )


def check_quota(ctx: CallContext, region: str, extra: int = 1) -> None:
    """`ImageQuotaLimitExceeded` when `extra` more custom images would not fit in the region."""
    count = ctx.db.execute(
        "SELECT COUNT(*) FROM images WHERE owner=? AND region=? AND kind='PRIVATE_IMAGE'",
        (ctx.account, region),
    ).fetchone()[0]
    if count + extra > ctx.settings.image_quota:
        raise ApiError(
            "ImageQuotaLimitExceeded",
            f"The custom-image quota of {ctx.settings.image_quota} in {region} is used up "
            f"({count} images).",
        )


def delete(db: sqlite3.Connection, row: sqlite3.Row) -> None:
    """Remove an image, its shares and its tags (its snapshots stay unless deleted separately)."""
    db.execute("DELETE FROM image_shares WHERE image_id=?", (row["image_id"],))
    db.execute("DELETE FROM image_snapshots WHERE image_id=?", (row["image_id"],))
    db.execute("DELETE FROM images WHERE image_id=?", (row["image_id"],))
    tagstore.remove_tags(db, tagstore.image_key(row["owner"], row["region"], row["image_id"]), None)
