"""CVM image actions (`cvm` 2017-03-12): the action table; describe, modify, share, delete."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from reconciler.cloudsim import images, snapshots, tagstore
from reconciler.cloudsim.context import Action, CallContext
from reconciler.cloudsim.cvm_create import IMPORT_OS, create_image, import_image, sync_images
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.filters import Filter, check_filters, page, values_of
from reconciler.cloudsim.ids import is_uin
from reconciler.cloudsim.params import BOOL, FILTERS, INT, STR, STRS, ListOf, obj

_IMAGE_FILTERS = frozenset(
    {
        "image-id",
        "image-type",
        "image-name",
        "platform",
        "tag-key",
        "tag-value",
        "dedicated-cluster-id",
        "cdc-cache-status",
    }
)
_IMAGE_TYPES = frozenset({"PUBLIC_IMAGE", "PRIVATE_IMAGE", "SHARED_IMAGE", "MARKET_IMAGE"})
"""`image-type` values; MARKET_IMAGE (dropped from the docs, still offered by Terraform) is
accepted and matches nothing: the simulated cloud has no marketplace images."""
_TAG_SPECIFICATION = ListOf(
    obj(
        ("ResourceType", "Tags"),
        ResourceType=STR,
        Tags=ListOf(obj(("Key", "Value"), Key=STR, Value=STR)),
    )
)


def describe_images(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImages: the images the caller sees in the region, by IDs or filters, paged."""
    ids, filters = params.get("ImageIds"), params.get("Filters")
    if ids is not None and filters is not None:
        raise ApiError(
            "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
            "ImageIds and Filters cannot be specified at the same time.",
        )
    for image_id in ids or []:
        images.check_image_id(image_id)
    checked = check_filters(
        filters or [], lambda name: name in _IMAGE_FILTERS or name.startswith("tag:")
    )
    for image_id in values_of(checked, "image-id"):
        images.check_image_id(image_id)
    for image_type in values_of(checked, "image-type"):
        if image_type not in _IMAGE_TYPES:
            raise ApiError(
                "InvalidParameterValue",
                f"The value `{image_type}` of filter `image-type` is invalid; use one of "
                f"{', '.join(sorted(_IMAGE_TYPES))}.",
            )
    found = [
        row
        for row in images.visible(ctx)
        if (ids is None or row["image_id"] in ids) and _matches(ctx, row, checked)
    ]
    window = page(found, params)
    return {"TotalCount": len(found), "ImageSet": [images.render(ctx, row) for row in window]}


def _matches(ctx: CallContext, row: sqlite3.Row, filters: list[Filter]) -> bool:
    tags = dict(
        tagstore.tags_of(ctx.db, tagstore.image_key(row["owner"], row["region"], row["image_id"]))
        if images.image_type(row, ctx.account) == "PRIVATE_IMAGE"
        else []
    )
    for name, values in filters:
        if name == "image-id":
            ok = row["image_id"] in values
        elif name == "image-type":
            ok = images.image_type(row, ctx.account) in values
        elif name == "image-name":
            ok = any(v.lower() in row["name"].lower() for v in values)
        elif name == "platform":
            ok = any(v.lower() in row["platform"].lower() for v in values)
        elif name == "tag-key":
            ok = any(key in tags for key in values)
        elif name == "tag-value":
            ok = any(value in tags.values() for value in values)
        elif name.startswith("tag:"):
            ok = tags.get(name[4:]) in values
        else:  # the CDC filters: the simulated cloud has no dedicated clusters
            ok = False
        if not ok:
            return False
    return True


