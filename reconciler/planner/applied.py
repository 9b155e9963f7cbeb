"""The tags every managed image carries, and the `reconciler:applied` hash of what was applied."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.model.desired import DeletionPolicy, Lifecycle
from reconciler.model.generation import GENERATION_TAG_LENGTH, canonical_json
from reconciler.model.observed import (
    TAG_ADDRESS,
    TAG_APPLIED,
    TAG_GENERATION,
    TAG_LIFECYCLE,
    TAG_PREFIX,
    TAG_STACK,
)
from reconciler.model.plan import JSONValue

TAG_REVISION = "reconciler:revision"
"""Set only on images made by `--replace` (n ≥ 1); see docs/decisions (forced replacement)."""

APPLIED_HASH_LENGTH = 12
KEEP_SNAPSHOTS_FLAG = "keep-snapshots"
"""Lifecycle flag for `deleteSnapshots: false`, so a removed document still keeps its snapshots."""

AppliedRecord = dict[str, JSONValue]
"""Flat `{spec path: value}` of what the stack sets on one image; keys are FieldDiff paths."""


def lifecycle_tag(lifecycle: Lifecycle) -> str:
    """The `reconciler:lifecycle` value: `protect`, `retain`, `keep-snapshots`, comma-joined."""
    flags = [flag for flag in lifecycle.flags.split(",") if flag]
    if not lifecycle.delete_snapshots:
        flags.append(KEEP_SNAPSHOTS_FLAG)
    return ",".join(flags)


@dataclass(frozen=True, slots=True)
class TaggedLifecycle:
    """The lifecycle flags read back from an image's `reconciler:lifecycle` tag."""

    protect: bool
    retain: bool
    delete_snapshots: bool

    @classmethod
    def parse(cls, value: str | None) -> TaggedLifecycle:
        flags = {flag.strip() for flag in (value or "").split(",")}
        return cls(
            protect="protect" in flags,
            retain="retain" in flags,
            delete_snapshots=KEEP_SNAPSHOTS_FLAG not in flags,
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
) -> dict[str, str]:
    """Every tag a managed image carries: the user's plus the `reconciler:*` ownership tags."""
    tags = {key: value for key, value in user_tags.items() if not key.startswith(TAG_PREFIX)}
    tags[TAG_STACK] = stack
    tags[TAG_ADDRESS] = address
    tags[TAG_GENERATION] = generation[:GENERATION_TAG_LENGTH]
    tags[TAG_LIFECYCLE] = lifecycle_tag(lifecycle)
    tags[TAG_APPLIED] = applied
    if revision > 0:
        tags[TAG_REVISION] = str(revision)
    return tags


def ownership_keys(tags: Mapping[str, str]) -> tuple[str, ...]:
    """The `reconciler:*` keys present on an image, sorted (what `forget` removes)."""
    return tuple(sorted(key for key in tags if key.startswith(TAG_PREFIX)))
