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


@dataclass(frozen=True, slots=True, kw_only=True)
class ImagePlacement:
    """Where one image of a declared Image goes, and whether it is the home or a copy."""

    address: str
    region: str
    name: str | None
    """The cloud name; None when the name is unmanaged."""
    ref: SourceRef
    is_home: bool
    desired_copies: tuple[str, ...] = ()
    """Home only: the copy regions the applied record should list."""
    live_copies: tuple[str, ...] = ()
    """Home only: the copy regions live now, for the live record."""
    deleted_outside: bool = False
    """Copy only: the copy this stack made was deleted outside the stack."""

    @classmethod
    def home(
        cls,
        *,
        address: str,
        region: str,
        name: str | None,
        ref: SourceRef,
        desired_copies: Iterable[str],
        live_copies: Iterable[str],
    ) -> ImagePlacement:
        return cls(
            address=address,
            region=region,
            name=name,
            ref=ref,
            is_home=True,
            desired_copies=tuple(desired_copies),
            live_copies=tuple(live_copies),
        )

    @classmethod
    def copy(
        cls, *, address: str, region: str, name: str, ref: SourceRef, deleted_outside: bool = False
    ) -> ImagePlacement:
        return cls(
            address=address,
            region=region,
            name=name,
            ref=ref,
            is_home=False,
            deleted_outside=deleted_outside,
        )

    def suffixed(self, resolved: ResolvedImage) -> bool:
        """Whether the cloud name carries the generation suffix (all but an adopted home)."""
        return not (self.is_home and resolved.is_existing)


def plan_image(
    ctx: PlanContext,
    resolved: ResolvedImage,
    place: ImagePlacement,
    *,
    current: ObservedImage | None,
    deposed: list[ObservedImage],
    group_accounts: set[str],
) -> ImageOutcome:
    """Keep, adopt or make one image at `place`, replacing `deposed`, and plan its shares."""
    image = resolved.desired
    shared_outside = _report_deposed_drift(ctx, resolved, place, deposed)
    if current is not None and not current.state.failed and place.name not in {None, current.name}:
        _check_rename(ctx, resolved, place, name=str(place.name), current=current)
    cleared: _ClearedImage | None = None
    if current is not None and current.state.failed:
        cleared = _clear_failed(ctx, resolved, place, current)
        current = None
    accounts = scoped_accounts(ctx, image.name, place.region, current)
    desired_record = declared_record(
        image, name=place.name, shares=accounts, copies=place.desired_copies
    )
    target_tags = _target_tags(ctx, resolved, place, current, applied_hash(desired_record))
    split = DriftSplit(frozenset(), frozenset())
    if current is None:
        work, change = _new_image(
            resolved, place, desired_record, target_tags, deposed=deposed, cleared=cleared
        )
    else:
        work, change, split = _existing_image(
            ctx,
            resolved,
            place,
            current,
            desired_record=desired_record,
            target_tags=target_tags,
            accounts=accounts,
            deposed=deposed,
        )
    share_changes(
        ctx,
        image.name,
        place.region,
        accounts,
        current=current,
        previous={a: img.image_id for img in deposed for a in img.shares or ()},
        shared_outside=shared_outside,
        split=split,
        group_accounts=group_accounts,
        replaced=bool(deposed),
        image_ref=place.ref,
    )
    return ImageOutcome(work=work, change=change, split=split)


def _report_deposed_drift(
    ctx: PlanContext,
    resolved: ResolvedImage,
    place: ImagePlacement,
    deposed: list[ObservedImage],
) -> set[str]:
    """Report the drift of the images this one replaces, before they go; returns the
    accounts they were shared with outside the stack."""
    image = resolved.desired
    deleting = image.lifecycle.deletion_policy is DeletionPolicy.DELETE
    shared_outside: set[str] = set()
    for old in deposed:
        old_split = check_drift(ctx, place.address, old, image, place.ref, deleting=deleting)
        shared_outside |= {
            k[len("shares.") :]
            for k in old_split.drifted
            if k.startswith("shares.") and k[len("shares.") :] in (old.shares or ())
        }
    return shared_outside


