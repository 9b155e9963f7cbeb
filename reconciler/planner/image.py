"""One image of a declared Image: keep, adopt or make it, and report what it replaces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.model.desired import DeletionPolicy, Lifecycle, SnapshotsSource
from reconciler.model.observed import (
    TAG_APPLIED,
    TAG_LIFECYCLE,
    TAG_PREFIX,
    TAG_SOURCE,
    ObservedImage,
)
from reconciler.model.plan import Change, FieldDiff
from reconciler.model.source import SourceRef
from reconciler.planner.applied import (
    AppliedRecord,
    TaggedLifecycle,
    applied_hash,
    is_ignored,
    managed_tags,
    source_tag,
)
from reconciler.planner.context import PlanContext, located_address
from reconciler.planner.diff import DriftSplit, choose_action, field_diffs, split_drift
from reconciler.planner.drift import (
    check_drift,
    own_cancel,
    own_partial_apply,
    record_alternatives,
    recorded_before_ignoring,
    report_drift,
    unknown_reason,
)
from reconciler.planner.made import made_image
from reconciler.planner.ownership import NameHolder
from reconciler.planner.records import (
    declared_record,
    image_view,
    initial_record,
    is_field,
    name_diffs,
    observed_record,
    record_view,
)
from reconciler.planner.resolve import ResolvedImage
from reconciler.planner.shares import scoped_accounts, share_changes
from reconciler.planner.work import Disposal, ImageWork, Retirement

ATTRIBUTE_PARAMS: Mapping[str, str] = {
    "imageName": "ImageName",
    "description": "ImageDescription",
    "family": "ImageFamily",
    "deprecated": "ImageDeprecated",
}
"""Applied-record paths changed through ModifyImageAttribute, and their API parameter."""

ADOPT_INTERRUPTED = "adopting interrupted create"
ADOPT_FORGOTTEN = "adopting an image this stack forgot earlier"
"""An untagged image with this stack's exact name and user tags or shares: made by this stack,
then forgotten (deletionPolicy Retain), and declared again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageOutcome:
    """What planning one image decided: its work and change, and its drift split."""

    work: ImageWork
    change: Change
    split: DriftSplit = field(default_factory=lambda: DriftSplit(frozenset(), frozenset()))
    """The kept image's drift split (a home's tells which of its copies were deleted outside)."""


def plan_image(
    ctx: PlanContext,
    resolved: ResolvedImage,
    *,
    address: str,
    region: str,
    name: str | None,
    current: ObservedImage | None,
    deposed: list[ObservedImage],
    ref: SourceRef,
    copies: tuple[list[str], list[str]] | None,
    group_accounts: set[str],
    deleted_outside: bool = False,
) -> ImageOutcome:
    """Keep, adopt or make one image (home when `copies` is given, else a copy)."""
    image = resolved.desired
    is_home = copies is not None
    desired_copies, live_copies = copies if copies is not None else ([], [])
    ignore = image.lifecycle.ignore_changes
    # Drift of the images this one replaces is reported before they go.
    shared_outside: set[str] = set()
    deleting = image.lifecycle.deletion_policy is DeletionPolicy.DELETE
    for old in deposed:
        old_split = check_drift(ctx, address, old, image, ref, deleting=deleting)
        shared_outside |= {
            k[len("shares.") :]
            for k in old_split.drifted
            if k.startswith("shares.") and k[len("shares.") :] in (old.shares or ())
        }
    if current is not None and not current.state.failed and name not in {None, current.name}:
        _check_rename(
            ctx,
            resolved,
            address,
            region=region,
            name=str(name),
            current=current,
            ref=ref,
            is_home=is_home,
        )
    clear_first: tuple[Retirement, ...] = ()
    reasons: list[str] = []
    if current is not None and current.state.failed:
        check_drift(ctx, address, current, image, ref, deleting=True)
        clear_first = (
            Retirement(
                address=address,
                image=current,
                disposal=Disposal.DELETE,
                delete_snapshots=True,
                kept_snapshots=ctx.source_snapshots,
            ),
        )
        reasons.append(
            f"{current.image_id} is {current.state.value} and holds the name: "
            "it is deleted and made again"
        )
        current = None
    accounts = scoped_accounts(ctx, image.name, region, current)
    desired_record = declared_record(image, name=name, shares=accounts, copies=desired_copies)
    final_applied = applied_hash(desired_record)
    # Home images this stack makes record their source, so a replacement can name the
    # field that forces it; images made before that tag existed are not re-tagged for it.
    records_source = (
        is_home
        and not resolved.is_existing
        and (current is None or not ctx.ownership.owns(current) or TAG_SOURCE in current.tags)
    )
    target_tags = managed_tags(
        stack=ctx.stack,
        address=address,
        generation=resolved.generation,
        lifecycle=image.lifecycle,
        applied=final_applied,
        revision=resolved.revision,
        user_tags=image.tags,
        source=source_tag(image.source) if records_source else None,
        user_snapshots=is_home and isinstance(image.source, SnapshotsSource),
    )
    previous_accounts = {a: img.image_id for img in deposed for a in img.shares or ()}
    split = DriftSplit(frozenset(), frozenset())
    suffixed = not (is_home and resolved.is_existing)
    if current is None:
        work, change = made_image(
            resolved,
            address,
            region=region,
            name=name,
            desired_record=desired_record,
            target_tags=target_tags,
            deposed=deposed,
            ref=ref,
        )
        work = replace(work, clear_first=clear_first)
        if reasons:
            change = _with_reason(change, reasons[0])
        if not is_home and deleted_outside:
            change = _with_reason(
                change, f"drift: the copy in {region} was deleted outside the stack"
            )
    else:
        owned = ctx.ownership.owns(current)
        live_record = observed_record(
            current, name_managed=name is not None, copies=live_copies, ignore_changes=ignore
        )
        if owned:
            split = split_drift(
                live_record,
                desired_record,
                current.tags.get(TAG_APPLIED),
                alternatives=record_alternatives(
                    ctx,
                    image.name,
                    current,
                    is_home=is_home,
                    live=live_record,
                    reference=desired_record,
                    ignore=ignore,
                ),
                initial=initial_record(desired_record, is_home=is_home),
            )
            if ATTRIBUTE_PARAMS.keys() & (split.changed | split.drifted):
                split = own_cancel(split, live_record)
            split = own_partial_apply(split, live_record)
            report_drift(
                ctx,
                name=image.name,
                address=address,
                image=current,
                live=live_record,
                split=split,
                ref=ref,
                suffixed=suffixed,
            )
        else:
            split = split_drift(live_record, desired_record, None)
        work, change = kept_image(
            resolved,
            address=address,
            current=current,
            owned=owned,
            live_record=live_record,
            desired_record=desired_record,
            split=split,
            target_tags=target_tags,
            accounts=accounts,
            deposed=deposed,
            ref=ref,
            suffixed=suffixed,
            ignore_added=owned
            and recorded_before_ignoring(
                current, split, name_managed=name is not None, copies=live_copies, ignore=ignore
            ),
        )
    share_changes(
        ctx,
        image.name,
        region,
        accounts,
        current=current,
        previous=previous_accounts,
        shared_outside=shared_outside,
        split=split,
        group_accounts=group_accounts,
        replaced=bool(deposed),
        image_ref=ref,
    )
    return ImageOutcome(work=work, change=change, split=split)


