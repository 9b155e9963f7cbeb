"""The Tencent Cloud regions and availability zones the simulated cloud serves (reference §7)."""

from __future__ import annotations

import json
from importlib.resources import files

REGIONS_FILE = "data/regions.json"
"""The region list, as data shipped in the package: the core reads the same file (the simulated
cloud imports no core)."""

_REGION_DATA = json.loads(files("reconciler").joinpath(REGIONS_FILE).read_text(encoding="utf-8"))

REGIONS: tuple[str, ...] = tuple(str(region["id"]) for region in _REGION_DATA["regions"])
"""Every region ID of the Go SDK's `regions.go`."""

MAINLAND: frozenset[str] = frozenset(
    str(region["id"]) for region in _REGION_DATA["regions"] if region["mainland"]
)
"""Regions in mainland China (for the optional mainland ↔ overseas copy restriction)."""

_ZONE_NUMBERS: dict[str, tuple[int, ...]] = {
    "ap-guangzhou": (3, 4, 6, 7),
    "ap-shanghai": (2, 3, 4, 5),
    "ap-beijing": (3, 5, 6, 7),
    "ap-singapore": (1, 2, 3, 4),
    "ap-hongkong": (2, 3),
    "ap-tokyo": (1, 2),
}


def is_region(name: str) -> bool:
    """Whether `name` is a region the simulated cloud serves."""
    return name in _REGION_SET


def zones(region: str) -> tuple[str, ...]:
    """The availability zones of `region`, e.g. `ap-guangzhou-3`."""
    return tuple(f"{region}-{n}" for n in _ZONE_NUMBERS.get(region, (1, 2)))


def region_of_zone(zone: str) -> str | None:
    """The region a zone belongs to, or None when it is no zone of a known region."""
    region, _, number = zone.rpartition("-")
    return region if is_region(region) and zone in zones(region) and number else None


_REGION_SET = frozenset(REGIONS)