def modify_image_attribute(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """ModifyImageAttribute: name, description, family, deprecated flag of an own image."""
    row = images.get_visible(ctx, params["ImageId"])
    if row["kind"] == "PUBLIC_IMAGE":
        # UnauthorizedOperation.ImageNotBelongToAccount is not in this action's error list.
        raise ApiError(
            "InvalidImageId.NotFound",
            f"The image `{row['image_id']}` is no custom image of this account: a public image "
            "cannot be modified.",
        )
    if row["owner"] != ctx.account:
        raise ApiError(
            "UnsupportedOperation.SharedImageModifyUnsupported",
            f"`{row['image_id']}` is shared from another account; it cannot be modified.",
        )
    if row["state"] in images.BUSY_STATES:
        raise ApiError(
            "InvalidImageId.IncorrectState",
            f"The image `{row['image_id']}` is {row['state']}; wait until it is NORMAL.",
        )
    if images.shared_accounts(ctx.db, row["image_id"]):
        raise ApiError(
            "UnsupportedOperation.SharedImageModifyUnsupported",
            f"The image `{row['image_id']}` is shared; cancel its shares before modifying it.",
        )
    updates: dict[str, Any] = {}
    if "ImageName" in params:
        images.check_name(ctx, params["ImageName"], exclude=row["image_id"])
        updates["name"] = params["ImageName"]
    if "ImageDescription" in params:
        images.check_description(params["ImageDescription"])
        updates["description"] = params["ImageDescription"]
    if "ImageFamily" in params:
        if params["ImageFamily"]:
            images.check_family(params["ImageFamily"])
        updates["family"] = params["ImageFamily"]
    if "ImageDeprecated" in params:
        updates["deprecated"] = int(params["ImageDeprecated"])
    for column, value in updates.items():
        ctx.db.execute(f"UPDATE images SET {column}=? WHERE image_id=?", (value, row["image_id"]))
    return {}


def modify_image_share_permission(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """ModifyImageSharePermission: SHARE with or CANCEL for other main accounts."""
    row = images.get_owned(ctx, params["ImageId"])
    permission = params["Permission"]
    if permission not in {"SHARE", "CANCEL"}:
        raise ApiError(
            "InvalidParameterValue", f"Permission must be SHARE or CANCEL, not `{permission}`."
        )
    accounts = list(dict.fromkeys(params["AccountIds"]))
    if not accounts:
        raise ApiError("MissingParameter", "AccountIds must name at least one account.")
    if row["state"] != "NORMAL":
        raise ApiError(
            "InvalidParameterValue.InvalidImageState",
            f"The image `{row['image_id']}` is {row['state']}; it must be NORMAL.",
        )
    if permission == "SHARE" and row["license_type"] == "BYOL":
        raise ApiError(
            "FailedOperation.BYOLImageShareFailed",
            f"`{row['image_id']}` was imported with a BYOL license and cannot be shared.",
        )
    current = {share["account"] for share in images.shared_accounts(ctx.db, row["image_id"])}
    for account in accounts:
        if account == ctx.account:
            raise ApiError(
                "FailedOperation.AccountIsYourSelf", "An image cannot be shared with yourself."
            )
        known = ctx.db.execute("SELECT 1 FROM accounts WHERE uin=?", (account,)).fetchone()
        if not is_uin(account) or known is None:
            raise ApiError("InvalidAccountId.NotFound", f"The account `{account}` does not exist.")
        if permission == "SHARE" and account in current:
            raise ApiError(
                "FailedOperation.AccountAlreadyExists",
                f"The image is already shared with `{account}`.",
            )
    if permission == "CANCEL":
        for account in accounts:
            ctx.db.execute(
                "DELETE FROM image_shares WHERE image_id=? AND account=?",
                (row["image_id"], account),
            )
        return {}
    if len(current) + len(accounts) > ctx.settings.share_quota:
        raise ApiError(
            "OverQuota",
            f"An image can be shared with at most {ctx.settings.share_quota} accounts.",
        )
    for account in accounts:
        ctx.db.execute(
            "INSERT INTO image_shares VALUES (?, ?, ?)", (row["image_id"], account, ctx.now)
        )
    return {}


def describe_image_share_permission(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImageSharePermission: the accounts an own image is shared with."""
    row = images.get_owned(ctx, params["ImageId"])
    return {
        "SharePermissionSet": [
            {"CreatedTime": _share_time(share["created_at"]), "AccountId": share["account"]}
            for share in images.shared_accounts(ctx.db, row["image_id"])
        ]
    }


def _share_time(epoch: float) -> str:
    return images.iso_time(epoch).replace("+00:00", "Z")


def delete_images(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DeleteImages: remove own images that are neither busy nor shared; frees quota."""
    image_ids = list(dict.fromkeys(params["ImageIds"]))
    if not image_ids:
        raise ApiError("MissingParameter", "ImageIds must name at least one image.")
    rows = []
    for image_id in image_ids:
        row = images.get_visible(ctx, image_id)
        if row["kind"] == "PUBLIC_IMAGE":
            raise ApiError(
                "InvalidParameterValue.InvalidImageId",
                f"`{image_id}` is a public image and cannot be deleted.",
            )
        if row["owner"] != ctx.account:
            raise ApiError(
                "InvalidParameterValue.InvalidImageIdIsShared",
                f"`{image_id}` is shared to this account by another; it cannot be deleted.",
            )
        if row["state"] in images.BUSY_STATES:
            raise ApiError(
                "InvalidImageId.IncorrectState",
                f"The image `{image_id}` is {row['state']} and cannot be deleted now.",
            )
        if images.shared_accounts(ctx.db, image_id):
            raise ApiError(
                "InvalidImageId.InShared",
                f"The image `{image_id}` is shared; cancel its shares first.",
            )
        rows.append(row)
    if params.get("DryRun"):
        return {}
    for row in rows:
        system = [
            snap["SnapshotId"]
            for snap in images.snapshot_set(ctx.db, row["image_id"])
            if snap["DiskUsage"] == "SYSTEM_DISK"
        ]
        images.delete(ctx.db, row)
        if params.get("DeleteBindedSnap"):
            for snapshot_id in system:
                if not snapshots.bound_images(ctx.db, snapshot_id):
                    snapshots.delete(ctx.db, snapshot_id)
    return {}


def describe_image_quota(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImageQuota: the custom-image quota per region."""
    return {"ImageNumQuota": ctx.settings.image_quota}


def describe_import_image_os(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImportImageOs: the operating systems ImportImage accepts."""
    return {
        "ImportImageOsListSupported": {
            "Linux": [name for name, (_, kind) in IMPORT_OS.items() if kind == "Linux"],
            "Windows": [name for name, (_, kind) in IMPORT_OS.items() if kind == "Windows"],
        },
        "ImportImageOsVersionSet": [
            {"OsName": name, "OsVersions": list(versions), "Architecture": ["x86_64", "i386"]}
            for name, (versions, _) in IMPORT_OS.items()
        ],
    }


def describe_image_from_family(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImageFromFamily: the newest usable, non-deprecated own image of a family."""
    row = ctx.db.execute(
        "SELECT * FROM images WHERE owner=? AND region=? AND family=? AND deprecated=0 "
        "AND state='NORMAL' ORDER BY created_at DESC, image_id LIMIT 1",
        (ctx.account, ctx.region, params["ImageFamily"]),
    ).fetchone()
    return {"Image": images.render(ctx, row) if row is not None else None}


_TAG_SPEC = {"TagSpecification": _TAG_SPECIFICATION}

ACTIONS: Mapping[str, Action] = {
    "DescribeImages": Action(
        obj(ImageIds=STRS, Filters=FILTERS, Offset=INT, Limit=INT, InstanceType=STR),
        describe_images,
    ),
    "CreateImage": Action(
        obj(
            ("ImageName",),
            ImageName=STR,
            InstanceId=STR,
            ImageDescription=STR,
            ForcePoweroff=STR,
            Sysprep=STR,
            DataDiskIds=STRS,
            SnapshotIds=STRS,
            DryRun=BOOL,
            ImageFamily=STR,
            **_TAG_SPEC,
        ),
        create_image,
    ),
    "ImportImage": Action(
        obj(
            ("Architecture", "OsType", "OsVersion", "ImageUrl", "ImageName"),
            Architecture=STR,
            OsType=STR,
            OsVersion=STR,
            ImageUrl=STR,
            ImageName=STR,
            ImageDescription=STR,
            DryRun=BOOL,
            Force=BOOL,
            LicenseType=STR,
            BootMode=STR,
            ImageFamily=STR,
            ImportImageDataDiskList=ListOf(obj(("ImageUrl",), ImageUrl=STR)),
            **_TAG_SPEC,
        ),
        import_image,
    ),
    "SyncImages": Action(
        obj(
            ("ImageIds", "DestinationRegions"),
            ImageIds=STRS,
            DestinationRegions=STRS,
            DryRun=BOOL,
            ImageName=STR,
            ImageSetRequired=BOOL,
            Encrypt=BOOL,
            KmsKeyId=STR,
        ),
        sync_images,
    ),
    "ModifyImageAttribute": Action(
        obj(
            ("ImageId",),
            ImageId=STR,
            ImageName=STR,
            ImageDescription=STR,
            ImageFamily=STR,
            ImageDeprecated=BOOL,
        ),
        modify_image_attribute,
    ),
    "ModifyImageSharePermission": Action(
        obj(("ImageId", "AccountIds", "Permission"), ImageId=STR, AccountIds=STRS, Permission=STR),
        modify_image_share_permission,
    ),
    "DescribeImageSharePermission": Action(
        obj(("ImageId",), ImageId=STR), describe_image_share_permission
    ),
    "DeleteImages": Action(
        obj(("ImageIds",), ImageIds=STRS, DeleteBindedSnap=BOOL, DryRun=BOOL), delete_images
    ),
    "DescribeImageQuota": Action(obj(), describe_image_quota),
    "DescribeImportImageOs": Action(obj(), describe_import_image_os),
    "DescribeImageFromFamily": Action(
        obj(("ImageFamily",), ImageFamily=STR), describe_image_from_family
    ),
}
"""The image actions of the `cvm` service (DescribeInstances lives with the instances)."""
