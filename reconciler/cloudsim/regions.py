"""The Tencent Cloud regions and availability zones the simulated cloud serves (reference §7)."""

from __future__ import annotations

REGIONS: tuple[str, ...] = (
    "ap-bangkok",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-guangzhou",
    "ap-guangzhou-open",
    "ap-hongkong",
    "ap-jakarta",
    "ap-mumbai",
    "ap-nanjing",
    "ap-seoul",
    "ap-shanghai",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-singapore",
    "ap-tokyo",
    "eu-frankfurt",
    "eu-moscow",
    "na-ashburn",
    "na-siliconvalley",
    "na-toronto",
    "sa-saopaulo",
)
"""Every region ID of the Go SDK's `regions.go` (kept here: the simulated cloud imports no core)."""

MAINLAND: frozenset[str] = frozenset(
    {
        "ap-beijing",
        "ap-chengdu",
        "ap-chongqing",
        "ap-guangzhou",
        "ap-guangzhou-open",
        "ap-nanjing",
        "ap-shanghai",
        "ap-shanghai-fsi",
        "ap-shenzhen-fsi",
    }
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
