"""The monthly snapshot-storage cost of a plan per region, from image sizes and prices (SPEC §9)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.model.desired import (
    DesiredState,
    ImageSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.model.plan import Action, Change, CostEstimate, Plan, RegionCost
from reconciler.model.prices import SHIPPED_PRICES, PriceTable, RegionPrice

SIZE_KEY = "sizeGb"
"""Key of `Change.after` where the planner records the size (GiB) of an image it will create."""


def image_size_gb(image: ObservedImage) -> float:
    """An image's billed size: the sum of its snapshots' disk sizes, else its ImageSize."""
    if image.snapshots:
        return float(sum(s.disk_size for s in image.snapshots))
    return float(image.size_gb)


def source_size_gb(source: ImageSource, sizes: Mapping[str, int]) -> int | None:
    """The GiB of the disks an image made from `source` will hold, from the observed
    `ObservedCloud.source_sizes`: an instance's system disk plus the listed `dataDiskIds`, or
    the system and data snapshots. None when one of them is unknown; always None for `import`
    (the object's disk size is known only once imported) and `existing` (never made here)."""
    if isinstance(source, InstanceSource):
        ids = (source.instance_id, *source.data_disk_ids)
    elif isinstance(source, SnapshotsSource):
        ids = (source.system, *source.data)
    else:
        return None
    unique = tuple(dict.fromkeys(ids))
    if any(disk not in sizes for disk in unique):
        return None
    return sum(sizes[disk] for disk in unique)


def monthly_cost(gb: float, price: RegionPrice) -> float:
    """The monthly price of `gb` of an account's snapshots in one region, after the free tier."""
    return round(max(0.0, gb - price.free_tier_gb) * price.per_gb_month, 4)


@dataclass(slots=True)
class _RegionTally:
    """Running totals of one region while the plan's changes are applied to it."""

    account_before: float = 0.0
    stack_before: float = 0.0
    added: float = 0.0
    removed: float = 0.0
    stack_added: float = 0.0
    stack_removed: float = 0.0
    adopted: float = 0.0
    """Images the stack takes over (adoption): billed before and after, now the stack's."""
    forgotten: float = 0.0
    """Images the stack lets go (`forget`): billed before and after, no longer the stack's."""


def estimate_cost(
    desired: DesiredState,
    observed: ObservedCloud,
    plan: Plan,
    *,
    prices: PriceTable = SHIPPED_PRICES,
) -> CostEstimate:
    """Per region: the account's snapshot storage and its monthly cost before and after `plan`
    (`prices`: the table before the stack's `spec.pricing` overrides; default the shipped one)."""
    table = prices.with_overrides(desired.stack.pricing)
    stack = desired.stack.name
    by_id = {image.image_id: image for image in observed.images}
    tallies: defaultdict[str, _RegionTally] = defaultdict(_RegionTally)
    for image in observed.images:
        tally = tallies[image.region]
        tally.account_before += image_size_gb(image)
        if image.stack == stack:
            tally.stack_before += image_size_gb(image)

    sizes = _ChangeSizes(plan, observed, by_id, stack)
    for change in plan.changes:
        if not change.region:
            continue
        tally = tallies[change.region]
        current = by_id.get(change.image_id) if change.image_id else None
        current_gb = image_size_gb(current) if current else 0.0
        owned = current is not None and current.stack == stack
        if change.action is Action.CREATE:
            new_gb = sizes.new_image_gb(change)
            tally.added += new_gb
            tally.stack_added += new_gb
        elif change.action is Action.REPLACE:
            new_gb = sizes.new_image_gb(change)
            tally.added += new_gb
            tally.stack_added += new_gb
            tally.removed += current_gb
            tally.stack_removed += current_gb if owned else 0.0
        elif change.action is Action.DELETE:
            tally.removed += current_gb
            tally.stack_removed += current_gb if owned else 0.0
        elif change.action is Action.FORGET:
            tally.stack_removed += current_gb if owned else 0.0
            tally.forgotten += current_gb if owned else 0.0
        elif change.action is Action.UPDATE and current is not None and not owned:
            tally.stack_added += current_gb  # adoption: the image becomes the stack's
            tally.adopted += current_gb

    regions = _cost_regions(desired, plan, tallies)
    return CostEstimate(
        currency=table.currency,
        regions=tuple(_region_cost(region, tallies[region], table) for region in regions),
    )


def _cost_regions(
    desired: DesiredState, plan: Plan, tallies: Mapping[str, _RegionTally]
) -> list[str]:
    """The stack's regions, then any other region the plan touches or the stack has images in."""
    regions = list(desired.stack.regions)
    others = {c.region for c in plan.changes if c.region}
    others |= {region for region, tally in tallies.items() if tally.stack_before}
    regions += sorted(others - set(regions))
    return regions


def _region_cost(region: str, tally: _RegionTally, table: PriceTable) -> RegionCost:
    price = table.price(region)
    before = tally.account_before
    after = before + tally.added - tally.removed
    stack_after = tally.stack_before + tally.stack_added - tally.stack_removed
    return RegionCost(
        region=region,
        account_gb_before=before,
        account_gb_after=after,
        account_gb_peak=before + tally.added,
        free_tier_gb=price.free_tier_gb,
        price_per_gb_month=price.per_gb_month,
        monthly_before=monthly_cost(before, price),
        monthly_after=monthly_cost(after, price),
        stack_gb_before=tally.stack_before,
        stack_gb_after=stack_after,
        # Images that only change hands (adopted, forgotten) count on both sides: they are
        # billed before and after, so they are no part of the stack's share of the delta.
        stack_share_of_delta=round(
            _stack_marginal(after, stack_after + tally.forgotten, price)
            - _stack_marginal(before, tally.stack_before + tally.adopted, price),
            4,
        ),
    )


def _stack_marginal(account_gb: float, stack_gb: float, price: RegionPrice) -> float:
    """What the stack's images add to the account's bill: the bill with them minus without them."""
    return monthly_cost(account_gb, price) - monthly_cost(account_gb - stack_gb, price)


class _ChangeSizes:
    """Sizes of the images a plan creates: recorded by the planner, else inferred from the cloud."""

    def __init__(
        self,
        plan: Plan,
        observed: ObservedCloud,
        by_id: Mapping[str, ObservedImage],
        stack: str,
    ) -> None:
        self._changes = {c.address: c for c in plan.changes}
        self._by_id = by_id
        self._owned = {
            (i.address, i.region): i for i in observed.images if i.stack == stack and i.address
        }

    def new_image_gb(self, change: Change) -> float:
        """The size of the image a create or replace makes at `change.address`."""
        recorded = _recorded_size(change)
        if recorded is not None:
            return recorded
        home_address, _, copy_region = change.address.partition("@")
        if copy_region:  # a copy has its home image's disks
            return self._home_image_gb(home_address)
        current = self._by_id.get(change.image_id) if change.image_id else None
        # A replacement without a recorded size: assume the new image is as big as the old one.
        return image_size_gb(current) if current else 0.0

    def _home_image_gb(self, home_address: str) -> float:
        home_change = self._changes.get(home_address)
        if home_change is not None:
            recorded = _recorded_size(home_change)
            if recorded is not None:
                return recorded
            if home_change.image_id and home_change.image_id in self._by_id:
                return image_size_gb(self._by_id[home_change.image_id])
        for (address, _region), image in self._owned.items():
            if address == home_address:
                return image_size_gb(image)
        return 0.0


def _recorded_size(change: Change) -> float | None:
    if change.after is None:
        return None
    value = change.after.get(SIZE_KEY)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
