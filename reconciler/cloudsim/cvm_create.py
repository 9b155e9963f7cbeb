"""CVM image creation (`cvm` 2017-03-12): CreateImage, ImportImage and SyncImages."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from reconciler.cloudsim import images, snapshots, tagstore
from reconciler.cloudsim.context import CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.images import NewImage
from reconciler.cloudsim.instances import check_instance_id, disks_of
from reconciler.cloudsim.regions import MAINLAND, is_region, zones

_COS_URL = re.compile(
    r"https?://[a-z0-9][a-z0-9-]*\.cosd?\.(?:[a-z0-9-]+\.)?myqcloud\.com/\S+", re.IGNORECASE
)
IMPORT_OS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "CentOS": (("5", "6", "7", "8"), "Linux"),
    "Ubuntu": (("10", "12", "14", "16", "18", "20", "22"), "Linux"),
    "Debian": (("6", "7", "8", "9", "10", "11"), "Linux"),
    "OpenSUSE": (("11", "12"), "Linux"),
    "SUSE": (("10", "11", "12", "13"), "Linux"),
    "CoreOS": (("7",), "Linux"),
    "FreeBSD": (("10",), "Linux"),
    "Redhat": (("5", "6", "7"), "Linux"),
    "Other Linux": (("8",), "Linux"),
    "Windows Server 2008": (("9",), "Windows"),
    "Windows Server 2012": (("9",), "Windows"),
    "Windows Server 2016": (("9",), "Windows"),
}
"""What DescribeImportImageOs offers (the official example's list, plus newer versions)."""
_IMPORT_ARCHITECTURES = {"x86_64": "x86_64", "i386": "i386", "arm_64": "arm"}


def create_image(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """CreateImage: a custom image from an instance (system + chosen data disks) or snapshots."""
    instance_id, snapshot_ids = params.get("InstanceId"), params.get("SnapshotIds")
    if (instance_id is None) == (snapshot_ids is None):
        raise ApiError(
            "InvalidParameter.SpecifyOneParameter",
            "Specify exactly one of InstanceId and SnapshotIds.",
        )
    data_disk_ids: list[str] = params.get("DataDiskIds", [])
    if snapshot_ids is not None and data_disk_ids:
        raise ApiError("InvalidParameterConflict", "DataDiskIds can only be used with InstanceId.")
    name = params["ImageName"]
    description = params.get("ImageDescription", "")
    family = params.get("ImageFamily", "")
    _check_attributes(ctx, name, description, family)
    for flag in ("ForcePoweroff", "Sysprep"):
        if params.get(flag, "false") not in {"true", "false"}:
            raise ApiError("InvalidParameterValue", f'{flag} must be "true" or "false".')
    tags = _tag_specification(params)
    if instance_id is not None:
        disks = _instance_disks(ctx, instance_id, data_disk_ids)
        origin = ctx.db.execute(
            "SELECT * FROM instances WHERE instance_id=?", (instance_id,)
        ).fetchone()
    else:
        disks = _source_snapshots(ctx, snapshot_ids or [])
        origin = _origin_of(ctx.db, disks[0])
    images.check_quota(ctx, ctx.region)
    _dry_run(params)
    failed = ctx.rng.random() < ctx.settings.create_failure_probability
    ready_at = ctx.now + ctx.settings.create_image_seconds
    if instance_id is not None:
        bound = [
            snapshots.create(
                ctx,
                region=ctx.region,
                zone=origin["zone"],
                disk_id=disk["disk_id"],
                usage=disk["usage"],
                size=disk["size"],
                name=f"Created by CreateImage {name}",
                ready_at=ready_at,
            )
            for disk in disks
        ]
    else:
        bound = [disk["snapshot_id"] for disk in disks]
    image_id = images.insert(
        ctx,
        NewImage(
            region=ctx.region,
            name=name,
            description=description,
            source="CREATE_IMAGE",
            platform=origin["platform"] if origin else "Other",
            os_name=origin["os_name"] if origin else "Other Linux",
            architecture=origin["architecture"] if origin else "x86_64",
            size=disks[0]["size"],
            state="CREATING",
            outcome="CREATEFAILED" if failed else "NORMAL",
            ready_at=ready_at,
            family=family,
        ),
        bound,
    )
    _tag_new_image(ctx, image_id, tags)
    return {"ImageId": image_id}


def _check_attributes(ctx: CallContext, name: str, description: str, family: str) -> None:
    images.check_name(ctx, name)
    images.check_description(description)
    if family:
        images.check_family(family)


def _dry_run(params: Mapping[str, Any]) -> None:
    if params.get("DryRun"):
        raise ApiError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")


def _tag_specification(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for spec in params.get("TagSpecification", []):
        if spec["ResourceType"] != "image":
            raise ApiError(
                "InvalidParameterValue",
                f"TagSpecification.ResourceType must be `image`, not `{spec['ResourceType']}`.",
            )
        pairs.extend((tag["Key"], tag["Value"]) for tag in spec["Tags"])
    for key, value in pairs:
        tagstore.check_tag(key, value)
    tagstore.check_unique_keys(key for key, _ in pairs)
    if len(pairs) > tagstore.MAX_TAGS_PER_RESOURCE:
        raise ApiError(
            "InvalidParameterValue.TagQuotaLimitExceeded",
            f"At most {tagstore.MAX_TAGS_PER_RESOURCE} tags per image.",
        )
    return pairs


def _tag_new_image(ctx: CallContext, image_id: str, tags: list[tuple[str, str]]) -> None:
    tagstore.put_tags(
        ctx.db,
        tagstore.image_key(ctx.account, ctx.region, image_id),
        tags,
        code="InvalidParameterValue.TagQuotaLimitExceeded",
    )


def _instance_disks(
    ctx: CallContext, instance_id: str, data_disk_ids: list[str]
) -> list[sqlite3.Row]:
    check_instance_id(instance_id)
    instance = ctx.db.execute(
        "SELECT * FROM instances WHERE instance_id=? AND account=? AND region=?",
        (instance_id, ctx.account, ctx.region),
    ).fetchone()
    if instance is None:
        raise ApiError(
            "InvalidInstanceId.NotFound", f"The instance `{instance_id}` does not exist."
        )
    disks = disks_of(ctx.db, instance_id)
    by_id = {disk["disk_id"]: disk for disk in disks}
    chosen = [disks[0]]
    for disk_id in dict.fromkeys(data_disk_ids):
        if disk_id == disks[0]["disk_id"]:
            raise ApiError(
                "InvalidParameter.DataDiskIdContainsRootDisk",
                f"`{disk_id}` is the system disk of {instance_id}, not a data disk.",
            )
        if disk_id not in by_id:
            raise ApiError(
                "InvalidParameter.DataDiskNotBelongSpecifiedInstance",
                f"The data disk `{disk_id}` does not belong to {instance_id}.",
            )
        chosen.append(by_id[disk_id])
    return chosen


def _source_snapshots(ctx: CallContext, snapshot_ids: list[str]) -> list[sqlite3.Row]:
    rows = []
    for snapshot_id in dict.fromkeys(snapshot_ids):
        snapshots.check_snapshot_id(snapshot_id)
        row = snapshots.get_owned(ctx, snapshot_id)
        if row is None:
            raise ApiError(
                "InvalidParameter.SnapshotNotFound", f"The snapshot `{snapshot_id}` does not exist."
            )
        if snapshots.state(row, ctx.now) != "NORMAL":
            raise ApiError(
                "ResourceUnavailable.SnapshotCreating",
                f"The snapshot `{snapshot_id}` is still being created.",
            )
        rows.append(row)
    system = [row for row in rows if row["usage"] == "SYSTEM_DISK"]
    if not system:
        raise ApiError(
            "InvalidParameter.SystemSnapshotNotFound",
            "SnapshotIds must hold a system-disk snapshot.",
        )
    if len(system) > 1:
        raise ApiError(
            "InvalidParameter.DuplicateSystemSnapshots",
            "SnapshotIds may hold only one system-disk snapshot.",
        )
    return system + [row for row in rows if row["usage"] != "SYSTEM_DISK"]


def _origin_of(db: sqlite3.Connection, system_snapshot: sqlite3.Row) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT i.* FROM disks d JOIN instances i ON i.instance_id = d.instance_id "
        "WHERE d.disk_id=?",
        (system_snapshot["disk_id"],),
    ).fetchone()
    return row


def import_image(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """ImportImage: a custom image from a COS URL (IMPORTING → NORMAL or IMPORTFAILED)."""
    url = params["ImageUrl"]
    if not _COS_URL.fullmatch(url):
        raise ApiError(
            "InvalidParameter.InvalidParameterUrlError",
            f"`{url}` is not a COS object URL (https://<bucket>.cos.<region>.myqcloud.com/...).",
        )
    os_type, os_version = params["OsType"], params["OsVersion"]
    if os_type not in IMPORT_OS:
        raise ApiError("InvalidImageOsType.Unsupported", f"OsType `{os_type}` is not supported.")
    versions, family_of_os = IMPORT_OS[os_type]
    if os_version not in versions:
        raise ApiError(
            "InvalidImageOsVersion.Unsupported",
            f"OsVersion `{os_version}` of {os_type} is not supported ({', '.join(versions)}).",
        )
    architecture = params["Architecture"]
    if architecture not in _IMPORT_ARCHITECTURES:
        raise ApiError(
            "InvalidParameterValue",
            f"Architecture must be one of x86_64, i386, arm_64, not `{architecture}`.",
        )
    license_type = params.get("LicenseType", "TencentCloud")
    if license_type not in {"TencentCloud", "BYOL"}:
        raise ApiError(
            "InvalidParameterValue.InvalidLicenseType",
            f"LicenseType must be TencentCloud or BYOL, not `{license_type}`.",
        )
    boot_mode = params.get("BootMode", "Legacy BIOS")
    if boot_mode not in {"Legacy BIOS", "UEFI"}:
        raise ApiError(
            "InvalidParameterValue.InvalidBootMode",
            f"BootMode must be `Legacy BIOS` or `UEFI`, not `{boot_mode}`.",
        )
    if url.lower().endswith(".iso") and not params.get("Force"):
        raise ApiError(
            "InvalidParameterValue.ISOMustImportByForce",
            "An ISO image must be imported with Force.",
        )
    data_disks = params.get("ImportImageDataDiskList", [])
    for disk in data_disks:
        if not _COS_URL.fullmatch(disk["ImageUrl"]):
            raise ApiError(
                "InvalidParameter.InvalidParameterUrlError",
                f"`{disk['ImageUrl']}` is not a COS object URL.",
            )
    name = params["ImageName"]
    description = params.get("ImageDescription", "")
    family = params.get("ImageFamily", "")
    _check_attributes(ctx, name, description, family)
    tags = _tag_specification(params)
    images.check_quota(ctx, ctx.region)
    _dry_run(params)
    failed = ctx.rng.random() < ctx.settings.import_failure_probability
    ready_at = ctx.now + ctx.settings.import_image_seconds
    windows = family_of_os == "Windows"
    size = 50 if windows else 20
    zone = zones(ctx.region)[0]
    sizes = [("SYSTEM_DISK", size)] + [("DATA_DISK", 50) for _ in data_disks]
    bound = [
        snapshots.create(
            ctx,
            region=ctx.region,
            zone=zone,
            disk_id="",
            usage=usage,
            size=disk_size,
            name=f"Created by ImportImage {name}",
            ready_at=ready_at,
        )
        for usage, disk_size in sizes
    ]
    image_id = images.insert(
        ctx,
        NewImage(
            region=ctx.region,
            name=name,
            description=description,
            source="EXTERNAL_IMPORT",
            platform="Windows" if windows else os_type,
            os_name=f"{os_type} {os_version} 64位",
            architecture=_IMPORT_ARCHITECTURES[architecture],
            size=size,
            state="IMPORTING",
            outcome="IMPORTFAILED" if failed else "NORMAL",
            ready_at=ready_at,
            license_type=license_type,
            boot_mode=boot_mode,
            family=family,
            cloudinit=not windows,
        ),
        bound,
    )
    _tag_new_image(ctx, image_id, tags)
    return {"ImageId": image_id}


def sync_images(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """SyncImages: copy one NORMAL image to other regions; source and copies go SYNCING."""
    image_ids, destinations = params["ImageIds"], params["DestinationRegions"]
    if len(image_ids) != 1:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded",
            f"SyncImages copies exactly one image per call; {len(image_ids)} were given.",
        )
    if not destinations:
        raise ApiError("InvalidParameterValue.InvalidRegion", "DestinationRegions is empty.")
    source = images.get_visible(ctx, image_ids[0])
    if source["kind"] == "PUBLIC_IMAGE":
        raise ApiError(
            "InvalidParameterValue.InvalidImageId",
            f"`{source['image_id']}` is a public image; only custom images can be copied.",
        )
    if source["state"] != "NORMAL":
        raise ApiError(
            "InvalidImageId.IncorrectState",
            f"The image `{source['image_id']}` is {source['state']}; it must be NORMAL.",
        )
    same_region_only = source["owner"] != ctx.account or bool(params.get("Encrypt"))
    regions = list(dict.fromkeys(destinations))
    for region in regions:
        if not is_region(region):
            raise ApiError("InvalidRegion.NotFound", f"The region `{region}` does not exist.")
        if same_region_only and region != ctx.region:
            raise ApiError(
                "InvalidParameterValue.InvalidRegion",
                "A shared or encrypted copy can only be made in the source region "
                f"{ctx.region}, not {region}.",
            )
        if not same_region_only and region == ctx.region:
            raise ApiError(
                "InvalidParameterValue.InvalidRegion",
                f"The destination {region} is the source region of the image.",
            )
        if ctx.settings.restrict_mainland_overseas_copy and (
            (region in MAINLAND) != (ctx.region in MAINLAND)
        ):
            raise ApiError(
                "InvalidRegion.Unavailable",
                f"Copying images between {ctx.region} and {region} is not supported.",
            )
    name = params.get("ImageName", source["name"])
    for region in regions:
        images.check_name(ctx, name, region=region)
        images.check_quota(ctx, region)
    _dry_run(params)
    ready_at = ctx.now + ctx.settings.sync_image_seconds
    source_snapshots = images.snapshot_set(ctx.db, source["image_id"])
    source_tags = tagstore.tags_of(
        ctx.db, tagstore.image_key(source["owner"], source["region"], source["image_id"])
    )
    copies = []
    for region in regions:
        bound = [
            snapshots.create(
                ctx,
                region=region,
                zone=zones(region)[0],
                disk_id="",
                usage=snap["DiskUsage"],
                size=snap["DiskSize"],
                name=f"Copied for SyncImages {source['image_id']}",
                ready_at=ready_at,
            )
            for snap in source_snapshots
        ]
        copy_id = images.insert(
            ctx,
            NewImage(
                region=region,
                name=name,
                description=source["description"],
                source=source["source"],
                platform=source["platform"],
                os_name=source["os_name"],
                architecture=source["architecture"],
                size=source["size"],
                state="SYNCING",
                outcome="NORMAL",
                ready_at=ready_at,
                license_type=source["license_type"],
                boot_mode=source["boot_mode"],
                family=source["family"],
                deprecated=bool(source["deprecated"]),
                cloudinit=bool(source["cloudinit"]),
                copied_from=source["image_id"],
            ),
            bound,
        )
        if ctx.settings.copy_tags_on_sync and source["owner"] == ctx.account:
            tagstore.put_tags(
                ctx.db,
                tagstore.image_key(ctx.account, region, copy_id),
                source_tags,
                code="InvalidParameterValue.TagQuotaLimitExceeded",
            )
        copies.append({"ImageId": copy_id, "Region": region})
    if source["owner"] == ctx.account:
        ctx.db.execute(
            "UPDATE images SET state='SYNCING', outcome='NORMAL', started_at=?, ready_at=? "
            "WHERE image_id=?",
            (ctx.now, ready_at, source["image_id"]),
        )
    return {"ImageSet": copies if params.get("ImageSetRequired") else []}