def _check_rename(
    ctx: PlanContext,
    resolved: ResolvedImage,
    address: str,
    *,
    region: str,
    name: str,
    current: ObservedImage,
    ref: SourceRef,
    is_home: bool,
) -> None:
    """A kept image renamed to a name another image (any owner) holds in its region: the
    API refuses it (InvalidImageName.Duplicate), so it is a plan error (SPEC §3). Names a
    foreign image holds are already reported for made homes and copies."""
    others = [i for i in ctx.ownership.by_name.get((region, name), ()) if i is not current]
    if not others:
        return
    holder, _ = ctx.ownership.holder(region, name, address)
    if holder is NameHolder.FOREIGN and not (is_home and resolved.is_existing):
        return
    fix = (
        "change imageName or remove that image"
        if is_home
        else "remove that image, or change the Image's imageName (a copy carries its image's name)"
    )
    ctx.out.errors.append(
        f"{located_address(address, ref)}: can't rename {current.image_id} to {name} in {region}: "
        f"the name is held by {ctx.ownership.describe_holder(others[0])}; {fix}"
    )


def kept_image(
    resolved: ResolvedImage,
    *,
    address: str,
    current: ObservedImage,
    owned: bool,
    live_record: AppliedRecord,
    desired_record: AppliedRecord,
    split: DriftSplit,
    target_tags: Mapping[str, str],
    accounts: tuple[str, ...],
    deposed: list[ObservedImage],
    ref: SourceRef,
    suffixed: bool,
    ignore_added: bool = False,
) -> tuple[ImageWork, Change]:
    """An image that stays: attribute and tag updates, shares, drift. `ignore_added`: its
    `reconciler:applied` is the live record under an `ignoreChanges` without paths added
    to it since (see `recorded_before_ignoring`)."""
    image = resolved.desired
    region = current.region
    changed = sorted(k for k in split.changed if is_field(k))
    drifted = sorted(k for k in split.drifted if is_field(k))
    attributes = {
        ATTRIBUTE_PARAMS[k]: desired_record.get(k, "")
        for k in sorted({*changed, *drifted})
        if k in ATTRIBUTE_PARAMS
    }
    live_accounts = set(current.shares or ())
    share = tuple(a for a in accounts if a not in live_accounts)
    cancel = tuple(sorted(live_accounts - set(accounts)))
    reshare: tuple[str, ...] = ()
    disruptive = bool(attributes and live_accounts)
    if disruptive:
        reshare = tuple(sorted(live_accounts & set(accounts)))
        cancel = tuple(sorted(live_accounts))
    replace_tags, delete_tags = tag_operations(
        current.tags, target_tags, image.lifecycle.ignore_changes
    )
    work = ImageWork(
        address=address,
        region=region,
        name=current.name,
        live=current,
        attributes=attributes,
        share=share,
        cancel=cancel,
        reshare=reshare,
        replace_tags=replace_tags,
        delete_tags=delete_tags,
    )
    reasons: list[str] = []
    if not owned:
        if resolved.is_existing and address == image.address:
            reasons.append(f"adopting existing image {current.image_id}")
        elif current.user_tags or current.shares:
            # A create interrupted before its tags has no user tags, and no shares (they
            # come after the tags): this one was tagged and shared once, then forgotten.
            reasons.append(ADOPT_FORGOTTEN)
        else:
            reasons.append(ADOPT_INTERRUPTED)
    elif split.interrupted and changed:
        reasons.append("completing an interrupted apply")
    reasons += [f"{k} changed" for k in changed]
    reasons += [f"drift: {k} changed outside the stack" for k in drifted]
    if split.unknown:
        reasons.append(f"drift: {unknown_reason(split)}")
    diffs = name_diffs(
        field_diffs(live_record, desired_record, [*changed, *drifted]), suffixed=suffixed
    )
    if owned:
        lifecycle = _lifecycle_diffs(current.tags.get(TAG_LIFECYCLE), image.lifecycle)
        if lifecycle:
            reasons.append("lifecycle changed")
            diffs = diffs + lifecycle
    ownership_fix = {k for k in {*replace_tags, *delete_tags} if k.startswith(TAG_PREFIX)} - {
        TAG_APPLIED,
        TAG_LIFECYCLE,
    }
    if owned and ownership_fix and not reasons:
        reasons.append("reconciler tags out of date: " + ", ".join(sorted(ownership_fix)))
    if deposed:
        ids = ", ".join(old.image_id for old in deposed)
        reasons.append(f"completing an interrupted replacement: deposing {ids}")
    if current.state.busy:
        reasons.append(f"waiting for {current.image_id} ({current.state.value}) to finish")
    if not reasons and (replace_tags or delete_tags):
        # Only tags that no diff shows are rewritten: a repair is still a change.
        repair = _record_reason(split, replace_tags, delete_tags, ignore_added=ignore_added)
        reasons += [repair] if repair else []
    action = choose_action(
        wanted=True,
        exists=True,
        forces_replacement=bool(deposed),
        differs=bool(reasons),
    )
    change = Change(
        address=address,
        action=action,
        reason="; ".join(reasons) if reasons else "up to date",
        region=region,
        diff=diffs,
        source=ref,
        before=image_view(current),
        after=record_view(desired_record, region, current.image_id),
        disruptive=disruptive,
        image_id=current.image_id,
    )
    return work, change


