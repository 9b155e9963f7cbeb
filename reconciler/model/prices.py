"""Snapshot-storage prices per region: the table shipped in `reconciler/data/prices.json`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from reconciler.model.desired import PricingConfig

PRICES_FILE = "data/prices.json"
"""The shipped price table, as data in the package."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionPrice:
    """The price and free tier of snapshot storage in one region."""

    per_gb_month: float
    free_tier_gb: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceTable:
    """Snapshot-storage prices per region; regions not listed cost `default_per_gb_month`."""

    currency: str
    default_per_gb_month: float
    regions: Mapping[str, RegionPrice] = field(default_factory=dict)

    def price(self, region: str) -> RegionPrice:
        return self.regions.get(region, RegionPrice(per_gb_month=self.default_per_gb_month))

    def with_overrides(self, pricing: PricingConfig) -> PriceTable:
        """This table with `Stack.spec.pricing` applied (a region override beats the default)."""
        default = pricing.default_per_gb_month
        regions = dict(self.regions)
        for region in {*pricing.per_gb_month, *pricing.free_tier_gb}:
            base = regions.get(
                region, RegionPrice(per_gb_month=default or self.default_per_gb_month)
            )
            regions[region] = RegionPrice(
                per_gb_month=pricing.per_gb_month.get(region, base.per_gb_month),
                free_tier_gb=pricing.free_tier_gb.get(region, base.free_tier_gb),
            )
        return PriceTable(
            currency=pricing.currency,
            default_per_gb_month=self.default_per_gb_month if default is None else default,
            regions=regions,
        )


def price_table(data: Mapping[str, Any]) -> PriceTable:
    """A price table from the parsed JSON of `prices.json`."""
    return PriceTable(
        currency=str(data["currency"]),
        default_per_gb_month=float(data["default_per_gb_month"]),
        regions={
            str(region): RegionPrice(
                per_gb_month=float(entry["per_gb_month"]),
                free_tier_gb=float(entry.get("free_tier_gb", 0)),
            )
            for region, entry in data["regions"].items()
        },
    )


SHIPPED_PRICES: PriceTable = price_table(
    json.loads(files("reconciler").joinpath(PRICES_FILE).read_text(encoding="utf-8"))
)
"""The price table shipped in the package (before a stack's `spec.pricing` overrides)."""
