"""Field diffs (deepdiff), the drift-vs-change split, and the small action-choosing function."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from reconciler.model.plan import Action, FieldDiff, JSONValue
from reconciler.planner.applied import applied_hash

MAX_DRIFT_SEARCH_FIELDS = 12
"""Above this many differing fields, drift and change are not told apart (2^n hashes)."""


def _nested(record: Mapping[str, JSONValue]) -> dict[str, Any]:
    """`{"tags.owner": "x"}` → `{"tags": {"owner": "x"}}` (only the first dot splits)."""
    nested: dict[str, Any] = {}
    for key, value in record.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[key] = value
    return nested


def _plain(value: Any) -> JSONValue:
    """deepdiff marks a missing side with a `notpresent` sentinel: that is JSON null."""
    return None if value is notpresent else value


def _leaves(path: list[str], before: Any, after: Any) -> list[FieldDiff]:
    """deepdiff reports a whole added/removed mapping as one change: split it into fields."""
    if isinstance(before, dict) or isinstance(after, dict):
        left = before if isinstance(before, dict) else {}
        right = after if isinstance(after, dict) else {}
        return [
            diff
            for key in sorted(left.keys() | right.keys())
            if left.get(key, notpresent) != right.get(key, notpresent)
            for diff in _leaves([*path, key], left.get(key, notpresent), right.get(key, notpresent))
        ]
    return [FieldDiff(".".join(path), _plain(before), _plain(after))]


def field_diffs(
    before: Mapping[str, JSONValue],
    after: Mapping[str, JSONValue],
    paths: Iterable[str] | None = None,
) -> tuple[FieldDiff, ...]:
    """The differences between two flat records, sorted by path; `paths` limits them."""
    wanted = None if paths is None else set(paths)
    left = {k: v for k, v in before.items() if wanted is None or k in wanted}
    right = {k: v for k, v in after.items() if wanted is None or k in wanted}
    tree = DeepDiff(_nested(left), _nested(right), view="tree")
    diffs: list[FieldDiff] = []
    for levels in tree.values():
        for level in levels:
            path = [str(part) for part in level.path(output_format="list")]
            diffs += _leaves(path, level.t1, level.t2)
    return tuple(sorted(diffs, key=lambda diff: diff.path))


def differing_keys(
    live: Mapping[str, JSONValue], desired: Mapping[str, JSONValue]
) -> frozenset[str]:
    return frozenset(k for k in live.keys() | desired.keys() if live.get(k) != desired.get(k))


class _Absent:
    """The value of a key a record does not have (a share not made, an ignored field)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""An alternative of `split_drift` meaning "the applied record did not have this key"."""


@dataclass(frozen=True, slots=True)
class DriftSplit:
    """Which differing fields changed outside the stack (drift) and which in the manifests."""

    drifted: frozenset[str]
    changed: frozenset[str]
    unknown: bool = False
    """The live image differs from what was applied, but the fields could not be told apart."""
    interrupted: bool = False
    """The applied record is one an unfinished apply of this stack left (a change, not drift):
    the record the create step tags, or the manifest's values are live but were never recorded."""
    applied: Mapping[str, JSONValue] | None = None
    """The record the `reconciler:applied` hash was found to be; None when not known."""


def split_drift(
    live: Mapping[str, JSONValue],
    desired: Mapping[str, JSONValue],
    applied: str | None,
    *,
    alternatives: Mapping[str, JSONValue] | None = None,
    initial: Mapping[str, JSONValue] | None = None,
    declared: bool = True,
) -> DriftSplit:
    """Tell drift from change by finding which mix of live and desired values hashes to `applied`.

    The applied record had, for each field, either the live value (the manifests changed it)
    or the desired value (it changed outside); the smallest drifted set that reproduces the
    `reconciler:applied` hash wins. `alternatives` (likeliest first: only the first keys up to
    `MAX_DRIFT_SEARCH_FIELDS` are searched) are other values a key may have had when
    applied although live and desired agree on it (e.g. `shares.<account>: True` for a share
    cancelled outside while also removed from the manifests; `ABSENT` for a key the record did
    not have). `initial` is the record the stack tags a new image with at its create: when it
    hashes to `applied`, the image's own apply was interrupted (every difference is a change).
    `declared=False` (no manifest for the image): an unexplained hash is unknown drift.
    """
    differing = differing_keys(live, desired)
    if applied is None:
        return DriftSplit(frozenset(), differing)
    if applied_hash(live) == applied:
        return DriftSplit(frozenset(), differing, applied=dict(live))
    if initial is not None and applied_hash(initial) == applied:
        return DriftSplit(frozenset(), differing, interrupted=True, applied=dict(initial))
    options: dict[str, JSONValue] = {key: desired.get(key, ABSENT) for key in sorted(differing)}
    for key, value in (alternatives or {}).items():
        if key not in options and live.get(key, ABSENT) != value:
            options[key] = value
    if len(differing) <= MAX_DRIFT_SEARCH_FIELDS:
        keys = list(options)[:MAX_DRIFT_SEARCH_FIELDS]
        for size in range(1, len(keys) + 1):
            for drifted in combinations(keys, size):
                mixed = _mix(live, options, drifted)
                if applied_hash(mixed) == applied:
                    found = frozenset(drifted)
                    return DriftSplit(found, differing - found, applied=mixed)
    if declared and not differing:
        # The manifests' values are live but not recorded: an apply stopped before its last tag.
        return DriftSplit(frozenset(), differing, interrupted=True)
    return DriftSplit(frozenset(), differing, unknown=True)


def _mix(
    live: Mapping[str, JSONValue], options: Mapping[str, JSONValue], keys: Iterable[str]
) -> dict[str, JSONValue]:
    """`live` with each of `keys` set to its option (`ABSENT` removes the key)."""
    mixed = dict(live)
    for key in keys:
        value = options[key]
        if value is ABSENT:
            mixed.pop(key, None)
        else:
            mixed[key] = value
    return mixed


def choose_action(*, wanted: bool, exists: bool, forces_replacement: bool, differs: bool) -> Action:
    """Terraform's getAction: the one place an address's action is chosen from the facts."""
    if not wanted:
        return Action.DELETE if exists else Action.NOOP
    if not exists:
        return Action.CREATE
    if forces_replacement:
        return Action.REPLACE
    return Action.UPDATE if differs else Action.NOOP