@dataclass(frozen=True, slots=True)
class _ClearedImage:
    """A failed image holding the name: deleted before the image is made again."""

    retirement: Retirement
    reason: str


def _clear_failed(
    ctx: PlanContext, resolved: ResolvedImage, place: ImagePlacement, failed: ObservedImage
) -> _ClearedImage:
    check_drift(ctx, place.address, failed, resolved.desired, place.ref, deleting=True)
    return _ClearedImage(
        Retirement(
            address=place.address,
            image=failed,
            disposal=Disposal.DELETE,
            delete_snapshots=True,
            kept_snapshots=ctx.source_snapshots,
        ),
        f"{failed.image_id} is {failed.state.value} and holds the name: "
        "it is deleted and made again",
    )


def _target_tags(
    ctx: PlanContext,
    resolved: ResolvedImage,
    place: ImagePlacement,
    current: ObservedImage | None,
    applied: str,
) -> dict[str, str]:
    """Every tag the image should carry, `applied` being its `reconciler:applied` hash."""
    image = resolved.desired
    # Home images this stack makes record their source, so a replacement can name the
    # field that forces it; images made before that tag existed are not re-tagged for it.
    records_source = (
        place.is_home
        and not resolved.is_existing
        and (current is None or not ctx.ownership.owns(current) or TAG_SOURCE in current.tags)
    )
    return managed_tags(
        stack=ctx.stack,
        address=place.address,
        generation=resolved.generation,
        lifecycle=image.lifecycle,
        applied=applied,
        revision=resolved.revision,
        user_tags=image.tags,
        source=source_tag(image.source) if records_source else None,
        user_snapshots=place.is_home and isinstance(image.source, SnapshotsSource),
    )


def _new_image(
    resolved: ResolvedImage,
    place: ImagePlacement,
    desired_record: AppliedRecord,
    target_tags: Mapping[str, str],
    *,
    deposed: list[ObservedImage],
    cleared: _ClearedImage | None,
) -> tuple[ImageWork, Change]:
    """An image this apply makes (after clearing a failed one holding its name)."""
    work, change = made_image(
        resolved,
        place.address,
        region=place.region,
        name=place.name,
        desired_record=desired_record,
        target_tags=target_tags,
        deposed=deposed,
        ref=place.ref,
    )
    if cleared is not None:
        work = replace(work, clear_first=(cleared.retirement,))
        change = _with_reason(change, cleared.reason)
    if not place.is_home and place.deleted_outside:
        reason = f"drift: the copy in {place.region} was deleted outside the stack"
        change = _with_reason(change, reason)
    return work, change


def _existing_image(
    ctx: PlanContext,
    resolved: ResolvedImage,
    place: ImagePlacement,
    current: ObservedImage,
    *,
    desired_record: AppliedRecord,
    target_tags: Mapping[str, str],
    accounts: tuple[str, ...],
    deposed: list[ObservedImage],
) -> tuple[ImageWork, Change, DriftSplit]:
    """An image that stays, owned (its drift reported) or adopted; and its drift split."""
    ignore = resolved.desired.lifecycle.ignore_changes
    owned = ctx.ownership.owns(current)
    live_record = observed_record(
        current,
        name_managed=place.name is not None,
        copies=place.live_copies,
        ignore_changes=ignore,
    )
    if owned:
        split = _owned_split(
            ctx, resolved, place, current, live_record=live_record, desired_record=desired_record
        )
    else:
        split = split_drift(live_record, desired_record, None)
    ignore_added = owned and recorded_before_ignoring(
        current,
        split,
        name_managed=place.name is not None,
        copies=place.live_copies,
        ignore=ignore,
    )
    work, change = kept_image(
        resolved,
        place,
        KeptRecords(live=live_record, desired=desired_record, split=split),
        current=current,
        owned=owned,
        target_tags=target_tags,
        accounts=accounts,
        deposed=deposed,
        ignore_added=ignore_added,
    )
    return work, change, split


