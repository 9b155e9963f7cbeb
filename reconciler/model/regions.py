"""The Tencent Cloud region list (reference §7) and which regions are in mainland China."""

from __future__ import annotations

import json
from importlib.resources import files

REGIONS_FILE = "data/regions.json"
"""The region list, as data shipped in the package (the simulated cloud reads it too)."""

_REGION_DATA = json.loads(files("reconciler").joinpath(REGIONS_FILE).read_text(encoding="utf-8"))

REGIONS: tuple[str, ...] = tuple(str(region["id"]) for region in _REGION_DATA["regions"])
"""Every region ID of the Go SDK's `regions.go` (the same list as Packer's `ValidRegions`)."""

MAINLAND: frozenset[str] = frozenset(
    str(region["id"]) for region in _REGION_DATA["regions"] if region["mainland"]
)
"""Regions in mainland China (ap-hongkong is not: it is priced like overseas)."""


def is_region(name: str) -> bool:
    """Whether `name` is a Tencent Cloud region ID."""
    return name in _REGION_SET


def is_mainland(region: str) -> bool:
    """Whether `region` is in mainland China."""
    return region in MAINLAND


_REGION_SET = frozenset(REGIONS)
