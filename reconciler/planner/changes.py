"""Resource-level changes and work of the desired state against the owned images (SPEC §3-§4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from reconciler.model.desired import DesiredCopy, DesiredState
from reconciler.model.observed import ObservedImage
from reconciler.model.plan import Change, PlanOptions
from reconciler.model.source import SourceRef
from reconciler.planner.context import PlanContext, located_address
from reconciler.planner.cost import SIZE_KEY, image_size_gb, source_size_gb
from reconciler.planner.drift import remaining_drift
from reconciler.planner.image import ImageOutcome, ImagePlacement, plan_image
from reconciler.planner.ownership import NameHolder, Ownership, is_untagged, matches_generation
from reconciler.planner.resolve import ResolvedImage
from reconciler.planner.retire import depose, destroy_group, protect_replacement, retire_address
from reconciler.planner.shares import shared_accounts, targeted_unshares
from reconciler.planner.targets import copy_address, in_scope, parse_address
from reconciler.planner.work import GroupWork, PlannedWork, Retirement


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSet:
    """Everything the diff decided: changes, drift, the per-image work, and plan errors."""

    changes: tuple[Change, ...]
    drift: tuple[Change, ...]
    work: PlannedWork
    errors: tuple[str, ...]


class ChangePlanner:
    """Decides, per address, what changes and what work it needs; pure over its inputs."""

    def __init__(self, ctx: PlanContext, resolved: Mapping[str, ResolvedImage]) -> None:
        self.ctx = ctx
        self.resolved = resolved

    # ----------------------------------------------------------------- entry point

    def run(self) -> ChangeSet:
        ctx = self.ctx
        declared = {image.name for image in ctx.desired.images}
        for image in ctx.desired.images:
            resolved = self.resolved.get(image.address)
            if ctx.options.destroy or resolved is None:
                destroy_group(ctx, image.name)
            else:
                self._plan_group(resolved)
        for address in ctx.ownership.addresses():
            parsed = parse_address(address)
            if parsed is not None and parsed.name in declared:
                continue
            if in_scope(ctx.scope, address):
                ctx.out.retirements += retire_address(
                    ctx, address, ctx.ownership.at(address), why="", declared=None
                )
        targeted_unshares(ctx)
        remaining_drift(ctx)
        out = ctx.out
        drift = {(c.address, c.action, c.reason, c.image_id): c for c in out.drift}
        return ChangeSet(
            changes=tuple(sorted(out.changes, key=lambda c: c.address)),
            drift=tuple(sorted(drift.values(), key=lambda c: (c.address, c.image_id or ""))),
            work=PlannedWork(groups=tuple(out.groups), retirements=tuple(out.retirements)),
            errors=tuple(out.errors),
        )

    # ----------------------------------------------------------------- a declared image

    def _plan_group(self, resolved: ResolvedImage) -> None:
        ctx = self.ctx
        image = resolved.desired
        home_addr = resolved.address
        owned_home = ctx.ownership.at(home_addr)
        current = self._current_home(resolved)
        group_accounts = shared_accounts(ctx, resolved)
        deposed_images = [img for img in owned_home if img is not current]
        home_out: ImageOutcome | None = None
        copies_out: list[ImageOutcome] = []
        deposed: list[Retirement] = []
        removed: list[Retirement] = []
        replacing = False

        if in_scope(ctx.scope, home_addr) and (current is not None or not resolved.is_existing):
            deposed = depose(ctx, resolved, home_addr, deposed_images)
            replacing = bool(deposed)
            home_out = self._home(resolved, current, deposed_images, group_accounts)
        home_live = home_out.work.live if home_out else current
        if home_live is not None and home_live.state.failed:
            home_live = None
        home_split = home_out.split if home_out is not None else None

        declared_regions = {c.region: c for c in ctx.desired.copies_of(image.name)}
        owned_copy_addresses = [
            a for a in ctx.ownership.addresses() if a.startswith(home_addr + "@")
        ]
        copy_addresses = sorted(
            {c.address for c in declared_regions.values()} | set(owned_copy_addresses)
        )
        for address in copy_addresses:
            if not in_scope(ctx.scope, address):
                continue
            region = address.split("@", 1)[1]
            owned = ctx.ownership.at(address)
            if region not in declared_regions:
                # Old-generation copies go with the old generation (create-before-destroy:
                # after the new images and shares); copies of the current one go at once.
                for retirement in retire_address(
                    ctx,
                    address,
                    owned,
                    why="copy region removed",
                    declared=image,
                    traced=_copy_document(declared_regions.values()),
                ):
                    if matches_generation(retirement.image, resolved.generation):
                        removed.append(retirement)
                    else:
                        deposed.append(retirement)
                continue
            if resolved.copy_name is None or (home_out is None and home_live is None):
                continue
            deleted_outside = home_split is not None and f"copies.{region}" in home_split.drifted
            outcome, old = self._copy(
                resolved,
                address,
                region,
                declared_regions[region].source_ref,
                group_accounts,
                deleted_outside=deleted_outside,
            )
            deposed += old
            copies_out.append(outcome)
        if replacing or deposed:
            protect_replacement(ctx, resolved, deposed)
        # New images record their size for the cost estimate: a home image has its source's
        # disks; a copy has its live home image's, else those of the home image being made.
        home_size = source_size_gb(image.source, ctx.source_sizes)
        copy_size = _live_size_gb(home_live) if home_live is not None else home_size
        if home_out is not None:
            ctx.out.changes.append(_with_size(home_out, home_size))
        ctx.out.changes.extend(_with_size(outcome, copy_size) for outcome in copies_out)
        ctx.out.groups.append(
            GroupWork(
                address=home_addr,
                home=home_out.work if home_out else None,
                copies=tuple(o.work for o in copies_out),
                deposed=tuple(deposed),
                removed=tuple(removed),
            )
        )

    def _current_home(self, resolved: ResolvedImage) -> ObservedImage | None:
        """The home image kept (or adopted) for the desired generation, if any."""
        ctx = self.ctx
        image = resolved.desired
        where = located_address(image.address, image.source_ref)
        if resolved.is_existing:
            found = resolved.existing
            if found is None:
                return None
            if is_untagged(found) or (ctx.ownership.owns(found) and found.address == image.address):
                return found
            ctx.out.errors.append(
                f"{where}: {ctx.ownership.describe_holder(found)} is not this stack's to adopt"
            )
            return None
        candidates = [
            img
            for img in ctx.ownership.at(image.address)
            if img.region == image.region and matches_generation(img, resolved.generation)
        ]
        candidates.sort(key=lambda img: (img.name != resolved.home_name, img.image_id))
        name = str(resolved.home_name)
        holder, held_by = ctx.ownership.holder(image.region, name, image.address)
        if holder is NameHolder.FOREIGN and held_by is not None:
            ctx.out.errors.append(
                f"{where}: the image name {name} in {image.region} is held by "
                f"{ctx.ownership.describe_holder(held_by)}; rename imageName or remove that image"
            )
        if candidates:
            return candidates[0]
        if holder is NameHolder.ADOPTABLE:
            return held_by
        return None

    def _home(
        self,
        resolved: ResolvedImage,
        current: ObservedImage | None,
        deposed: list[ObservedImage],
        group_accounts: set[str],
    ) -> ImageOutcome:
        ctx = self.ctx
        image = resolved.desired
        home_addr = image.address
        live_copy_regions = sorted(
            {
                img.region
                for address, images in ctx.ownership.by_address.items()
                if address.startswith(home_addr + "@")
                for img in images
                if matches_generation(img, resolved.generation) and not img.state.failed
            }
        )
        declared_copies = {c.region for c in ctx.desired.copies_of(image.name)}
        copy_regions = sorted(
            {r for r in declared_copies if in_scope(ctx.scope, copy_address(image.name, r))}
            | {r for r in live_copy_regions if not in_scope(ctx.scope, copy_address(image.name, r))}
        )
        place = ImagePlacement.home(
            address=home_addr,
            region=image.region,
            name=resolved.home_name,
            ref=image.source_ref,
            desired_copies=copy_regions,
            live_copies=live_copy_regions,
        )
        return plan_image(
            ctx, resolved, place, current=current, deposed=deposed, group_accounts=group_accounts
        )

    def _copy(
        self,
        resolved: ResolvedImage,
        address: str,
        region: str,
        ref: SourceRef,
        group_accounts: set[str],
        *,
        deleted_outside: bool = False,
    ) -> tuple[ImageOutcome, list[Retirement]]:
        ctx = self.ctx
        name = str(resolved.copy_name)
        owned = ctx.ownership.at(address)
        candidates = [
            img
            for img in owned
            if img.region == region and matches_generation(img, resolved.generation)
        ]
        candidates.sort(key=lambda img: (img.name != name, img.image_id))
        holder, held_by = ctx.ownership.holder(region, name, address)
        current: ObservedImage | None = None
        if candidates:
            current = candidates[0]
        elif holder is NameHolder.ADOPTABLE:
            current = held_by
        if holder is NameHolder.FOREIGN and held_by is not None:
            ctx.out.errors.append(
                f"{located_address(address, ref)}: the image name {name} in {region} is held by "
                f"{ctx.ownership.describe_holder(held_by)}; remove that image, or change the "
                "Image's imageName (a copy carries its image's name)"
            )
        old = [img for img in owned if img is not current]
        place = ImagePlacement.copy(
            address=address, region=region, name=name, ref=ref, deleted_outside=deleted_outside
        )
        outcome = plan_image(
            ctx, resolved, place, current=current, deposed=old, group_accounts=group_accounts
        )
        return outcome, depose(ctx, resolved, address, old)


def _copy_document(copies: Iterable[DesiredCopy]) -> SourceRef | None:
    """Where a removed copy region of an image was declared: the ImageCopy document that
    still declares its other regions (their `regions` list), when there is just one file of
    them; None (the Image document) when no copy of it is left or they are in several files."""
    refs = sorted((c.source_ref for c in copies), key=lambda ref: (ref.file, ref.line))
    if not refs or len({ref.file for ref in refs}) > 1:
        return None
    return refs[0]


def _live_size_gb(image: ObservedImage) -> int | None:
    """An observed image's size in whole GiB; None when the cloud reports none."""
    return int(image_size_gb(image)) or None


def _with_size(outcome: ImageOutcome, size_gb: int | None) -> Change:
    """The change, with `after[sizeGb]` when it makes a new image (create or replace)."""
    change = outcome.change
    if outcome.work.live is not None or size_gb is None or change.after is None:
        return change
    return replace(change, after={**change.after, SIZE_KEY: size_gb})


def plan_changes(
    desired: DesiredState,
    resolved: Mapping[str, ResolvedImage],
    ownership: Ownership,
    options: PlanOptions,
    scope: frozenset[str] | None,
    *,
    source_sizes: Mapping[str, int] | None = None,
) -> ChangeSet:
    """Diff the desired state against the owned images: changes, drift, work and errors.

    `source_sizes` (GiB by instance, disk or snapshot ID) size the new images for the cost.
    """
    ctx = PlanContext(desired, ownership, options, scope, source_sizes=source_sizes)
    return ChangePlanner(ctx, resolved).run()