def _lifecycle_diffs(tag_value: str | None, lifecycle: Lifecycle) -> tuple[FieldDiff, ...]:
    before, after = TaggedLifecycle.parse(tag_value), TaggedLifecycle.of(lifecycle)
    diffs = []
    if before.protect != after.protect:
        diffs.append(FieldDiff("lifecycle.protect", before.protect, after.protect))
    if before.retain != after.retain:
        policy = {True: DeletionPolicy.RETAIN.value, False: DeletionPolicy.DELETE.value}
        diffs.append(
            FieldDiff("lifecycle.deletionPolicy", policy[before.retain], policy[after.retain])
        )
    if before.delete_snapshots != after.delete_snapshots:
        diffs.append(
            FieldDiff("lifecycle.deleteSnapshots", before.delete_snapshots, after.delete_snapshots)
        )
    return tuple(diffs)


def tag_operations(
    live: Mapping[str, str], target: Mapping[str, str], ignore_changes: Iterable[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """(tags to set, keys to delete) turning `live` into `target`; ignored user tags stay."""
    ignored = tuple(ignore_changes)

    def kept(key: str) -> bool:
        return not key.startswith(TAG_PREFIX) and is_ignored(f"tags.{key}", ignored)

    replace = {k: v for k, v in target.items() if live.get(k) != v and not kept(k)}
    delete = tuple(sorted(k for k in live if k not in target and not kept(k)))
    return replace, delete


def _record_reason(
    split: DriftSplit,
    replace_tags: Mapping[str, str],
    delete_tags: Iterable[str],
    *,
    ignore_added: bool = False,
) -> str | None:
    """The reason of a change that only rewrites tags no diff shows; None when the record
    only follows share or copy changes shown at their own addresses."""
    keys = sorted({*replace_tags, *delete_tags})
    if keys == [TAG_APPLIED]:
        if any(not is_field(k) for k in split.changed):
            return None
        if split.drifted or split.unknown:
            return "record what is applied once the drift is corrected"
        if ignore_added:
            return "lifecycle.ignoreChanges changed: record what is applied"
        return (
            "record what is applied (an earlier apply did not finish, "
            "or the same change was made outside the stack)"
        )
    return "tags out of date: " + ", ".join(keys)


def _with_reason(change: Change, reason: str) -> Change:
    return replace(change, reason=f"{change.reason}; {reason}")
