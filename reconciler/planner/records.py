"""Applied records of an image (live, declared, initial), its before/after views, name diffs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from reconciler.model.desired import DesiredImage
from reconciler.model.generation import NAME_SUFFIX_LENGTH
from reconciler.model.observed import ObservedImage
from reconciler.model.plan import FieldDiff, JSONValue
from reconciler.planner.applied import AppliedRecord, applied_record


def is_field(key: str) -> bool:
    return not key.startswith(("shares.", "copies."))


def image_view(image: ObservedImage) -> dict[str, JSONValue]:
    """`before` of an image change."""
    return {
        "imageId": image.image_id,
        "region": image.region,
        "imageName": image.name,
        "description": image.description,
        "family": image.family,
        "deprecated": image.deprecated,
        "state": image.state.value,
        "tags": dict(sorted(image.user_tags.items())),
        "shares": list(image.shares or ()),
    }


def record_view(
    record: Mapping[str, JSONValue], region: str, image_id: str | None
) -> dict[str, JSONValue]:
    """`after` of an image change, from its desired record."""
    return {
        "imageId": image_id,
        "region": region,
        "imageName": record.get("imageName"),
        "description": record.get("description"),
        "family": record.get("family"),
        "deprecated": record.get("deprecated"),
        "tags": {k[5:]: v for k, v in sorted(record.items()) if k.startswith("tags.")},
        "shares": sorted(k[7:] for k in record if k.startswith("shares.")),
    }


def observed_record(
    image: ObservedImage,
    *,
    name_managed: bool,
    copies: Iterable[str] = (),
    ignore_changes: Iterable[str] = (),
) -> AppliedRecord:
    """The applied record of what is live on `image` (with these copy regions);
    `name_managed=False` leaves the name out, as an unmanaged name is."""
    return applied_record(
        name=image.name if name_managed else None,
        description=image.description,
        family=image.family,
        deprecated=image.deprecated,
        user_tags=image.user_tags,
        shares=image.shares or (),
        copies=copies,
        ignore_changes=ignore_changes,
    )


def declared_record(
    image: DesiredImage, *, name: str | None, shares: Iterable[str], copies: Iterable[str]
) -> AppliedRecord:
    """The applied record an image of the Image `image` should have, named `name` (None: the
    name is unmanaged), with these shares and copy regions, less its `ignoreChanges`."""
    return applied_record(
        name=name,
        description=image.description,
        family=image.family,
        deprecated=image.deprecated,
        user_tags=image.tags,
        shares=shares,
        copies=copies,
        ignore_changes=image.lifecycle.ignore_changes,
    )


def initial_record(desired_record: Mapping[str, JSONValue], *, is_home: bool) -> AppliedRecord:
    """The record a new image is tagged with right after its create: what the create itself
    sets (no shares or copies yet; a new home image is never deprecated)."""
    record = {k: v for k, v in desired_record.items() if is_field(k)}
    if is_home and "deprecated" in record:
        record["deprecated"] = False
    return record


_NAME_SUFFIX = re.compile(rf"-[0-9a-f]{{{NAME_SUFFIX_LENGTH}}}$")


def _without_suffix(name: JSONValue) -> str | None:
    """`web-1a2b3c4d` → `web`; None when the name carries no generation suffix."""
    if not isinstance(name, str):
        return None
    match = _NAME_SUFFIX.search(name)
    return name[: match.start()] if match else None


def name_diffs(diffs: Iterable[FieldDiff], *, suffixed: bool) -> tuple[FieldDiff, ...]:
    """Diffs with the cloud name shown as `cloudName`, and `imageName` (the manifest's value,
    without the generation suffix) only where that changed too. `suffixed=False` (an `existing`
    home image, named exactly as `imageName` says) leaves `imageName` as it is."""
    diffs = tuple(diffs)
    if not suffixed:
        return diffs
    out: list[FieldDiff] = []
    for diff in diffs:
        if diff.path != "imageName":
            out.append(diff)
            continue
        out.append(FieldDiff("cloudName", diff.before, diff.after))
        before, after = _without_suffix(diff.before), _without_suffix(diff.after)
        if after is not None and before != after and (before is not None or diff.before is None):
            out.append(FieldDiff("imageName", before, after))
    return tuple(sorted(out, key=lambda diff: diff.path))
