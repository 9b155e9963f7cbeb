"""Tags of resources, keyed like the tag service by (account, region, service, prefix, id)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.cloudsim.errors import ApiError

MAX_TAGS_PER_RESOURCE = 50
# Letters, digits, space and + - = . _ : / @ ( ) [ ], also their full-width forms.
_KEY_CHARS = re.compile("[\\w \\-+=.:/@()\\[\\]\uff08\uff09\u3010\u3011]+")
_RESERVED_PREFIXES = ("qcloud:", "tencent:", "project")


@dataclass(frozen=True, slots=True)
class ResourceKey:
    """Which resource a tag is on: `qcs::<service>:<region>:uin/<account>:<prefix>/<id>`."""

    account: str
    region: str
    service: str
    prefix: str
    resource_id: str


def image_key(account: str, region: str, image_id: str) -> ResourceKey:
    """The tag-store key of a CVM image."""
    return ResourceKey(account, region, "cvm", "image", image_id)


def check_tag(key: str, value: str) -> None:
    """Raise the tag service's code when a key or value breaks the documented rules."""
    if not key:
        raise ApiError("InvalidParameterValue.TagKeyEmpty", "The tag key must not be empty.")
    if len(key) > 127:
        raise ApiError(
            "InvalidParameterValue.TagKeyLengthExceeded",
            f"The tag key `{key[:20]}...` is longer than 127 characters.",
        )
    if not _KEY_CHARS.fullmatch(key):
        raise ApiError(
            "InvalidParameterValue.TagKeyCharacterIllegal",
            f"The tag key `{key}` contains characters that are not allowed.",
        )
    if key.lower().startswith(_RESERVED_PREFIXES):
        raise ApiError("InvalidParameter.ReservedTagKey", f"The tag key `{key}` is reserved.")
    if len(value) > 255:
        raise ApiError(
            "InvalidParameterValue.TagValueLengthExceeded",
            f"The value of tag `{key}` is longer than 255 characters.",
        )


def check_unique_keys(keys: Iterable[str]) -> None:
    """Raise when one request names the same tag key twice."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ApiError(
                "InvalidParameterValue.TagKeyDuplicate", f"The tag key `{key}` is repeated."
            )
        seen.add(key)


def tags_of(db: sqlite3.Connection, resource: ResourceKey) -> list[tuple[str, str]]:
    """The (key, value) pairs on a resource, sorted by key."""
    rows = db.execute(
        "SELECT tag_key, tag_value FROM tags WHERE account=? AND region=? AND service=? "
        "AND prefix=? AND resource_id=? ORDER BY tag_key",
        (
            resource.account,
            resource.region,
            resource.service,
            resource.prefix,
            resource.resource_id,
        ),
    )
    return [(row[0], row[1]) for row in rows]


def put_tags(
    db: sqlite3.Connection, resource: ResourceKey, tags: Iterable[tuple[str, str]], *, code: str
) -> None:
    """Add or overwrite tags; `code` is raised when the resource would exceed 50 tags."""
    for key, value in tags:
        db.execute(
            "INSERT INTO tags VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
            "SET tag_value = excluded.tag_value",
            (
                resource.account,
                resource.region,
                resource.service,
                resource.prefix,
                resource.resource_id,
                key,
                value,
            ),
        )
    if len(tags_of(db, resource)) > MAX_TAGS_PER_RESOURCE:
        raise ApiError(code, f"A resource can carry at most {MAX_TAGS_PER_RESOURCE} tags.")


def remove_tags(db: sqlite3.Connection, resource: ResourceKey, keys: Iterable[str] | None) -> None:
    """Remove the given tag keys (every tag when `keys` is None)."""
    where = "account=? AND region=? AND service=? AND prefix=? AND resource_id=?"
    args = (
        resource.account,
        resource.region,
        resource.service,
        resource.prefix,
        resource.resource_id,
    )
    if keys is None:
        db.execute(f"DELETE FROM tags WHERE {where}", args)
        return
    for key in keys:
        db.execute(f"DELETE FROM tags WHERE {where} AND tag_key=?", (*args, key))
