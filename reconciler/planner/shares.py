"""Share and unshare changes: the accounts of an Image, in scope, and its new recipients."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from reconciler.model.observed import ObservedImage
from reconciler.model.plan import Action, Change
from reconciler.model.source import SourceRef
from reconciler.planner.context import PlanContext
from reconciler.planner.diff import DriftSplit
from reconciler.planner.ownership import NameHolder
from reconciler.planner.resolve import ResolvedImage
from reconciler.planner.targets import in_scope, parse_address, share_address
from reconciler.planner.work import GroupWork, ImageWork


def shared_accounts(ctx: PlanContext, resolved: ResolvedImage) -> set[str]:
    """Accounts with a live share of any image of this Image: owned ones, and the untagged
    ones it adopts by exact name (a new recipient is an account with none of them)."""
    home_addr = resolved.address
    image = resolved.desired
    accounts = {
        account
        for _, images in ctx.owned_of(image.name)
        for img in images
        for account in img.shares or ()
    }
    names = []
    if resolved.home_name is not None:
        names.append((image.region, resolved.home_name))
    if resolved.copy_name is not None:
        names += [(c.region, resolved.copy_name) for c in ctx.desired.copies_of(image.name)]
    if resolved.existing is not None:
        accounts |= set(resolved.existing.shares or ())
    for region, name in names:
        holder, held_by = ctx.ownership.holder(region, name, home_addr)
        if holder is NameHolder.ADOPTABLE and held_by is not None:
            accounts |= set(held_by.shares or ())
    return accounts


def scoped_accounts(
    ctx: PlanContext, name: str, region: str, live: ObservedImage | None
) -> tuple[str, ...]:
    """Declared accounts in scope, plus live ones whose share address is out of scope."""
    declared = {s.account for s in ctx.desired.shares_of(name, region)}
    live_accounts = set(live.shares or ()) if live is not None else set()
    accounts = {a for a in declared if in_scope(ctx.scope, share_address(name, region, a))}
    accounts |= {
        a for a in live_accounts if not in_scope(ctx.scope, share_address(name, region, a))
    }
    return tuple(sorted(accounts))


def share_changes(
    ctx: PlanContext,
    name: str,
    region: str,
    accounts: tuple[str, ...],
    *,
    current: ObservedImage | None,
    previous: Mapping[str, str],
    split: DriftSplit,
    group_accounts: set[str],
    replaced: bool,
    shared_outside: Collection[str] = (),
    image_ref: SourceRef | None = None,
) -> None:
    """Share changes of one image. Shares recreated on a replacement's new image belong to
    the replacement (no-op), whether it is made now or was made by an interrupted apply.

    `previous`: accounts of the replaced images → the ID of the image shared with them;
    `shared_outside`: those of them the stack never shared (drift); `image_ref`: the image's
    manifest line, where a share made outside (never declared) is traced, as in the drift."""
    declared = {s.account: s for s in ctx.desired.shares_of(name, region)}
    live = set(current.shares or ()) if current is not None else set()
    wanted = set(accounts)
    image_id = current.image_id if current is not None else None
    for account in sorted(wanted | live | previous.keys()):
        address = share_address(name, region, account)
        if not in_scope(ctx.scope, address) and account not in previous:
            continue
        spec = declared.get(account)
        drifted = f"shares.{account}" in split.drifted
        outside = drifted or (account in shared_outside and account not in live)
        ref = spec.source_ref if spec is not None else image_ref if outside else None
        if account in wanted and account in live:
            action, reason = Action.NOOP, "shared"
        elif account in wanted and account in previous and replaced:
            action, reason = Action.NOOP, "shared again on the replacement image"
        elif account in wanted:
            action = Action.SHARE
            reason = (
                "drift: the share was cancelled outside the stack"
                if drifted
                else "declared and not shared"
            )
        elif account in live:
            action = Action.UNSHARE
            reason = "drift: shared outside the stack" if drifted else "no longer declared"
        else:
            action = Action.UNSHARE
            reason = (
                "drift: shared outside the stack; the replaced image is deleted"
                if account in shared_outside
                else "the replaced image was shared with it; the new one is not"
            )
        old_id = previous.get(account) if account not in live else None
        before_id = image_id if account in live else old_id
        ctx.out.changes.append(
            Change(
                address=address,
                action=action,
                reason=reason,
                region=region,
                source=ref,
                before={"account": account, "imageId": before_id}
                if account in live or old_id
                else None,
                after={"account": account, "imageId": image_id} if account in wanted else None,
                new_recipient=action is Action.SHARE and account not in group_accounts,
                image_id=image_id or old_id,
            )
        )


def targeted_unshares(ctx: PlanContext) -> None:
    """`--target` of a share no longer declared, on an image out of scope: only that share
    is cancelled (nothing else of its image is planned, e.g. a removed copy's deletion)."""
    if ctx.scope is None:
        return
    for address, images in sorted(ctx.ownership.by_address.items()):
        parsed = parse_address(address)
        if parsed is None or in_scope(ctx.scope, address):
            continue
        declared = ctx.declared_image(address)
        ref = declared.source_ref if declared is not None else None
        for image in images:
            accounts = tuple(
                a
                for a in image.shares or ()
                if in_scope(ctx.scope, share_address(parsed.name, image.region, a))
            )
            if not accounts:
                continue
            work = ImageWork(
                address=address,
                region=image.region,
                name=image.name,
                live=image,
                cancel=accounts,
            )
            ctx.out.groups.append(GroupWork(address=address, home=None, copies=(work,)))
            ctx.out.changes += [
                _unshare(parsed.name, image, account, ref, "no longer declared")
                for account in accounts
            ]


def unshare_all(
    ctx: PlanContext, address: str, image: ObservedImage, ref: SourceRef | None, why: str
) -> None:
    parsed = parse_address(address)
    if parsed is None:
        return
    for account in image.shares or ():
        ctx.out.changes.append(_unshare(parsed.name, image, account, ref, why))


def _unshare(
    name: str, image: ObservedImage, account: str, ref: SourceRef | None, why: str
) -> Change:
    """The change cancelling `image`'s share with `account`, `why` first in its reason."""
    return Change(
        address=share_address(name, image.region, account),
        action=Action.UNSHARE,
        reason=f"{why}: {account} loses access to {image.image_id}",
        region=image.region,
        source=ref,
        before={"account": account, "imageId": image.image_id},
        image_id=image.image_id,
    )
