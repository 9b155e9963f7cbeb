"""The tags every managed image carries, and the `reconciler:applied` hash of what was applied."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model.desired import DeletionPolicy, ImageSource, Lifecycle
from reconciler.model.generation import GENERATION_TAG_LENGTH, canonical_json, source_document
from reconciler.model.observed import (
    TAG_ADDRESS,
    TAG_APPLIED,
    TAG_GENERATION,
    TAG_LIFECYCLE,
    TAG_PREFIX,
    TAG_REVISION,
    TAG_SOURCE,
    TAG_STACK,
)
from reconciler.model.plan import JSONValue

APPLIED_HASH_LENGTH = 12
KEEP_SNAPSHOTS_FLAG = "keep-snapshots"
"""Lifecycle flag for `deleteSnapshots: false`, so a removed document still keeps its snapshots."""
USER_SNAPSHOTS_FLAG = "user-snapshots"
"""Lifecycle flag of a home image made from `source.snapshots`: the snapshots it is bound to are
the user's (CreateImage binds them, it makes none), so they are never deleted with it, whatever
`deleteSnapshots` says and also once its document is removed."""

AppliedRecord = dict[str, JSONValue]
"""Flat `{spec path: value}` of what the stack sets on one image; keys are FieldDiff paths."""


def lifecycle_tag(lifecycle: Lifecycle, *, user_snapshots: bool = False) -> str:
    """The `reconciler:lifecycle` value: `protect`, `retain`, `keep-snapshots`, `user-snapshots`
    (a home image made from `source.snapshots`), comma-joined."""
    flags = [flag for flag in lifecycle.flags.split(",") if flag]
    if not lifecycle.delete_snapshots:
        flags.append(KEEP_SNAPSHOTS_FLAG)
    if user_snapshots:
        flags.append(USER_SNAPSHOTS_FLAG)
    return ",".join(flags)


@dataclass(frozen=True, slots=True)
class TaggedLifecycle:
    """The lifecycle flags read back from an image's `reconciler:lifecycle` tag."""

    protect: bool
    retain: bool
    delete_snapshots: bool
    user_snapshots: bool = False
    """The image is bound to the user's own snapshots (`source.snapshots`): never delete them."""

    @classmethod
    def parse(cls, value: str | None) -> TaggedLifecycle:
        flags = {flag.strip() for flag in (value or "").split(",")}
        return cls(
            protect="protect" in flags,
            retain="retain" in flags,
            delete_snapshots=KEEP_SNAPSHOTS_FLAG not in flags,
            user_snapshots=USER_SNAPSHOTS_FLAG in flags,
        )

    @classmethod
    def of(cls, lifecycle: Lifecycle) -> TaggedLifecycle:
        return cls(
            protect=lifecycle.protect,
            retain=lifecycle.deletion_policy is DeletionPolicy.RETAIN,
            delete_snapshots=lifecycle.delete_snapshots,
        )


def is_ignored(path: str, ignore_changes: Iterable[str]) -> bool:
    """`tags` ignores every `tags.*` path; `tags.owner` only that one."""
    return any(path == ignored or path.startswith(ignored + ".") for ignored in ignore_changes)


def applied_record(
    *,
    name: str | None,
    description: str,
    family: str,
    deprecated: bool,
    user_tags: Mapping[str, str],
    shares: Iterable[str] = (),
    copies: Iterable[str] = (),
    ignore_changes: Iterable[str] = (),
) -> AppliedRecord:
    """The record hashed into `reconciler:applied`; `name=None` leaves the name unmanaged.

    Home images also record their copy regions, so a copy deleted outside the stack is drift.
    """
    record: AppliedRecord = {
        "description": description,
        "family": family,
        "deprecated": deprecated,
    }
    if name is not None:
        record["imageName"] = name
    for key, value in user_tags.items():
        record[f"tags.{key}"] = value
    for account in shares:
        record[f"shares.{account}"] = True
    for region in copies:
        record[f"copies.{region}"] = True
    ignored = tuple(ignore_changes)
    return {key: value for key, value in record.items() if not is_ignored(key, ignored)}


def applied_hash(record: Mapping[str, JSONValue]) -> str:
    """The short hash stored in `reconciler:applied`."""
    digest = hashlib.sha256(canonical_json(dict(record)).encode("utf-8")).hexdigest()
    return digest[:APPLIED_HASH_LENGTH]


