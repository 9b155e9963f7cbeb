"""The generation of an image (SPEC §3): sha256 of the canonical JSON of what forces replacement."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.model.desired import (
    ExistingSource,
    ImageSource,
    ImportSource,
    InstanceSource,
    SnapshotsSource,
)

GENERATION_TAG_LENGTH = 12
"""`reconciler:generation` carries this many hex chars."""
NAME_SUFFIX_LENGTH = 8
"""Cloud names end with `-<generation[:8]>`."""
IMAGE_NAME_MAX = 51
"""`imageName` limit: 51 + `-` + 8 = the API's 60."""


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the one serialisation every hash is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def source_document(source: ImageSource) -> dict[str, Any]:
    """The source as hashed: defaults filled in; `forcePoweroff` and `sysprep` left out."""
    match source:
        case InstanceSource():
            instance = {"id": source.instance_id, "dataDiskIds": list(source.data_disk_ids)}
            return {"instance": instance}
        case SnapshotsSource():
            return {"snapshots": {"system": source.system, "data": list(source.data)}}
        case ImportSource():
            return {
                "import": {
                    "url": source.url,
                    "osType": source.os_type,
                    "osVersion": source.os_version,
                    "architecture": source.architecture,
                    "bootMode": source.boot_mode,
                    "licenseType": source.license_type,
                    "force": source.force,
                }
            }
        case ExistingSource():
            return {"existing": {"imageId": source.image_id}}


def generation_of(
    stack: str, address: str, region: str, source: ImageSource, revision: int = 0
) -> str:
    """Full sha256 hex of `{stack, address, region, source}` (+ `revision` when > 0)."""
    document: dict[str, Any] = {
        "stack": stack,
        "address": address,
        "region": region,
        "source": source_document(source),
    }
    if revision > 0:
        document["revision"] = revision
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def name_suffix(generation: str) -> str:
    """`-<generation[:8]>`: how every generation-suffixed cloud image name ends."""
    return f"-{generation[:NAME_SUFFIX_LENGTH]}"


def name_with_generation(name: str, generation: str) -> str:
    """`<name cut to 51>-<generation[:8]>`: a generation-suffixed cloud image name (≤ 60)."""
    return name[:IMAGE_NAME_MAX] + name_suffix(generation)
