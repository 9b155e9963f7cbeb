"""What a plan assumed about the cloud, so `apply PLANFILE` can refuse a stale plan and say why.

Keys are the IDs of the images the steps touch (value: short hashes of region, name,
attributes, tags and shares, never ImageState or SyncPercent) and `name:<region>:<name>` for
each name the plan makes (value: `free` or the IDs holding it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from reconciler.model.generation import canonical_json
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.model.plan import Step

ABSENT = "absent"
FREE = "free"
NAME_PREFIX = "name:"
_FIELD_HASH_LENGTH = 8


def _short(value: object) -> str:
    digest = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return digest[:_FIELD_HASH_LENGTH]


def image_fingerprint(image: ObservedImage) -> str:
    """`region=… name=… description=… family=… deprecated=… tags=… shares=…` (hashed fields)."""
    fields: dict[str, object] = {
        "name": image.name,
        "description": image.description,
        "family": image.family,
        "deprecated": image.deprecated,
        "tags": dict(sorted(image.tags.items())),
        "shares": sorted(image.shares or ()),
    }
    return f"region={image.region} " + " ".join(f"{k}={_short(v)}" for k, v in fields.items())


def touched(steps: Iterable[Step]) -> tuple[str, ...]:
    """The fingerprint keys of a plan's steps: live image IDs and the names it makes."""
    keys: set[str] = set()
    for step in steps:
        params = step.params
        if isinstance(params.get("ImageId"), str):
            keys.add(params["ImageId"])
        keys |= {i for i in params.get("ImageIds", ()) if isinstance(i, str)}
        if step.operation in {"CreateImage", "ImportImage"}:
            keys.add(f"{NAME_PREFIX}{step.region}:{params['ImageName']}")
        if step.operation == "SyncImages":
            keys |= {
                f"{NAME_PREFIX}{region}:{params['ImageName']}"
                for region in params["DestinationRegions"]
            }
    return tuple(sorted(keys))


def fingerprint(keys: Iterable[str], observed: ObservedCloud) -> dict[str, str]:
    """The value of each key in this observation of the cloud."""
    by_id = {image.image_id: image for image in observed.images}
    result: dict[str, str] = {}
    for key in keys:
        if key.startswith(NAME_PREFIX):
            region, _, name = key[len(NAME_PREFIX) :].partition(":")
            holders = sorted(
                i.image_id for i in observed.images if i.region == region and i.name == name
            )
            result[key] = " ".join(holders) or FREE
        else:
            image = by_id.get(key)
            result[key] = image_fingerprint(image) if image is not None else ABSENT
    return result


def plan_fingerprint(steps: Iterable[Step], observed: ObservedCloud) -> dict[str, str]:
    return fingerprint(touched(steps), observed)


def _fields(value: str) -> dict[str, str]:
    return dict(part.partition("=")[::2] for part in value.split())


def fingerprint_changes(plan_fp: Mapping[str, str], new_fp: Mapping[str, str]) -> list[str]:
    """What changed since the plan, one line per key; empty when the plan is still good."""
    lines = []
    for key in sorted(plan_fp):
        before, after = plan_fp[key], new_fp.get(key, ABSENT)
        if before == after:
            continue
        if key.startswith(NAME_PREFIX):
            region, _, name = key[len(NAME_PREFIX) :].partition(":")
            was = "free" if before == FREE else f"held by {before}"
            now = "free" if after == FREE else f"held by {after}"
            lines.append(f"the image name {name} in {region} was {was} and is now {now}")
        elif after == ABSENT:
            lines.append(f"{key} no longer exists")
        elif before == ABSENT:
            lines.append(f"{key} appeared")
        else:
            old, new = _fields(before), _fields(after)
            changed = [f for f in old if f != "region" and old[f] != new.get(f)]
            region = new.get("region", old.get("region", ""))
            lines.append(f"{key} ({region}): {', '.join(changed) or 'region'} changed")
    return lines