def managed_tags(
    *,
    stack: str,
    address: str,
    generation: str,
    lifecycle: Lifecycle,
    applied: str,
    revision: int,
    user_tags: Mapping[str, str],
    source: str | None = None,
    user_snapshots: bool = False,
) -> dict[str, str]:
    """Every tag a managed image carries: the user's plus the `reconciler:*` ownership tags.

    `source`: the `reconciler:source` value (home images this stack makes), else no such tag;
    `user_snapshots`: the image is bound to the user's snapshots (a home made from snapshots).
    """
    tags = {key: value for key, value in user_tags.items() if not key.startswith(TAG_PREFIX)}
    tags[TAG_STACK] = stack
    tags[TAG_ADDRESS] = address
    tags[TAG_GENERATION] = generation[:GENERATION_TAG_LENGTH]
    tags[TAG_LIFECYCLE] = lifecycle_tag(lifecycle, user_snapshots=user_snapshots)
    tags[TAG_APPLIED] = applied
    if revision > 0:
        tags[TAG_REVISION] = str(revision)
    if source is not None:
        tags[TAG_SOURCE] = source
    return tags


def binds_user_snapshots(tags: Mapping[str, str]) -> bool:
    """Whether an image's snapshots are the user's (it was made from `source.snapshots`): its
    `reconciler:lifecycle` says `user-snapshots`, or (images tagged before that flag existed) its
    `reconciler:source` records a snapshots source."""
    if TaggedLifecycle.parse(tags.get(TAG_LIFECYCLE)).user_snapshots:
        return True
    recorded = tags.get(TAG_SOURCE)
    return recorded is not None and any(
        path.startswith("snapshots.") for path in parse_source_tag(recorded)
    )


def ownership_keys(tags: Mapping[str, str]) -> tuple[str, ...]:
    """The `reconciler:*` keys present on an image, sorted (what `forget` removes)."""
    return tuple(sorted(key for key in tags if key.startswith(TAG_PREFIX)))


SOURCE_TAG_MAX = 255
"""Tag values are at most 255 characters."""
_SOURCE_TOKEN = re.compile(r"[\w\-+.:/@\[\]]{1,64}")
"""A value kept as it is in `reconciler:source`: tag-value characters without space, `=`, `(`."""
_HASHED = re.compile(r"\(h:[0-9a-f]{12}\)")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "+".join(str(item) for item in value)
    return str(value)


def _hashed(text: str) -> str:
    return "(h:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12] + ")"


def source_fields(source: ImageSource) -> dict[str, str]:
    """The generation's source document flattened to `{"instance.id": "ins-…", …}` (paths
    relative to `spec.source`; lists joined with `+`), every value as `source_tag` stores it:
    itself when short and plain, else `(h:<sha256[:12]>)`."""
    fields: dict[str, str] = {}
    for kind, body in source_document(source).items():
        for key, value in body.items():
            text = _text(value)
            plain = text == "" or _SOURCE_TOKEN.fullmatch(text) is not None
            fields[f"{kind}.{key}"] = text if plain else _hashed(text)
    return fields


def _joined(fields: Mapping[str, str]) -> str:
    return " ".join(f"{path}={fields[path]}" for path in sorted(fields))


def source_tag(source: ImageSource) -> str:
    """The `reconciler:source` value: `path=value` pairs, space-separated, sorted, ≤ 255 chars
    (the longest plain values are hashed until it fits)."""
    fields = source_fields(source)
    while len(_joined(fields)) > SOURCE_TAG_MAX:
        plain = [p for p, v in fields.items() if not _HASHED.fullmatch(v) and len(v) > 14]
        if not plain:
            break
        longest = max(plain, key=lambda p: (len(fields[p]), p))
        fields[longest] = _hashed(fields[longest])
    return _joined(fields)[:SOURCE_TAG_MAX]


def parse_source_tag(value: str) -> dict[str, str]:
    """`source_tag` read back: `{path: value}` (values hashed or plain, as stored)."""
    fields: dict[str, str] = {}
    for pair in value.split(" "):
        path, equals, text = pair.partition("=")
        if equals and path:
            fields[path] = text
    return fields


def changed_source_paths(tagged: str, source: ImageSource) -> tuple[str, ...] | None:
    """The `spec.source` paths (`source.instance.id`, …) whose values differ between an image's
    `reconciler:source` tag and `source`; None when the kind of source changed."""
    before = parse_source_tag(tagged)
    full = {
        f"{kind}.{key}": _text(value)
        for kind, body in source_document(source).items()
        for key, value in body.items()
    }
    if {p.split(".", 1)[0] for p in before} != {p.split(".", 1)[0] for p in full}:
        return None
    after = source_fields(source)
    changed = []
    for path in sorted(before.keys() | full.keys()):
        old, text = before.get(path), full.get(path)
        if old is None or text is None or old not in {after[path], _hashed(text)}:
            changed.append(f"source.{path}")
    return tuple(changed)
