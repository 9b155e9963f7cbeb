"""The request that makes a new home image: CreateImage (instance, snapshots) or ImportImage."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.model.desired import (
    DesiredImage,
    ImportSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.plan import JSONValue
from reconciler.planner.work import NewImage


def _flag(value: bool) -> str:
    """CreateImage takes `ForcePoweroff`/`Sysprep` as the strings "true"/"false"."""
    return "true" if value else "false"


def tag_specification(tags: Mapping[str, str]) -> list[JSONValue]:
    """CVM's `TagSpecification` (Key/Value, unlike the tag service's TagKey/TagValue)."""
    pairs = [{"Key": key, "Value": tags[key]} for key in sorted(tags)]
    return [{"ResourceType": "image", "Tags": pairs}]


def new_image(desired: DesiredImage, name: str, tags: Mapping[str, str]) -> NewImage | None:
    """The request for a new home image; None for `source.existing` (never made here)."""
    params: dict[str, JSONValue] = {"ImageName": name}
    if desired.description:
        params["ImageDescription"] = desired.description
    if desired.family:
        params["ImageFamily"] = desired.family
    source = desired.source
    if isinstance(source, InstanceSource):
        params["InstanceId"] = source.instance_id
        params["ForcePoweroff"] = _flag(source.force_poweroff)
        params["Sysprep"] = _flag(source.sysprep)
        if source.data_disk_ids:
            params["DataDiskIds"] = list(source.data_disk_ids)
        operation = "CreateImage"
    elif isinstance(source, SnapshotsSource):
        params["SnapshotIds"] = [source.system, *source.data]
        operation = "CreateImage"
    elif isinstance(source, ImportSource):
        params.update(
            {
                "ImageUrl": source.url,
                "OsType": source.os_type,
                "OsVersion": source.os_version,
                "Architecture": source.architecture,
                "BootMode": source.boot_mode,
                "LicenseType": source.license_type,
                "Force": source.force,
            }
        )
        operation = "ImportImage"
    else:
        return None
    params["TagSpecification"] = tag_specification(tags)
    return NewImage(operation=operation, params=params)


def source_snapshots(desired: DesiredImage) -> frozenset[str]:
    """Snapshots named in `source.snapshots`: never deleted by the stack."""
    if isinstance(desired.source, SnapshotsSource):
        return frozenset((desired.source.system, *desired.source.data))
    return frozenset()
