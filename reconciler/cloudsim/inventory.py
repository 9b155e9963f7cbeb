"""The pinned demo inventory (SPEC §6): accounts, instances with snapshots, public images."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from dataclasses import dataclass

from reconciler.cloudsim.ids import ID_ALPHABET
from reconciler.cloudsim.regions import REGIONS, zones
from reconciler.cloudsim.settings import Settings, save_settings

OWN_ACCOUNT = "100000000001"
DEMO_ACCOUNTS = ("100000000001", "100000000002", "100000000003", "100000000004")
PUBLISHED_AT = 1_704_067_200.0  # 2024-01-01T00:00:00Z, when the public images "appeared"


@dataclass(frozen=True, slots=True)
class PublicImage:
    """An official image offered in every region."""

    name: str
    platform: str
    size: int
    cloudinit: bool


PUBLIC_IMAGES = (
    PublicImage("TencentOS Server 3.1 (TK4)", "TencentOS", 20, True),
    PublicImage("CentOS 7.9 64位", "CentOS", 20, True),
    PublicImage("Ubuntu Server 22.04 LTS 64位", "Ubuntu", 20, True),
    PublicImage("Windows Server 2022 数据中心版 64位中文版", "Windows", 50, False),
)


@dataclass(frozen=True, slots=True)
class DemoInstance:
    """A pinned instance: system disk `disk-demo000N` with snapshot `snap-demo000N`."""

    number: int
    region: str
    os: PublicImage
    data_disk_size: int = 0


DEMO_INSTANCES = (
    DemoInstance(1, "ap-guangzhou", PUBLIC_IMAGES[0], data_disk_size=100),
    DemoInstance(2, "ap-shanghai", PUBLIC_IMAGES[1]),
    DemoInstance(3, "ap-singapore", PUBLIC_IMAGES[2]),
    DemoInstance(4, "ap-guangzhou", PUBLIC_IMAGES[3]),
)
SYSTEM_DISK_SIZE = 50


def demo_secret(uin: str) -> tuple[str, str]:
    """The pinned demo SecretId/SecretKey of an account (the same in every fresh database)."""
    digest = hashlib.sha256(f"reconciler-cloudsim:{uin}".encode()).hexdigest()
    return "AKID" + digest[:32], digest[32:64]


def public_image_id(region: str, image: PublicImage) -> str:
    """The pinned ID of a public image in a region."""
    rng = random.Random(f"public:{region}:{image.name}")
    return "img-" + "".join(rng.choice(ID_ALPHABET) for _ in range(8))


def seed(db: sqlite3.Connection, now: float) -> None:
    """Write the demo inventory and default settings into an empty database."""
    save_settings(db, Settings(seed=random.SystemRandom().randrange(2**31)))
    seed_inventory(db, now)


def seed_inventory(db: sqlite3.Connection, now: float) -> None:
    """Write the accounts, public images and demo instances (settings untouched)."""
    for uin in DEMO_ACCOUNTS:
        secret_id, secret_key = demo_secret(uin)
        db.execute("INSERT INTO accounts VALUES (?, ?, ?, ?)", (uin, secret_id, secret_key, now))
    for region in REGIONS:
        for image in PUBLIC_IMAGES:
            db.execute(
                "INSERT INTO images VALUES (?, '', ?, 'PUBLIC_IMAGE', ?, ?, 'OFFICIAL', ?, ?, "
                "'x86_64', ?, 'NORMAL', 'NORMAL', ?, ?, ?, 'TencentCloud', 'Legacy BIOS', '', 0, "
                "'tencent', ?, '')",
                (
                    public_image_id(region, image),
                    region,
                    image.name,
                    image.name,
                    image.platform,
                    image.name,
                    image.size,
                    PUBLISHED_AT,
                    PUBLISHED_AT,
                    PUBLISHED_AT,
                    int(image.cloudinit),
                ),
            )
    for demo in DEMO_INSTANCES:
        _seed_instance(db, demo, now)


def _seed_instance(db: sqlite3.Connection, demo: DemoInstance, now: float) -> None:
    n = f"{demo.number:04d}"
    instance_id, zone = f"ins-demo{n}", zones(demo.region)[0]
    db.execute(
        "INSERT INTO instances VALUES "
        "(?, ?, ?, ?, ?, 'S5.MEDIUM2', 'RUNNING', ?, ?, ?, 'x86_64', ?)",
        (
            instance_id,
            OWN_ACCOUNT,
            demo.region,
            zone,
            f"demo-{demo.os.platform.lower()}-{n}",
            public_image_id(demo.region, demo.os),
            demo.os.name,
            demo.os.platform,
            now,
        ),
    )
    disks = [(f"disk-demo{n}", "SYSTEM_DISK", SYSTEM_DISK_SIZE, f"snap-demo{n}")]
    if demo.data_disk_size:
        data = f"{demo.number + 100:04d}"
        disks.append((f"disk-demo{data}", "DATA_DISK", demo.data_disk_size, f"snap-demo{data}"))
    for position, (disk_id, usage, size, snapshot_id) in enumerate(disks):
        db.execute(
            "INSERT INTO disks VALUES (?, ?, ?, ?, ?)",
            (disk_id, instance_id, usage, size, position),
        )
        db.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                snapshot_id,
                OWN_ACCOUNT,
                demo.region,
                zone,
                disk_id,
                usage,
                size,
                f"{instance_id} {usage.lower().replace('_', ' ')}",
                now,
                now,
            ),
        )
