"""Drift vs change of owned images: the applied-record candidates and the drift entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from itertools import combinations

from reconciler.model.desired import DesiredImage, ExistingSource
from reconciler.model.generation import name_with_generation
from reconciler.model.observed import TAG_APPLIED, ObservedImage
from reconciler.model.plan import Action, Change, JSONValue
from reconciler.model.source import SourceRef
from reconciler.planner.applied import AppliedRecord, applied_hash, is_ignored
from reconciler.planner.context import PlanContext
from reconciler.planner.diff import ABSENT, DriftSplit, field_diffs, split_drift
from reconciler.planner.ownership import generation_tag
from reconciler.planner.records import (
    declared_record,
    image_view,
    initial_record,
    is_field,
    name_diffs,
    observed_record,
    record_view,
)
from reconciler.planner.resolve import base_name
from reconciler.planner.targets import copy_address, in_scope, parse_address, share_address


def remaining_drift(ctx: PlanContext) -> None:
    """Drift of every owned image in scope that no change looked at (e.g. the images of an
    Image whose `existing` image is gone): the manifests never hide drift."""
    for address, images in sorted(ctx.ownership.by_address.items()):
        if not in_scope(ctx.scope, address):
            continue
        declared = ctx.declared_image(address)
        ref = declared.source_ref if declared is not None else None
        for image in images:
            if image.image_id not in ctx.drift_checked:
                check_drift(ctx, address, image, declared, ref, deleting=False)


def _known_accounts(ctx: PlanContext, name: str) -> list[str]:
    """Accounts an image of this name may have been shared with by the stack, likeliest
    first: declared in any region, live on any of its owned images, allowed by policy."""
    if name not in ctx.accounts_cache:
        declared = sorted({s.account for s in ctx.desired.shares_of(name)})
        live = sorted(
            {a for _, images in ctx.owned_of(name) for img in images for a in img.shares or ()}
        )
        allowed = sorted(ctx.desired.stack.policy.allowed_accounts or ())
        ctx.accounts_cache[name] = list(dict.fromkeys([*declared, *live, *allowed]))
    return ctx.accounts_cache[name]


def _live_copies_of(ctx: PlanContext, home_address: str, home: ObservedImage) -> list[str]:
    """Regions of the owned copies of the same generation as `home` (as its record lists)."""
    parsed = parse_address(home_address)
    tag = generation_tag(home)
    return sorted(
        {
            img.region
            for address, images in ctx.owned_of(parsed.name if parsed else "")
            if address.startswith(home_address + "@")
            for img in images
            if generation_tag(img) == tag and not img.state.failed
        }
    )


def record_alternatives(
    ctx: PlanContext,
    name: str,
    image: ObservedImage,
    *,
    is_home: bool,
    live: AppliedRecord,
    reference: AppliedRecord,
    ignore: Iterable[str],
) -> dict[str, JSONValue]:
    """Keys the applied record may have had although live and reference agree they are not
    there: copies deleted outside, shares cancelled outside (see `split_drift`); likeliest
    first, as the search stops at `MAX_DRIFT_SEARCH_FIELDS` keys."""
    ignored = tuple(ignore)
    keys = []
    if is_home:
        regions = set(ctx.desired.stack.regions)
        regions |= {
            img.region for address, images in ctx.owned_of(name) if "@" in address for img in images
        }
        keys += [f"copies.{r}" for r in sorted(regions) if r != image.region]
    keys += [f"shares.{a}" for a in _known_accounts(ctx, name)]
    return {
        key: True
        for key in keys
        if key not in live and key not in reference and not is_ignored(key, ignored)
    }


def check_drift(
    ctx: PlanContext,
    address: str,
    image: ObservedImage,
    declared: DesiredImage | None,
    ref: SourceRef | None,
    *,
    deleting: bool,
) -> DriftSplit:
    """Live vs `reconciler:applied` of an owned image that is not kept as it is (replaced,
    deposed, deleted, forgotten): its drift is reported all the same. `deleting`: the plan
    deletes it (so it cancels its shares first, see `own_cancel`)."""
    ctx.drift_checked.add(image.image_id)
    parsed = parse_address(address)
    if parsed is None:
        return DriftSplit(frozenset(), frozenset())
    is_home = parsed.region is None
    copies = _live_copies_of(ctx, address, image) if is_home else []
    if declared is None:
        # No manifest: the stack's values are unknown. The record is the live one, where
        # any field may have been ignored (or the name unmanaged) and any share or copy
        # may have changed outside; an unexplained hash is drift of unknown fields.
        name, suffixed = parsed.name, True
        live = observed_record(image, name_managed=True, copies=copies)
        # Likeliest first: an unmanaged name, shares made outside, shares cancelled or
        # copies deleted outside, then ignored fields.
        alternatives: dict[str, JSONValue] = {"imageName": ABSENT}
        alternatives.update({k: ABSENT for k in sorted(live) if k.startswith("shares.")})
        alternatives.update(
            record_alternatives(
                ctx, parsed.name, image, is_home=is_home, live=live, reference=live, ignore=()
            )
        )
        alternatives.update({k: ABSENT for k in sorted(live) if is_field(k)})
        split = split_drift(
            live, live, image.tags.get(TAG_APPLIED), alternatives=alternatives, declared=False
        )
        ignored = frozenset(k for k in split.drifted if is_field(k))
        split = replace(split, drifted=split.drifted - ignored)
    else:
        name = declared.name
        suffixed = not (is_home and isinstance(declared.source, ExistingSource))
        ignore = declared.lifecycle.ignore_changes
        if isinstance(declared.source, ExistingSource):
            cloud_name = declared.cloud_name if is_home else image.name
        else:
            tag = generation_tag(image)
            cloud_name = name_with_generation(base_name(declared), tag) if tag else image.name
        live = observed_record(
            image, name_managed=cloud_name is not None, copies=copies, ignore_changes=ignore
        )
        reference = declared_record(
            declared,
            name=cloud_name,
            shares=[s.account for s in ctx.desired.shares_of(name, image.region)],
            copies=[c.region for c in ctx.desired.copies_of(name)] if is_home else [],
        )
        split = split_drift(
            live,
            reference,
            image.tags.get(TAG_APPLIED),
            alternatives=record_alternatives(
                ctx, name, image, is_home=is_home, live=live, reference=reference, ignore=ignore
            ),
            initial=initial_record(reference, is_home=is_home),
        )
    if deleting:
        split = own_cancel(split, live)
    report_drift(
        ctx,
        name=name,
        address=address,
        image=image,
        live=live,
        split=split,
        ref=ref,
        suffixed=suffixed,
    )
    return split


def report_drift(
    ctx: PlanContext,
    *,
    name: str,
    address: str,
    image: ObservedImage,
    live: AppliedRecord,
    split: DriftSplit,
    ref: SourceRef | None,
    suffixed: bool = True,
) -> None:
    """Drift entries of one image, as what happened outside: `before` is what the stack last
    applied, `after` what is live (fields; shares made or cancelled; copies deleted)."""
    ctx.drift_checked.add(image.image_id)
    region = image.region
    fields = sorted(k for k in split.drifted if is_field(k))
    if fields or split.unknown:
        reasons = [f"{k} changed outside the stack" for k in fields]
        if split.unknown:
            reasons.append(unknown_reason(split))
        applied = split.applied
        diff = field_diffs(applied, live, fields) if applied is not None else ()
        ctx.out.drift.append(
            Change(
                address=address,
                action=Action.UPDATE,
                reason="; ".join(reasons),
                region=region,
                diff=name_diffs(diff, suffixed=suffixed),
                source=ref,
                before=record_view(applied, region, image.image_id)
                if applied is not None
                else None,
                after=image_view(image),
                image_id=image.image_id,
            )
        )
    declared_shares = {s.account: s for s in ctx.desired.shares_of(name, region)}
    for key in sorted(k for k in split.drifted if k.startswith("shares.")):
        account = key[len("shares.") :]
        spec = declared_shares.get(account)
        view = {"account": account, "imageId": image.image_id}
        made = account in (image.shares or ())
        ctx.out.drift.append(
            Change(
                address=share_address(name, region, account),
                action=Action.SHARE if made else Action.UNSHARE,
                reason="shared outside the stack"
                if made
                else "the share was cancelled outside the stack",
                region=region,
                source=spec.source_ref if spec is not None else ref,
                before=None if made else view,
                after=view if made else None,
                image_id=image.image_id,
            )
        )
    declared_copies = {c.region: c for c in ctx.desired.copies_of(name)}
    for key in sorted(k for k in split.drifted if k.startswith("copies.")):
        copy_region = key[len("copies.") :]
        if key in live:
            continue
        copy = declared_copies.get(copy_region)
        ctx.out.drift.append(
            Change(
                address=copy_address(name, copy_region),
                action=Action.DELETE,
                reason=f"the copy in {copy_region} was deleted outside the stack",
                region=copy_region,
                source=copy.source_ref if copy is not None else ref,
            )
        )


def own_partial_apply(split: DriftSplit, live: Mapping[str, JSONValue]) -> DriftSplit:
    """A hash nothing explains, on an image whose only differences from the manifests are
    shares it no longer has at all: this stack's own disruptive update (unshare → modify →
    re-share) stopped after its modify. The fields equal to the manifests are its pending
    change, the missing shares its own cancel: an interrupted apply, not drift."""
    if not split.unknown or not split.changed or any(k.startswith("shares.") for k in live):
        return split
    if not all(k.startswith("shares.") and k not in live for k in split.changed):
        return split
    return replace(split, unknown=False, interrupted=True)


MAX_IGNORE_PATHS_SEARCHED = 8
"""`ignoreChanges` paths beyond this many are not searched for ones added since the last apply."""


def recorded_before_ignoring(
    image: ObservedImage,
    split: DriftSplit,
    *,
    name_managed: bool,
    copies: Iterable[str],
    ignore: Iterable[str],
) -> bool:
    """Whether the image's `reconciler:applied` is its live record under a smaller
    `ignoreChanges` (paths added to it since the last apply): the hash then covers fields the
    stack no longer manages, and only needs recording again. That is not an interrupted apply.
    Only asked when the manifests' values are all live (an unexplained, "interrupted" hash)."""
    ignored = tuple(dict.fromkeys(ignore))
    tag = image.tags.get(TAG_APPLIED)
    if not (split.interrupted and not split.changed and not split.drifted) or tag is None:
        return False
    if not ignored or len(ignored) > MAX_IGNORE_PATHS_SEARCHED:
        return False
    regions = tuple(copies)
    for size in range(1, len(ignored) + 1):
        for added in combinations(ignored, size):
            earlier = [path for path in ignored if path not in added]
            record = observed_record(
                image, name_managed=name_managed, copies=regions, ignore_changes=earlier
            )
            if applied_hash(record) == tag:
                return True
    return False


def unknown_reason(split: DriftSplit) -> str:
    """The reason of unexplained drift, naming the keys that differ from the manifests."""
    differing = sorted(split.changed)
    if not differing:
        return "changed outside the stack (fields unknown)"
    return (
        "changed outside the stack (fields unknown; differing from the manifests: "
        f"{', '.join(differing)})"
    )


def own_cancel(split: DriftSplit, live: Mapping[str, JSONValue]) -> DriftSplit:
    """The stack cancels every share of an image at once (before deleting it, and before
    modifying a shared image): when none is left, the missing shares are its own interrupted
    apply, not drift. (A share cancelled outside while others stay is still drift.)"""
    cancelled = frozenset(k for k in split.drifted if k.startswith("shares.") and k not in live)
    if not cancelled or any(k.startswith("shares.") for k in live):
        return split
    return replace(
        split,
        drifted=split.drifted - cancelled,
        changed=split.changed | cancelled,
        interrupted=True,
    )
