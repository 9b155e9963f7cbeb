"""What a plan assumed about the cloud, so `apply PLANFILE` can refuse a stale plan and say why.

Keys are the IDs of the images the steps touch and `name:<region>:<name>` for each name the
plan makes (value: `free` or the IDs holding it). An image's value is `region=… name=…
description=… family=… deprecated=… tags=… shares=…`: short hashes of the attributes, the tag
keys each with a short hash of its value (`owner=1a2b3c,…`, keys percent-encoded), and the share
accounts themselves (tags and account IDs are not secrets) — enough to say which tag or which
account changed. Never ImageState or SyncPercent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

from reconciler.model.generation import canonical_json
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.model.plan import IMAGE_MAKING_OPERATIONS, Change, Step

ABSENT = "absent"
FREE = "free"
NAME_PREFIX = "name:"
NONE = "-"
"""No tags, or shared with nobody."""
NOT_READ = "?"
"""The shares of the image were not read (an image the stack does not own)."""
_FIELD_HASH_LENGTH = 8
_TAG_HASH_LENGTH = 6
_SAFE = ":/@.+-_"
"""Kept as they are in tag keys and accounts; `=`, `,`, spaces and the rest are %-encoded."""


def _short(value: object, length: int = _FIELD_HASH_LENGTH) -> str:
    digest = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return digest[:length]


def _tags_value(tags: Mapping[str, str]) -> str:
    pairs = (
        f"{quote(k, safe=_SAFE)}={_short(v, _TAG_HASH_LENGTH)}" for k, v in sorted(tags.items())
    )
    return ",".join(pairs) or NONE


def _shares_value(shares: tuple[str, ...] | None) -> str:
    if shares is None:
        return NOT_READ
    return ",".join(quote(a, safe=_SAFE) for a in sorted(shares)) or NONE


def image_fingerprint(image: ObservedImage) -> str:
    """`region=… name=… description=… family=… deprecated=… tags=k=h,… shares=acct,…`."""
    fields: dict[str, object] = {
        "name": image.name,
        "description": image.description,
        "family": image.family,
        "deprecated": image.deprecated,
    }
    hashed = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
    return (
        f"region={image.region} {hashed} "
        f"tags={_tags_value(image.tags)} shares={_shares_value(image.shares)}"
    )


def _name_key(region: str, name: str) -> str:
    return f"{NAME_PREFIX}{region}:{name}"


def _literal_image_ids(step: Step) -> list[str]:
    ids = [step.params.get("ImageId"), *(step.params.get("ImageIds") or ())]
    return [i for i in ids if isinstance(i, str)]


def touched(steps: Iterable[Step]) -> tuple[str, ...]:
    """The fingerprint keys of a plan's steps: live image IDs and the names it makes."""
    keys: set[str] = set()
    for step in steps:
        params = step.params
        keys.update(_literal_image_ids(step))
        if step.operation in IMAGE_MAKING_OPERATIONS:
            keys.add(_name_key(step.region, params["ImageName"]))
        if step.operation == "SyncImages":
            keys |= {
                _name_key(region, params["ImageName"]) for region in params["DestinationRegions"]
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


def key_addresses(changes: Iterable[Change], steps: Iterable[Step]) -> dict[str, str]:
    """The address each fingerprint key belongs to, as the plan's changes and steps tell."""
    result: dict[str, str] = {}
    for change in changes:
        if change.image_id and change.address.startswith("image."):
            result.setdefault(change.image_id, change.address)
    for step in steps:
        for image_id in _literal_image_ids(step):
            result.setdefault(image_id, step.address)
        name = step.params.get("ImageName")
        if not isinstance(name, str):
            continue
        if step.operation in IMAGE_MAKING_OPERATIONS:
            result.setdefault(_name_key(step.region, name), step.address)
        if step.operation == "SyncImages":
            for region in step.params.get("DestinationRegions") or ():
                result.setdefault(_name_key(str(region), name), f"{step.address}@{region}")
    return result


def _fields(value: str) -> dict[str, str]:
    return dict(part.partition("=")[::2] for part in value.split())


def _tag_hashes(value: str) -> dict[str, str] | None:
    """Tag key → value hash of a `tags=` field; None when it is not in that form."""
    if value == NONE:
        return {}
    result: dict[str, str] = {}
    for pair in value.split(","):
        key, sep, digest = pair.rpartition("=")
        if not sep or not key:
            return None
        result[unquote(key)] = digest
    return result


def _accounts(value: str) -> set[str] | None:
    if value == NOT_READ:
        return None
    return set() if value == NONE else {unquote(a) for a in value.split(",")}


def _tag_changes(before: str, after: str) -> list[str]:
    old, new = _tag_hashes(before), _tag_hashes(after)
    if old is None or new is None:
        return ["tags changed"]
    lines = [f"tag {k} removed" for k in sorted(old.keys() - new.keys())]
    lines += [f"tag {k} added" for k in sorted(new.keys() - old.keys())]
    lines += [f"tag {k} changed" for k in sorted(old.keys() & new.keys()) if old[k] != new[k]]
    return lines or ["tags changed"]


def _share_changes(before: str, after: str) -> list[str]:
    old, new = _accounts(before), _accounts(after)
    if old is None or new is None:
        return ["shares changed"]
    lines = [f"no longer shared with {a}" for a in sorted(old - new)]
    lines += [f"now shared with {a}" for a in sorted(new - old)]
    return lines or ["shares changed"]


def _image_changes(before: str, after: str) -> tuple[str, list[str]]:
    """(the image's region, what changed) between two image fingerprints."""
    old, new = _fields(before), _fields(after)
    region = new.get("region", old.get("region", ""))
    details: list[str] = []
    for name in dict.fromkeys([*old, *new]):
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        if name == "region":
            details.append(f"region changed (was {was})")
        elif name == "tags" and was is not None and now is not None:
            details += _tag_changes(was, now)
        elif name == "shares" and was is not None and now is not None:
            details += _share_changes(was, now)
        else:
            details.append(f"{name} changed")
    return region, details


def fingerprint_changes(
    plan_fp: Mapping[str, str],
    new_fp: Mapping[str, str],
    addresses: Mapping[str, str] | None = None,
) -> list[str]:
    """What changed since the plan, one line per key; empty when the plan is still good.

    `addresses` (from `key_addresses`) names the address of each key in the lines.
    """
    addresses = addresses or {}
    lines = []
    for key in sorted(plan_fp):
        before, after = plan_fp[key], new_fp.get(key, ABSENT)
        if before == after:
            continue
        address = addresses.get(key)
        if key.startswith(NAME_PREFIX):
            region, _, name = key[len(NAME_PREFIX) :].partition(":")
            was = "free" if before == FREE else f"held by {before}"
            now = "free" if after == FREE else f"held by {after}"
            at = f"{address}: " if address else ""
            lines.append(f"{at}the image name {name} in {region} was {was} and is now {now}")
            continue
        region = _fields(after if after != ABSENT else before).get("region", "")
        if address:
            where = f"{address} ({key}, {region})" if region else f"{address} ({key})"
        else:
            where = f"{key} ({region})" if region and after != ABSENT else key
        if after == ABSENT:
            lines.append(f"{where} no longer exists")
        elif before == ABSENT:
            lines.append(f"{where} appeared")
        else:
            _, details = _image_changes(before, after)
            lines.append(f"{where}: {', '.join(details) or 'changed'}")
    return lines
