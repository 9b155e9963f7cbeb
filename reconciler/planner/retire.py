"""Retiring owned images: removed addresses, --destroy, deposed generations, delete or forget."""

from __future__ import annotations

from reconciler.model.desired import DeletionPolicy, DesiredImage
from reconciler.model.observed import TAG_LIFECYCLE, ObservedImage
from reconciler.model.plan import Action, Change
from reconciler.model.source import SourceRef
from reconciler.planner.applied import TaggedLifecycle
from reconciler.planner.context import PlanContext, located_address
from reconciler.planner.drift import check_drift
from reconciler.planner.records import image_view
from reconciler.planner.resolve import ResolvedImage
from reconciler.planner.shares import unshare_all
from reconciler.planner.targets import in_scope
from reconciler.planner.work import Disposal, Retirement


def destroy_group(ctx: PlanContext, name: str) -> None:
    """`--destroy` (or an Image that can't be resolved): retire what the stack owns of it."""
    if not ctx.options.destroy:
        return
    image = ctx.desired.image(name)
    home = image.address
    for address in ctx.ownership.addresses():
        if (address == home or address.startswith(home + "@")) and in_scope(ctx.scope, address):
            ctx.out.retirements += retire_address(
                ctx, address, ctx.ownership.at(address), why="--destroy", declared=image
            )


def retire_address(
    ctx: PlanContext,
    address: str,
    images: tuple[ObservedImage, ...],
    *,
    why: str,
    declared: DesiredImage | None,
    traced: SourceRef | None = None,
) -> list[Retirement]:
    """Delete or forget every image of an address; protect → a plan error. The lifecycle is
    the declared Image's, else the one recorded in the images' reconciler:lifecycle tag.
    `traced`: the manifest line the removal comes from when not the Image's (a region taken
    out of an ImageCopy document): its change, drift and unshares are traced there."""
    if not images:
        return []
    if declared is not None:
        flags = TaggedLifecycle.of(declared.lifecycle)
        origin = "lifecycle.protect"
        ref: SourceRef | None = declared.source_ref
    else:
        flags = TaggedLifecycle.parse(images[0].tags.get(TAG_LIFECYCLE))
        origin = "lifecycle.protect (recorded in its reconciler:lifecycle tag)"
        ref = None
    where = located_address(address, ref)
    ref = traced or ref
    for image in images:
        check_drift(ctx, address, image, declared, ref, deleting=not flags.retain)
    if flags.protect:
        ctx.out.errors.append(f"{where}: {origin} forbids deleting it")
        return []
    disposal = Disposal.FORGET if flags.retain else Disposal.DELETE
    retired = [
        Retirement(
            address=address,
            image=image,
            disposal=disposal,
            delete_snapshots=flags.delete_snapshots,
            kept_snapshots=ctx.source_snapshots,
        )
        for image in images
    ]
    _retirement_changes(ctx, address, retired, ref, why)
    return retired


def _retirement_changes(
    ctx: PlanContext, address: str, retired: list[Retirement], ref: SourceRef | None, why: str
) -> None:
    first = retired[0]
    ids = ", ".join(r.image.image_id for r in retired)
    verb = "are" if len(retired) > 1 else "is"
    if first.disposal is Disposal.FORGET:
        reason = f"deletionPolicy Retain: stop managing {ids}; the image and its shares stay"
        action = Action.FORGET
    elif why == "--destroy":
        reason = f"removes {ids} (deleted)"
        action = Action.DELETE
    elif why:
        reason = f"{ids} {verb} deleted"
        action = Action.DELETE
    else:
        reason = f"no longer declared: {ids} {verb} deleted"
        action = Action.DELETE
    if why:
        reason = f"{why}: {reason}"
    ctx.out.changes.append(
        Change(
            address=address,
            action=action,
            reason=reason,
            region=first.image.region,
            source=ref,
            before=image_view(first.image),
            image_id=first.image.image_id,
        )
    )
    if action is Action.DELETE:
        for retirement in retired:
            unshare_all(ctx, address, retirement.image, ref, "its image is deleted")


def depose(
    ctx: PlanContext, resolved: ResolvedImage, address: str, images: list[ObservedImage]
) -> list[Retirement]:
    lifecycle = resolved.desired.lifecycle
    disposal = (
        Disposal.FORGET if lifecycle.deletion_policy is DeletionPolicy.RETAIN else Disposal.DELETE
    )
    # The old image keeps its snapshots if either its own tag or the manifest says so.
    return [
        Retirement(
            address=address,
            image=img,
            disposal=disposal,
            delete_snapshots=lifecycle.delete_snapshots
            and TaggedLifecycle.parse(img.tags.get(TAG_LIFECYCLE)).delete_snapshots,
            kept_snapshots=ctx.source_snapshots,
        )
        for img in images
    ]


def protect_replacement(
    ctx: PlanContext, resolved: ResolvedImage, deposed: list[Retirement]
) -> None:
    image = resolved.desired
    if image.lifecycle.protect and deposed:
        ids = ", ".join(sorted({r.image.image_id for r in deposed}))
        ctx.out.errors.append(
            f"{located_address(image.address, image.source_ref)}: lifecycle.protect forbids "
            f"replacing it (the old generation {ids} would be deposed)"
        )