def _owned_split(
    ctx: PlanContext,
    resolved: ResolvedImage,
    place: ImagePlacement,
    current: ObservedImage,
    *,
    live_record: AppliedRecord,
    desired_record: AppliedRecord,
) -> DriftSplit:
    """Changed vs drifted fields of an image the stack owns; its drift is reported."""
    image = resolved.desired
    ignore = image.lifecycle.ignore_changes
    split = split_drift(
        live_record,
        desired_record,
        current.tags.get(TAG_APPLIED),
        alternatives=record_alternatives(
            ctx,
            image.name,
            current,
            is_home=place.is_home,
            live=live_record,
            reference=desired_record,
            ignore=ignore,
        ),
        initial=initial_record(desired_record, is_home=place.is_home),
    )
    if ATTRIBUTE_PARAMS.keys() & (split.changed | split.drifted):
        split = own_cancel(split, live_record)
    split = own_partial_apply(split, live_record)
    report_drift(
        ctx,
        name=image.name,
        address=place.address,
        image=current,
        live=live_record,
        split=split,
        ref=place.ref,
        suffixed=place.suffixed(resolved),
    )
    return split


def _check_rename(
    ctx: PlanContext,
    resolved: ResolvedImage,
    place: ImagePlacement,
    *,
    name: str,
    current: ObservedImage,
) -> None:
    """A kept image renamed to a name another image (any owner) holds in its region: the
    API refuses it (InvalidImageName.Duplicate), so it is a plan error (SPEC §3). Names a
    foreign image holds are already reported for made homes and copies."""
    region, address = place.region, place.address
    others = [i for i in ctx.ownership.by_name.get((region, name), ()) if i is not current]
    if not others:
        return
    holder, _ = ctx.ownership.holder(region, name, address)
    if holder is NameHolder.FOREIGN and not (place.is_home and resolved.is_existing):
        return
    fix = (
        "change imageName or remove that image"
        if place.is_home
        else "remove that image, or change the Image's imageName (a copy carries its image's name)"
    )
    ctx.out.errors.append(
        f"{located_address(address, place.ref)}: can't rename {current.image_id} to {name} "
        f"in {region}: the name is held by {ctx.ownership.describe_holder(others[0])}; {fix}"
    )


@dataclass(frozen=True, slots=True)
class KeptRecords:
    """A kept image's live and declared applied records, and how they differ."""

    live: AppliedRecord
    desired: AppliedRecord
    split: DriftSplit

    @property
    def changed(self) -> list[str]:
        return sorted(k for k in self.split.changed if is_field(k))

    @property
    def drifted(self) -> list[str]:
        return sorted(k for k in self.split.drifted if is_field(k))


def kept_image(
    resolved: ResolvedImage,
    place: ImagePlacement,
    records: KeptRecords,
    *,
    current: ObservedImage,
    owned: bool,
    target_tags: Mapping[str, str],
    accounts: tuple[str, ...],
    deposed: list[ObservedImage],
    ignore_added: bool = False,
) -> tuple[ImageWork, Change]:
    """An image that stays: attribute and tag updates, shares, drift. `ignore_added`: its
    `reconciler:applied` is the live record under an `ignoreChanges` without paths added
    to it since (see `recorded_before_ignoring`)."""
    work = _kept_work(
        resolved, place.address, records, current, target_tags=target_tags, accounts=accounts
    )
    disruptive = bool(work.attributes and current.shares)
    reasons, diffs = _kept_reasons(resolved, place, records, current, owned=owned)
    tag_fix = {*work.replace_tags, *work.delete_tags}
    ownership_fix = {k for k in tag_fix if k.startswith(TAG_PREFIX)} - {TAG_APPLIED, TAG_LIFECYCLE}
    if owned and ownership_fix and not reasons:
        reasons.append("reconciler tags out of date: " + ", ".join(sorted(ownership_fix)))
    if deposed:
        ids = ", ".join(old.image_id for old in deposed)
        reasons.append(f"completing an interrupted replacement: deposing {ids}")
    if current.state.busy:
        reasons.append(f"waiting for {current.image_id} ({current.state.value}) to finish")
    if not reasons and tag_fix:
        # Only tags that no diff shows are rewritten: a repair is still a change.
        repair = _record_reason(
            records.split, work.replace_tags, work.delete_tags, ignore_added=ignore_added
        )
        reasons += [repair] if repair else []
    action = choose_action(
        wanted=True, exists=True, forces_replacement=bool(deposed), differs=bool(reasons)
    )
    change = Change(
        address=place.address,
        action=action,
        reason="; ".join(reasons) if reasons else "up to date",
        region=current.region,
        diff=diffs,
        source=place.ref,
        before=image_view(current),
        after=record_view(records.desired, current.region, current.image_id),
        disruptive=disruptive,
        image_id=current.image_id,
    )
    return work, change


