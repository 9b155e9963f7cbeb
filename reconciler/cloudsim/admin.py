"""Administration of the simulated cloud outside the API: accounts, instances, images, listings."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from reconciler.cloudsim import images, instances, snapshots
from reconciler.cloudsim.context import CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.ids import is_uin, new_id
from reconciler.cloudsim.images import NewImage
from reconciler.cloudsim.inventory import (
    PUBLIC_IMAGES,
    SYSTEM_DISK_SIZE,
    PublicImage,
    public_image_id,
)
from reconciler.cloudsim.regions import is_region, region_of_zone, zones


@dataclass(frozen=True, slots=True)
class Account:
    """A simulated main account and its API credentials (demo secrets, shown on purpose)."""

    uin: str
    secret_id: str
    secret_key: str


def accounts(db: sqlite3.Connection) -> list[Account]:
    """Every account, by UIN."""
    return [
        Account(r["uin"], r["secret_id"], r["secret_key"])
        for r in db.execute("SELECT * FROM accounts ORDER BY uin")
    ]


def add_account(ctx: CallContext, uin: str | None) -> Account:
    """A new account (the next free UIN unless given) with fresh credentials."""
    if uin is None:
        top = ctx.db.execute("SELECT MAX(CAST(uin AS INTEGER)) FROM accounts").fetchone()[0]
        uin = str(int(top or 100000000000) + 1)
    if not isinstance(uin, str) or not is_uin(uin):
        raise ValueError(f"an account ID is 5 to 13 digits, not {uin!r}")
    if ctx.db.execute("SELECT 1 FROM accounts WHERE uin=?", (uin,)).fetchone():
        raise ValueError(f"account {uin} already exists")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    secret_id = "AKID" + "".join(ctx.rng.choice(alphabet) for _ in range(32))
    secret_key = "".join(ctx.rng.choice(alphabet) for _ in range(32))
    ctx.db.execute(
        "INSERT INTO accounts VALUES (?, ?, ?, ?)", (uin, secret_id, secret_key, ctx.now)
    )
    return Account(uin, secret_id, secret_key)


def add_instance(
    ctx: CallContext,
    *,
    zone: str | None,
    platform: str,
    data_disk_sizes: tuple[int, ...],
) -> dict[str, Any]:
    """A running instance in `ctx.region` with a snapshot of each disk; returns its API object."""
    if not is_region(ctx.region):
        raise ValueError(f"unknown region {ctx.region!r}")
    if zone is None:
        zone = zones(ctx.region)[0]
    elif region_of_zone(zone) != ctx.region:
        raise ValueError(f"zone {zone!r} is not in {ctx.region} ({', '.join(zones(ctx.region))})")
    if not ctx.db.execute("SELECT 1 FROM accounts WHERE uin=?", (ctx.account,)).fetchone():
        raise ValueError(f"unknown account {ctx.account!r}")
    os_image = _public_image(platform)
    if any(size < 10 for size in data_disk_sizes):
        raise ValueError("a data disk has at least 10 GiB")
    instance_id = _fresh(ctx, "ins", "instances", "instance_id")
    ctx.db.execute(
        "INSERT INTO instances VALUES "
        "(?, ?, ?, ?, ?, 'S5.MEDIUM2', 'RUNNING', ?, ?, ?, 'x86_64', ?)",
        (
            instance_id,
            ctx.account,
            ctx.region,
            zone,
            f"instance-{instance_id[4:]}",
            public_image_id(ctx.region, os_image),
            os_image.name,
            os_image.platform,
            ctx.now,
        ),
    )
    sizes = [("SYSTEM_DISK", SYSTEM_DISK_SIZE)] + [("DATA_DISK", size) for size in data_disk_sizes]
    for position, (usage, size) in enumerate(sizes):
        disk_id = _fresh(ctx, "disk", "disks", "disk_id")
        ctx.db.execute(
            "INSERT INTO disks VALUES (?, ?, ?, ?, ?)",
            (disk_id, instance_id, usage, size, position),
        )
        snapshots.create(
            ctx,
            region=ctx.region,
            zone=zone,
            disk_id=disk_id,
            usage=usage,
            size=size,
            name=f"{instance_id} {usage.lower().replace('_', ' ')}",
            ready_at=ctx.now,
        )
    row = ctx.db.execute("SELECT * FROM instances WHERE instance_id=?", (instance_id,)).fetchone()
    return instances.render(ctx.db, row)


MIN_SYSTEM_DISK, MAX_SYSTEM_DISK = 20, 1024
MIN_DATA_DISK, MAX_DATA_DISK = 10, 32000


def add_image(
    ctx: CallContext,
    *,
    image_id: str | None,
    name: str | None,
    description: str,
    platform: str,
    size: int,
    data_disk_sizes: tuple[int, ...],
) -> dict[str, Any]:
    """A NORMAL custom image of `ctx.account` in `ctx.region`, made outside any API call (as by
    Packer from a temporary instance that is gone since): CREATE_IMAGE, untagged, backed by a
    NORMAL snapshot of each disk in CBS. Returns its API object (plus `Region`).

    ValueError for bad input; API rules keep their real codes (`InvalidImageName.Duplicate`, ...).
    """
    if not is_region(ctx.region):
        raise ValueError(f"unknown region {ctx.region!r}")
    if not ctx.db.execute("SELECT 1 FROM accounts WHERE uin=?", (ctx.account,)).fetchone():
        raise ValueError(f"unknown account {ctx.account!r}")
    os_image = _public_image(platform)
    if not MIN_SYSTEM_DISK <= size <= MAX_SYSTEM_DISK:
        raise ValueError(
            f"a system disk has {MIN_SYSTEM_DISK} to {MAX_SYSTEM_DISK} GiB, not {size}"
        )
    if any(not MIN_DATA_DISK <= extra <= MAX_DATA_DISK for extra in data_disk_sizes):
        raise ValueError(f"a data disk has {MIN_DATA_DISK} to {MAX_DATA_DISK} GiB")
    try:
        if image_id is not None:
            images.check_image_id(image_id)
            taken = ctx.db.execute(
                "SELECT owner, region FROM images WHERE image_id=?", (image_id,)
            ).fetchone()
            if taken is not None:
                owner = f"account {taken['owner']}" if taken["owner"] else "a public image"
                raise ValueError(
                    f"the image ID {image_id} is already used ({owner}, {taken['region']})"
                )
        chosen = image_id or images.fresh_image_id(ctx)
        name = f"image-{chosen[4:]}" if name is None else name
        images.check_name(ctx, name)
        images.check_description(description)
        images.check_quota(ctx, ctx.region)
    except ApiError as error:
        raise ValueError(str(error)) from error
    zone = zones(ctx.region)[0]
    sizes = [("SYSTEM_DISK", size)] + [("DATA_DISK", extra) for extra in data_disk_sizes]
    bound = [
        snapshots.create(
            ctx,
            region=ctx.region,
            zone=zone,
            disk_id=_fresh_disk_id(ctx),
            usage=usage,
            size=disk_size,
            name=f"Created by CreateImage {name}",
            ready_at=ctx.now,
        )
        for usage, disk_size in sizes
    ]
    drawn = images.insert(
        ctx,
        NewImage(
            region=ctx.region,
            name=name,
            description=description,
            source="CREATE_IMAGE",
            platform=os_image.platform,
            os_name=os_image.name,
            architecture="x86_64",
            size=size,
            state="NORMAL",
            outcome="NORMAL",
            ready_at=ctx.now,
            cloudinit=os_image.cloudinit,
        ),
        [],
    )
    # `images.insert` draws its own ID; give the image the chosen one before binding snapshots.
    ctx.db.execute("UPDATE images SET image_id=? WHERE image_id=?", (chosen, drawn))
    for position, snapshot_id in enumerate(bound):
        ctx.db.execute(
            "INSERT INTO image_snapshots VALUES (?, ?, ?)", (chosen, snapshot_id, position)
        )
    row = ctx.db.execute("SELECT * FROM images WHERE image_id=?", (chosen,)).fetchone()
    return {**images.render(ctx, row), "Region": ctx.region}


def _public_image(platform: str) -> PublicImage:
    matches = [image for image in PUBLIC_IMAGES if image.platform.lower() == platform.lower()]
    if not matches:
        known = ", ".join(image.platform for image in PUBLIC_IMAGES)
        raise ValueError(f"unknown platform {platform!r}; one of {known}")
    return matches[0]


def _fresh_disk_id(ctx: CallContext) -> str:
    """A disk ID that no disk and no snapshot uses (the disk itself is gone)."""
    while True:
        candidate = new_id("disk", ctx.rng)
        used = ctx.db.execute(
            "SELECT 1 FROM disks WHERE disk_id=?1 UNION SELECT 1 FROM snapshots WHERE disk_id=?1",
            (candidate,),
        ).fetchone()
        if used is None:
            return candidate


def _fresh(ctx: CallContext, prefix: str, table: str, column: str) -> str:
    while True:
        candidate = new_id(prefix, ctx.rng)
        if not ctx.db.execute(f"SELECT 1 FROM {table} WHERE {column}=?", (candidate,)).fetchone():
            return candidate


def list_instances(db: sqlite3.Connection, account: str | None) -> list[dict[str, Any]]:
    """Instances (of one account or all), as DescribeInstances shows them, plus `Region`/`Owner`;
    ValueError for an unknown account."""
    if account is not None:
        _check_account(db, account)
    rows = db.execute(
        "SELECT * FROM instances WHERE ?1 IS NULL OR account=?1 ORDER BY region, instance_id",
        (account,),
    )
    return [
        {**instances.render(db, row), "Region": row["region"], "Owner": row["account"]}
        for row in rows
    ]


def list_images(
    ctx: CallContext, *, region: str | None, include_public: bool
) -> list[dict[str, Any]]:
    """The images `ctx.account` sees (custom and shared; public too if asked), plus `Region`;
    ValueError for an unknown region or account."""
    if region is not None and not is_region(region):
        raise ValueError(f"unknown region {region!r}")
    _check_account(ctx.db, ctx.account)
    listed = []
    for row in ctx.db.execute(
        "SELECT DISTINCT region FROM images WHERE ?1 IS NULL OR region=?1 ORDER BY region",
        (region,),
    ):
        scoped = CallContext(ctx.db, ctx.account, row[0], ctx.now, ctx.settings, ctx.rng)
        for image in images.visible(scoped):
            if include_public or image["kind"] != "PUBLIC_IMAGE":
                listed.append({**images.render(scoped, image), "Region": row[0]})
    return listed


def _check_account(db: sqlite3.Connection, account: str) -> None:
    if db.execute("SELECT 1 FROM accounts WHERE uin=?", (account,)).fetchone() is None:
        raise ValueError(f"unknown account {account!r}; see `reconciler cloud accounts`")
