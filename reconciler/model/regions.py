"""The Tencent Cloud region list (reference §7)."""

from __future__ import annotations

import json
from importlib.resources import files

REGIONS_FILE = "data/regions.json"
"""The region list, as data shipped in the package (the simulated cloud reads it too)."""

_REGION_DATA = json.loads(files("reconciler").joinpath(REGIONS_FILE).read_text(encoding="utf-8"))

REGIONS: tuple[str, ...] = tuple(str(region["id"]) for region in _REGION_DATA["regions"])
"""Every region ID of the Go SDK's `regions.go` (the same list as Packer's `ValidRegions`)."""


def is_region(name: str) -> bool:
    """Whether `name` is a Tencent Cloud region ID."""
    return name in _REGION_SET


_REGION_SET = frozenset(REGIONS)
