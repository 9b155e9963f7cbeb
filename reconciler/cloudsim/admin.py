"""Administration of the simulated cloud outside the API: accounts, instances, listings."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from reconciler.cloudsim import images, instances, snapshots
from reconciler.cloudsim.context import CallContext
from reconciler.cloudsim.ids import UIN, new_id
from reconciler.cloudsim.inventory import PUBLIC_IMAGES, SYSTEM_DISK_SIZE, public_image_id
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
    if not UIN.match(uin):
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
    matches = [image for image in PUBLIC_IMAGES if image.platform.lower() == platform.lower()]
    if not matches:
        known = ", ".join(image.platform for image in PUBLIC_IMAGES)
        raise ValueError(f"unknown platform {platform!r}; one of {known}")
    if any(size < 10 for size in data_disk_sizes):
        raise ValueError("a data disk has at least 10 GiB")
    os_image = matches[0]
    instance_id = _fresh(ctx, "ins", "instances", "instance_id")
    ctx.db.execute(
        "INSERT INTO instances VALUES "
        "(?, ?, ?, ?, ?, 'S5.MEDIUM2', 'RUNNING', ?, ?, ?, 'x86_64', ?)",
        (instance_id, ctx.account, ctx.region, zone, f"instance-{instance_id[4:]}",
         public_image_id(ctx.region, os_image), os_image.name, os_image.platform, ctx.now),
    )
    sizes = [("SYSTEM_DISK", SYSTEM_DISK_SIZE)] + [("DATA_DISK", size) for size in data_disk_sizes]
    for position, (usage, size) in enumerate(sizes):
        disk_id = _fresh(ctx, "disk", "disks", "disk_id")
        ctx.db.execute(
            "INSERT INTO disks VALUES (?, ?, ?, ?, ?)",
            (disk_id, instance_id, usage, size, position),
        )
        snapshots.create(
            ctx, region=ctx.region, zone=zone, disk_id=disk_id, usage=usage, size=size,
            name=f"{instance_id} {usage.lower().replace('_', ' ')}", ready_at=ctx.now,
        )
    row = ctx.db.execute("SELECT * FROM instances WHERE instance_id=?", (instance_id,)).fetchone()
    return instances.render(ctx.db, row)


def _fresh(ctx: CallContext, prefix: str, table: str, column: str) -> str:
    while True:
        candidate = new_id(prefix, ctx.rng)
        if not ctx.db.execute(f"SELECT 1 FROM {table} WHERE {column}=?", (candidate,)).fetchone():
            return candidate


def list_instances(db: sqlite3.Connection, account: str | None) -> list[dict[str, Any]]:
    """Instances (of one account or all), as DescribeInstances shows them, plus `Region`/`Owner`."""
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
    """The images `ctx.account` sees (custom and shared; public too if asked), plus `Region`."""
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
