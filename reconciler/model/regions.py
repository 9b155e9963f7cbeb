"""The Tencent Cloud region list (reference §7) and which regions are in mainland China."""

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
"""Every region ID of the Go SDK's `regions.go` (the same list as Packer's `ValidRegions`)."""

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
"""Regions in mainland China (ap-hongkong is not: it is priced like overseas)."""


def is_region(name: str) -> bool:
    """Whether `name` is a Tencent Cloud region ID."""
    return name in _REGION_SET


def is_mainland(region: str) -> bool:
    """Whether `region` is in mainland China."""
    return region in MAINLAND


_REGION_SET = frozenset(REGIONS)