def _kept_work(
    resolved: ResolvedImage,
    address: str,
    records: KeptRecords,
    current: ObservedImage,
    *,
    target_tags: Mapping[str, str],
    accounts: tuple[str, ...],
) -> ImageWork:
    """The attribute, share and tag updates that turn a kept image into the declared one;
    changing attributes of a shared image cancels its shares and shares it again."""
    attributes = {
        ATTRIBUTE_PARAMS[k]: records.desired.get(k, "")
        for k in sorted({*records.changed, *records.drifted})
        if k in ATTRIBUTE_PARAMS
    }
    live_accounts = set(current.shares or ())
    share = tuple(a for a in accounts if a not in live_accounts)
    cancel = tuple(sorted(live_accounts - set(accounts)))
    reshare: tuple[str, ...] = ()
    if attributes and live_accounts:
        reshare = tuple(sorted(live_accounts & set(accounts)))
        cancel = tuple(sorted(live_accounts))
    replace_tags, delete_tags = tag_operations(
        current.tags, target_tags, resolved.desired.lifecycle.ignore_changes
    )
    return ImageWork(
        address=address,
        region=current.region,
        name=current.name,
        live=current,
        attributes=attributes,
        share=share,
        cancel=cancel,
        reshare=reshare,
        replace_tags=replace_tags,
        delete_tags=delete_tags,
    )


def _kept_reasons(
    resolved: ResolvedImage,
    place: ImagePlacement,
    records: KeptRecords,
    current: ObservedImage,
    *,
    owned: bool,
) -> tuple[list[str], tuple[FieldDiff, ...]]:
    """Why a kept image changes (adoption, field changes, drift, lifecycle), and its diffs."""
    changed, drifted = records.changed, records.drifted
    reasons: list[str] = []
    if not owned:
        reasons.append(_adoption_reason(resolved, place.address, current))
    elif records.split.interrupted and changed:
        reasons.append("completing an interrupted apply")
    reasons += [f"{k} changed" for k in changed]
    reasons += [f"drift: {k} changed outside the stack" for k in drifted]
    if records.split.unknown:
        reasons.append(f"drift: {unknown_reason(records.split)}")
    diffs = name_diffs(
        field_diffs(records.live, records.desired, [*changed, *drifted]),
        suffixed=place.suffixed(resolved),
    )
    if owned:
        lifecycle = _lifecycle_diffs(current.tags.get(TAG_LIFECYCLE), resolved.desired.lifecycle)
        if lifecycle:
            reasons.append("lifecycle changed")
            diffs = diffs + lifecycle
    return reasons, diffs


def _adoption_reason(resolved: ResolvedImage, address: str, current: ObservedImage) -> str:
    """Why an image the stack does not own is adopted: declared `existing`, forgotten
    earlier, or made by a create interrupted before its tags."""
    if resolved.is_existing and address == resolved.desired.address:
        return f"adopting existing image {current.image_id}"
    if current.user_tags or current.shares:
        # A create interrupted before its tags has no user tags, and no shares (they
        # come after the tags): this one was tagged and shared once, then forgotten.
        return ADOPT_FORGOTTEN
    return ADOPT_INTERRUPTED


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
