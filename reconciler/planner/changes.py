"""Resource-level changes (reasons, diffs, drift) and the work each image needs (SPEC §3-§4)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import combinations

from reconciler.model.desired import (
    DeletionPolicy,
    DesiredImage,
    DesiredState,
    ExistingSource,
    Lifecycle,
    SnapshotsSource,
)
from reconciler.model.generation import NAME_SUFFIX_LENGTH, name_with_generation
from reconciler.model.observed import TAG_APPLIED, TAG_LIFECYCLE, TAG_PREFIX, ObservedImage
from reconciler.model.plan import Action, Change, FieldDiff, JSONValue, PlanOptions
from reconciler.model.source import SourceRef
from reconciler.planner.applied import (
    TAG_SOURCE,
    AppliedRecord,
    TaggedLifecycle,
    applied_hash,
    applied_record,
    changed_source_paths,
    is_ignored,
    managed_tags,
    parse_source_tag,
    source_fields,
    source_tag,
)
from reconciler.planner.cost import SIZE_KEY, image_size_gb, source_size_gb
from reconciler.planner.diff import ABSENT, DriftSplit, choose_action, field_diffs, split_drift
from reconciler.planner.make import new_image, source_snapshots
from reconciler.planner.ownership import (
    NameHolder,
    Ownership,
    generation_tag,
    is_untagged,
    matches_generation,
)
from reconciler.planner.resolve import ResolvedImage, base_name
from reconciler.planner.targets import copy_address, in_scope, parse_address, share_address
from reconciler.planner.work import (
    Disposal,
    GroupWork,
    ImageWork,
    PlannedWork,
    Retirement,
)

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
class ChangeSet:
    """Everything the diff decided: changes, drift, the per-image work, and plan errors."""

    changes: tuple[Change, ...]
    drift: tuple[Change, ...]
    work: PlannedWork
    errors: tuple[str, ...]


def _where(address: str, ref: SourceRef | None) -> str:
    return f"{address} ({ref})" if ref is not None else address


def _is_field(key: str) -> bool:
    return not key.startswith(("shares.", "copies."))


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


def image_view(image: ObservedImage) -> dict[str, JSONValue]:
    """`before` of an image change."""
    return {
        "imageId": image.image_id,
        "region": image.region,
        "imageName": image.name,
        "description": image.description,
        "family": image.family,
        "deprecated": image.deprecated,
        "state": image.state.value,
        "tags": dict(sorted(image.user_tags.items())),
        "shares": list(image.shares or ()),
    }


def _record_view(
    record: Mapping[str, JSONValue], region: str, image_id: str | None
) -> dict[str, JSONValue]:
    """`after` of an image change, from its desired record."""
    return {
        "imageId": image_id,
        "region": region,
        "imageName": record.get("imageName"),
        "description": record.get("description"),
        "family": record.get("family"),
        "deprecated": record.get("deprecated"),
        "tags": {k[5:]: v for k, v in sorted(record.items()) if k.startswith("tags.")},
        "shares": sorted(k[7:] for k in record if k.startswith("shares.")),
    }


def _live_record(
    image: ObservedImage,
    *,
    name_managed: bool,
    copies: Iterable[str] = (),
    ignore_changes: Iterable[str] = (),
) -> AppliedRecord:
    """The applied record of what is live on `image` (with these copy regions);
    `name_managed=False` leaves the name out, as an unmanaged name is."""
    return applied_record(
        name=image.name if name_managed else None,
        description=image.description,
        family=image.family,
        deprecated=image.deprecated,
        user_tags=image.user_tags,
        shares=image.shares or (),
        copies=copies,
        ignore_changes=ignore_changes,
    )


def _declared_record(
    image: DesiredImage, *, name: str | None, shares: Iterable[str], copies: Iterable[str]
) -> AppliedRecord:
    """The applied record an image of the Image `image` should have, named `name` (None: the
    name is unmanaged), with these shares and copy regions, less its `ignoreChanges`."""
    return applied_record(
        name=name,
        description=image.description,
        family=image.family,
        deprecated=image.deprecated,
        user_tags=image.tags,
        shares=shares,
        copies=copies,
        ignore_changes=image.lifecycle.ignore_changes,
    )


@dataclass(slots=True)
class _Collector:
    """Mutable accumulators of one diff run (the result is frozen in `ChangeSet`)."""

    changes: list[Change] = field(default_factory=list)
    drift: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    groups: list[GroupWork] = field(default_factory=list)
    retirements: list[Retirement] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ImageOutcome:
    work: ImageWork
    change: Change
    split: DriftSplit = field(default_factory=lambda: DriftSplit(frozenset(), frozenset()))
    """The kept image's drift split (a home's tells which of its copies were deleted outside)."""


class ChangePlanner:
    """Decides, per address, what changes and what work it needs; pure over its inputs."""

    def __init__(
        self,
        desired: DesiredState,
        resolved: Mapping[str, ResolvedImage],
        ownership: Ownership,
        options: PlanOptions,
        scope: frozenset[str] | None,
        *,
        source_sizes: Mapping[str, int] | None = None,
    ) -> None:
        self.desired = desired
        self.resolved = resolved
        self.ownership = ownership
        self.options = options
        self.scope = scope
        self.source_sizes: Mapping[str, int] = source_sizes or {}
        """Disk sizes of the sources, by ID (`ObservedCloud.source_sizes`)."""
        self.stack = desired.stack.name
        self.source_snapshots = frozenset().union(*(source_snapshots(i) for i in desired.images))
        """Every snapshot named in a `source.snapshots`: never deleted, whichever image goes."""
        self.out = _Collector()
        self._drift_checked: set[str] = set()
        """IDs of the owned images whose drift has been looked at."""
        self._owned_by_name: dict[str, list[tuple[str, tuple[ObservedImage, ...]]]] = {}
        for address, images in sorted(ownership.by_address.items()):
            parsed = parse_address(address)
            if parsed is not None:
                self._owned_by_name.setdefault(parsed.name, []).append((address, images))
        self._accounts_cache: dict[str, list[str]] = {}

    # ----------------------------------------------------------------- entry point

    def run(self) -> ChangeSet:
        declared = {image.name for image in self.desired.images}
        for image in self.desired.images:
            resolved = self.resolved.get(image.address)
            if self.options.destroy or resolved is None:
                self._destroy_group(image.name)
            else:
                self._plan_group(resolved)
        for address in self.ownership.addresses():
            parsed = parse_address(address)
            if parsed is not None and parsed.name in declared:
                continue
            if in_scope(self.scope, address):
                self.out.retirements += self._retire_address(
                    address, self.ownership.at(address), why="", declared=None
                )
        self._targeted_unshares()
        self._remaining_drift()
        out = self.out
        drift = {(c.address, c.action, c.reason, c.image_id): c for c in out.drift}
        return ChangeSet(
            changes=tuple(sorted(out.changes, key=lambda c: c.address)),
            drift=tuple(sorted(drift.values(), key=lambda c: (c.address, c.image_id or ""))),
            work=PlannedWork(groups=tuple(out.groups), retirements=tuple(out.retirements)),
            errors=tuple(out.errors),
        )

    def _targeted_unshares(self) -> None:
        """`--target` of a share no longer declared, on an image out of scope: only that share
        is cancelled (nothing else of its image is planned, e.g. a removed copy's deletion)."""
        if self.scope is None:
            return
        for address, images in sorted(self.ownership.by_address.items()):
            parsed = parse_address(address)
            if parsed is None or in_scope(self.scope, address):
                continue
            declared = self._declared_image(address)
            ref = declared.source_ref if declared is not None else None
            for image in images:
                accounts = tuple(
                    a
                    for a in image.shares or ()
                    if in_scope(self.scope, share_address(parsed.name, image.region, a))
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
                self.out.groups.append(GroupWork(address=address, home=None, copies=(work,)))
                self.out.changes += [
                    Change(
                        address=share_address(parsed.name, image.region, account),
                        action=Action.UNSHARE,
                        reason=f"no longer declared: {account} loses access to {image.image_id}",
                        region=image.region,
                        source=ref,
                        before={"account": account, "imageId": image.image_id},
                        image_id=image.image_id,
                    )
                    for account in accounts
                ]

    # ----------------------------------------------------------------- drift of any owned image

    def _declared_image(self, address: str) -> DesiredImage | None:
        parsed = parse_address(address)
        if parsed is None:
            return None
        for image in self.desired.images:
            if image.name == parsed.name:
                return image
        return None

    def _remaining_drift(self) -> None:
        """Drift of every owned image in scope that no change looked at (e.g. the images of an
        Image whose `existing` image is gone): the manifests never hide drift."""
        for address, images in sorted(self.ownership.by_address.items()):
            if not in_scope(self.scope, address):
                continue
            declared = self._declared_image(address)
            ref = declared.source_ref if declared is not None else None
            for image in images:
                if image.image_id not in self._drift_checked:
                    self._check_drift(address, image, declared, ref, deleting=False)

    def _owned_of(self, name: str) -> list[tuple[str, tuple[ObservedImage, ...]]]:
        """(address, images) of every owned address of the Image `name` (home and copies)."""
        return self._owned_by_name.get(name, [])

    def _known_accounts(self, name: str) -> list[str]:
        """Accounts an image of this name may have been shared with by the stack, likeliest
        first: declared in any region, live on any of its owned images, allowed by policy."""
        if name not in self._accounts_cache:
            declared = sorted({s.account for s in self.desired.shares_of(name)})
            live = sorted(
                {
                    a
                    for _, images in self._owned_of(name)
                    for img in images
                    for a in img.shares or ()
                }
            )
            allowed = sorted(self.desired.stack.policy.allowed_accounts or ())
            self._accounts_cache[name] = list(dict.fromkeys([*declared, *live, *allowed]))
        return self._accounts_cache[name]

    def _live_copies_of(self, home_address: str, home: ObservedImage) -> list[str]:
        """Regions of the owned copies of the same generation as `home` (as its record lists)."""
        parsed = parse_address(home_address)
        tag = generation_tag(home)
        return sorted(
            {
                img.region
                for address, images in self._owned_of(parsed.name if parsed else "")
                if address.startswith(home_address + "@")
                for img in images
                if generation_tag(img) == tag and not img.state.failed
            }
        )

    def _alternatives(
        self,
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
            regions = set(self.desired.stack.regions)
            regions |= {
                img.region
                for address, images in self._owned_of(name)
                if "@" in address
                for img in images
            }
            keys += [f"copies.{r}" for r in sorted(regions) if r != image.region]
        keys += [f"shares.{a}" for a in self._known_accounts(name)]
        return {
            key: True
            for key in keys
            if key not in live and key not in reference and not is_ignored(key, ignored)
        }

    def _check_drift(
        self,
        address: str,
        image: ObservedImage,
        declared: DesiredImage | None,
        ref: SourceRef | None,
        *,
        deleting: bool,
    ) -> DriftSplit:
        """Live vs `reconciler:applied` of an owned image that is not kept as it is (replaced,
        deposed, deleted, forgotten): its drift is reported all the same. `deleting`: the plan
        deletes it (so it cancels its shares first, see `_own_cancel`)."""
        self._drift_checked.add(image.image_id)
        parsed = parse_address(address)
        if parsed is None:
            return DriftSplit(frozenset(), frozenset())
        is_home = parsed.region is None
        copies = self._live_copies_of(address, image) if is_home else []
        if declared is None:
            # No manifest: the stack's values are unknown. The record is the live one, where
            # any field may have been ignored (or the name unmanaged) and any share or copy
            # may have changed outside; an unexplained hash is drift of unknown fields.
            name, suffixed = parsed.name, True
            live = _live_record(image, name_managed=True, copies=copies)
            # Likeliest first: an unmanaged name, shares made outside, shares cancelled or
            # copies deleted outside, then ignored fields.
            alternatives: dict[str, JSONValue] = {"imageName": ABSENT}
            alternatives.update({k: ABSENT for k in sorted(live) if k.startswith("shares.")})
            alternatives.update(
                self._alternatives(
                    parsed.name, image, is_home=is_home, live=live, reference=live, ignore=()
                )
            )
            alternatives.update({k: ABSENT for k in sorted(live) if _is_field(k)})
            split = split_drift(
                live, live, image.tags.get(TAG_APPLIED), alternatives=alternatives, declared=False
            )
            ignored = frozenset(k for k in split.drifted if _is_field(k))
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
            live = _live_record(
                image, name_managed=cloud_name is not None, copies=copies, ignore_changes=ignore
            )
            reference = _declared_record(
                declared,
                name=cloud_name,
                shares=[s.account for s in self.desired.shares_of(name, image.region)],
                copies=[c.region for c in self.desired.copies_of(name)] if is_home else [],
            )
            split = split_drift(
                live,
                reference,
                image.tags.get(TAG_APPLIED),
                alternatives=self._alternatives(
                    name, image, is_home=is_home, live=live, reference=reference, ignore=ignore
                ),
                initial=initial_record(reference, is_home=is_home),
            )
        if deleting:
            split = _own_cancel(split, live)
        self._report_drift(
            name=name,
            address=address,
            image=image,
            live=live,
            split=split,
            ref=ref,
            suffixed=suffixed,
        )
        return split

    def _report_drift(
        self,
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
        self._drift_checked.add(image.image_id)
        region = image.region
        fields = sorted(k for k in split.drifted if _is_field(k))
        if fields or split.unknown:
            reasons = [f"{k} changed outside the stack" for k in fields]
            if split.unknown:
                reasons.append(_unknown_reason(split))
            applied = split.applied
            diff = field_diffs(applied, live, fields) if applied is not None else ()
            self.out.drift.append(
                Change(
                    address=address,
                    action=Action.UPDATE,
                    reason="; ".join(reasons),
                    region=region,
                    diff=name_diffs(diff, suffixed=suffixed),
                    source=ref,
                    before=_record_view(applied, region, image.image_id)
                    if applied is not None
                    else None,
                    after=image_view(image),
                    image_id=image.image_id,
                )
            )
        declared_shares = {s.account: s for s in self.desired.shares_of(name, region)}
        for key in sorted(k for k in split.drifted if k.startswith("shares.")):
            account = key[len("shares.") :]
            spec = declared_shares.get(account)
            view = {"account": account, "imageId": image.image_id}
            made = account in (image.shares or ())
            self.out.drift.append(
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
        declared_copies = {c.region: c for c in self.desired.copies_of(name)}
        for key in sorted(k for k in split.drifted if k.startswith("copies.")):
            copy_region = key[len("copies.") :]
            if key in live:
                continue
            copy = declared_copies.get(copy_region)
            self.out.drift.append(
                Change(
                    address=copy_address(name, copy_region),
                    action=Action.DELETE,
                    reason=f"the copy in {copy_region} was deleted outside the stack",
                    region=copy_region,
                    source=copy.source_ref if copy is not None else ref,
                )
            )

    # ----------------------------------------------------------------- removal

    def _destroy_group(self, name: str) -> None:
        """`--destroy` (or an Image that can't be resolved): retire what the stack owns of it."""
        if not self.options.destroy:
            return
        image = self.desired.image(name)
        home = image.address
        for address in self.ownership.addresses():
            if (address == home or address.startswith(home + "@")) and in_scope(
                self.scope, address
            ):
                self.out.retirements += self._retire_address(
                    address, self.ownership.at(address), why="--destroy", declared=image
                )

    def _retire_address(
        self,
        address: str,
        images: tuple[ObservedImage, ...],
        *,
        why: str,
        declared: DesiredImage | None,
    ) -> list[Retirement]:
        """Delete or forget every image of an address; protect → a plan error. The lifecycle is
        the declared Image's, else the one recorded in the images' reconciler:lifecycle tag."""
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
        for image in images:
            self._check_drift(address, image, declared, ref, deleting=not flags.retain)
        where = _where(address, ref)
        if flags.protect:
            self.out.errors.append(f"{where}: {origin} forbids deleting it")
            return []
        disposal = Disposal.FORGET if flags.retain else Disposal.DELETE
        retired = [
            Retirement(
                address=address,
                image=image,
                disposal=disposal,
                delete_snapshots=flags.delete_snapshots,
                kept_snapshots=self.source_snapshots,
            )
            for image in images
        ]
        self._retirement_changes(address, retired, ref, why)
        return retired

    def _retirement_changes(
        self, address: str, retired: list[Retirement], ref: SourceRef | None, why: str
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
        self.out.changes.append(
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
                self._unshare_all(address, retirement.image, ref, "its image is deleted")

    def _unshare_all(
        self, address: str, image: ObservedImage, ref: SourceRef | None, why: str
    ) -> None:
        parsed = parse_address(address)
        if parsed is None:
            return
        for account in image.shares or ():
            self.out.changes.append(
                Change(
                    address=share_address(parsed.name, image.region, account),
                    action=Action.UNSHARE,
                    reason=f"{why}: {account} loses access to {image.image_id}",
                    region=image.region,
                    source=ref,
                    before={"account": account, "imageId": image.image_id},
                    image_id=image.image_id,
                )
            )

    # ----------------------------------------------------------------- a declared image

    def _group_accounts(self, resolved: ResolvedImage) -> set[str]:
        """Accounts with a live share of any image of this Image: owned ones, and the untagged
        ones it adopts by exact name (a new recipient is an account with none of them)."""
        home_addr = resolved.address
        image = resolved.desired
        accounts = {
            account
            for _, images in self._owned_of(image.name)
            for img in images
            for account in img.shares or ()
        }
        names = []
        if resolved.home_name is not None:
            names.append((image.region, resolved.home_name))
        if resolved.copy_name is not None:
            names += [(c.region, resolved.copy_name) for c in self.desired.copies_of(image.name)]
        if resolved.existing is not None:
            accounts |= set(resolved.existing.shares or ())
        for region, name in names:
            holder, held_by = self.ownership.holder(region, name, home_addr)
            if holder is NameHolder.ADOPTABLE and held_by is not None:
                accounts |= set(held_by.shares or ())
        return accounts

    def _plan_group(self, resolved: ResolvedImage) -> None:
        image = resolved.desired
        home_addr = resolved.address
        owned_home = self.ownership.at(home_addr)
        current = self._current_home(resolved)
        group_accounts = self._group_accounts(resolved)
        deposed_images = [img for img in owned_home if img is not current]
        home_out: _ImageOutcome | None = None
        copies_out: list[_ImageOutcome] = []
        deposed: list[Retirement] = []
        removed: list[Retirement] = []
        replacing = False

        if in_scope(self.scope, home_addr) and (current is not None or not resolved.is_existing):
            deposed = self._depose(resolved, home_addr, deposed_images)
            replacing = bool(deposed)
            home_out = self._home(resolved, current, deposed_images, group_accounts)
        home_live = home_out.work.live if home_out else current
        if home_live is not None and home_live.state.failed:
            home_live = None
        home_split = home_out.split if home_out is not None else None

        declared_regions = {c.region: c for c in self.desired.copies_of(image.name)}
        owned_copy_addresses = [
            a for a in self.ownership.addresses() if a.startswith(home_addr + "@")
        ]
        copy_addresses = sorted(
            {c.address for c in declared_regions.values()} | set(owned_copy_addresses)
        )
        for address in copy_addresses:
            if not in_scope(self.scope, address):
                continue
            region = address.split("@", 1)[1]
            owned = self.ownership.at(address)
            if region not in declared_regions:
                # Old-generation copies go with the old generation (create-before-destroy:
                # after the new images and shares); copies of the current one go at once.
                for retirement in self._retire_address(
                    address, owned, why="copy region removed", declared=image
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
            self._protect_replacement(resolved, deposed)
        # New images record their size for the cost estimate: a home image has its source's
        # disks; a copy has its live home image's, else those of the home image being made.
        home_size = source_size_gb(image.source, self.source_sizes)
        copy_size = _live_size_gb(home_live) if home_live is not None else home_size
        if home_out is not None:
            self.out.changes.append(_with_size(home_out, home_size))
        self.out.changes.extend(_with_size(outcome, copy_size) for outcome in copies_out)
        self.out.groups.append(
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
        image = resolved.desired
        where = _where(image.address, image.source_ref)
        if resolved.is_existing:
            found = resolved.existing
            if found is None:
                return None
            if is_untagged(found) or (
                self.ownership.owns(found) and found.address == image.address
            ):
                return found
            self.out.errors.append(
                f"{where}: {self.ownership.describe_holder(found)} is not this stack's to adopt"
            )
            return None
        candidates = [
            img
            for img in self.ownership.at(image.address)
            if img.region == image.region and matches_generation(img, resolved.generation)
        ]
        candidates.sort(key=lambda img: (img.name != resolved.home_name, img.image_id))
        name = str(resolved.home_name)
        holder, held_by = self.ownership.holder(image.region, name, image.address)
        if holder is NameHolder.FOREIGN and held_by is not None:
            self.out.errors.append(
                f"{where}: the image name {name} in {image.region} is held by "
                f"{self.ownership.describe_holder(held_by)}; rename imageName or remove that image"
            )
        if candidates:
            return candidates[0]
        if holder is NameHolder.ADOPTABLE:
            return held_by
        return None

    def _depose(
        self, resolved: ResolvedImage, address: str, images: list[ObservedImage]
    ) -> list[Retirement]:
        lifecycle = resolved.desired.lifecycle
        disposal = (
            Disposal.FORGET
            if lifecycle.deletion_policy is DeletionPolicy.RETAIN
            else Disposal.DELETE
        )
        # The old image keeps its snapshots if either its own tag or the manifest says so.
        return [
            Retirement(
                address=address,
                image=img,
                disposal=disposal,
                delete_snapshots=lifecycle.delete_snapshots
                and TaggedLifecycle.parse(img.tags.get(TAG_LIFECYCLE)).delete_snapshots,
                kept_snapshots=self.source_snapshots,
            )
            for img in images
        ]

    def _protect_replacement(self, resolved: ResolvedImage, deposed: list[Retirement]) -> None:
        image = resolved.desired
        if image.lifecycle.protect and deposed:
            ids = ", ".join(sorted({r.image.image_id for r in deposed}))
            self.out.errors.append(
                f"{_where(image.address, image.source_ref)}: lifecycle.protect forbids "
                f"replacing it (the old generation {ids} would be deposed)"
            )

    def _scoped_accounts(
        self, name: str, region: str, live: ObservedImage | None
    ) -> tuple[str, ...]:
        """Declared accounts in scope, plus live ones whose share address is out of scope."""
        declared = {s.account for s in self.desired.shares_of(name, region)}
        live_accounts = set(live.shares or ()) if live is not None else set()
        accounts = {a for a in declared if in_scope(self.scope, share_address(name, region, a))}
        accounts |= {
            a for a in live_accounts if not in_scope(self.scope, share_address(name, region, a))
        }
        return tuple(sorted(accounts))

    def _home(
        self,
        resolved: ResolvedImage,
        current: ObservedImage | None,
        deposed: list[ObservedImage],
        group_accounts: set[str],
    ) -> _ImageOutcome:
        image = resolved.desired
        home_addr = image.address
        live_copy_regions = sorted(
            {
                img.region
                for address, images in self.ownership.by_address.items()
                if address.startswith(home_addr + "@")
                for img in images
                if matches_generation(img, resolved.generation) and not img.state.failed
            }
        )
        declared_copies = {c.region for c in self.desired.copies_of(image.name)}
        copy_regions = sorted(
            {r for r in declared_copies if in_scope(self.scope, copy_address(image.name, r))}
            | {
                r
                for r in live_copy_regions
                if not in_scope(self.scope, copy_address(image.name, r))
            }
        )
        return self._image(
            resolved,
            address=home_addr,
            region=image.region,
            name=resolved.home_name,
            current=current,
            deposed=deposed,
            ref=image.source_ref,
            copies=(copy_regions, live_copy_regions),
            group_accounts=group_accounts,
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
    ) -> tuple[_ImageOutcome, list[Retirement]]:
        name = str(resolved.copy_name)
        owned = self.ownership.at(address)
        candidates = [
            img
            for img in owned
            if img.region == region and matches_generation(img, resolved.generation)
        ]
        candidates.sort(key=lambda img: (img.name != name, img.image_id))
        holder, held_by = self.ownership.holder(region, name, address)
        current: ObservedImage | None = None
        if candidates:
            current = candidates[0]
        elif holder is NameHolder.ADOPTABLE:
            current = held_by
        if holder is NameHolder.FOREIGN and held_by is not None:
            self.out.errors.append(
                f"{_where(address, ref)}: the image name {name} in {region} is held by "
                f"{self.ownership.describe_holder(held_by)}; remove that image, or change the "
                "Image's imageName (a copy carries its image's name)"
            )
        old = [img for img in owned if img is not current]
        outcome = self._image(
            resolved,
            address=address,
            region=region,
            name=name,
            current=current,
            deposed=old,
            ref=ref,
            copies=None,
            group_accounts=group_accounts,
            deleted_outside=deleted_outside,
        )
        return outcome, self._depose(resolved, address, old)

    # ----------------------------------------------------------------- one image

    def _image(
        self,
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
    ) -> _ImageOutcome:
        """Keep, adopt or make one image (home when `copies` is given, else a copy)."""
        image = resolved.desired
        is_home = copies is not None
        desired_copies, live_copies = copies if copies is not None else ([], [])
        ignore = image.lifecycle.ignore_changes
        # Drift of the images this one replaces is reported before they go.
        shared_outside: set[str] = set()
        deleting = image.lifecycle.deletion_policy is DeletionPolicy.DELETE
        for old in deposed:
            old_split = self._check_drift(address, old, image, ref, deleting=deleting)
            shared_outside |= {
                k[len("shares.") :]
                for k in old_split.drifted
                if k.startswith("shares.") and k[len("shares.") :] in (old.shares or ())
            }
        if current is not None and not current.state.failed and name not in {None, current.name}:
            self._check_rename(
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
            self._check_drift(address, current, image, ref, deleting=True)
            clear_first = (
                Retirement(
                    address=address,
                    image=current,
                    disposal=Disposal.DELETE,
                    delete_snapshots=True,
                    kept_snapshots=self.source_snapshots,
                ),
            )
            reasons.append(
                f"{current.image_id} is {current.state.value} and holds the name: "
                "it is deleted and made again"
            )
            current = None
        accounts = self._scoped_accounts(image.name, region, current)
        desired_record = _declared_record(image, name=name, shares=accounts, copies=desired_copies)
        final_applied = applied_hash(desired_record)
        # Home images this stack makes record their source, so a replacement can name the
        # field that forces it; images made before that tag existed are not re-tagged for it.
        records_source = (
            is_home
            and not resolved.is_existing
            and (current is None or not self.ownership.owns(current) or TAG_SOURCE in current.tags)
        )
        target_tags = managed_tags(
            stack=self.stack,
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
            work, change = self._made(
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
            owned = self.ownership.owns(current)
            live_record = _live_record(
                current, name_managed=name is not None, copies=live_copies, ignore_changes=ignore
            )
            if owned:
                split = split_drift(
                    live_record,
                    desired_record,
                    current.tags.get(TAG_APPLIED),
                    alternatives=self._alternatives(
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
                    split = _own_cancel(split, live_record)
                split = _own_partial_apply(split, live_record)
                self._report_drift(
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
            work, change = self._kept(
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
                and _recorded_before_ignoring(
                    current, split, name_managed=name is not None, copies=live_copies, ignore=ignore
                ),
            )
        self._share_changes(
            image.name,
            region,
            accounts,
            current=current,
            previous=previous_accounts,
            shared_outside=shared_outside,
            split=split,
            group_accounts=group_accounts,
            replaced=bool(deposed),
        )
        return _ImageOutcome(work=work, change=change, split=split)

    def _check_rename(
        self,
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
        others = [i for i in self.ownership.by_name.get((region, name), ()) if i is not current]
        if not others:
            return
        holder, _ = self.ownership.holder(region, name, address)
        if holder is NameHolder.FOREIGN and not (is_home and resolved.is_existing):
            return
        fix = (
            "change imageName or remove that image"
            if is_home
            else "remove that image, or change the Image's imageName (a copy carries its "
            "image's name)"
        )
        self.out.errors.append(
            f"{_where(address, ref)}: can't rename {current.image_id} to {name} in {region}: "
            f"the name is held by {self.ownership.describe_holder(others[0])}; {fix}"
        )

    def _made(
        self,
        resolved: ResolvedImage,
        address: str,
        *,
        region: str,
        name: str | None,
        desired_record: AppliedRecord,
        target_tags: Mapping[str, str],
        deposed: list[ObservedImage],
        ref: SourceRef,
    ) -> tuple[ImageWork, Change]:
        """A new image: created/imported (home) or copied by SyncImages (copy)."""
        image = resolved.desired
        is_home = address == image.address
        initial_tags = dict(target_tags)
        initial_tags[TAG_APPLIED] = applied_hash(initial_record(desired_record, is_home=is_home))
        attributes: dict[str, JSONValue] = {}
        if is_home:
            if image.deprecated and "deprecated" in desired_record:
                attributes["ImageDeprecated"] = True
        else:
            # What SyncImages carries over is not documented: set the copy's attributes.
            if image.description:
                attributes["ImageDescription"] = image.description
            if image.family:
                attributes["ImageFamily"] = image.family
            if image.deprecated:
                attributes["ImageDeprecated"] = True
        replace_tags = {}
        if initial_tags[TAG_APPLIED] != target_tags[TAG_APPLIED]:
            replace_tags[TAG_APPLIED] = target_tags[TAG_APPLIED]
        accounts = tuple(sorted(k[7:] for k in desired_record if k.startswith("shares.")))
        make = new_image(image, str(name), initial_tags) if is_home else None
        work = ImageWork(
            address=address,
            region=region,
            name=str(name),
            live=None,
            make=make,
            initial_tags=initial_tags,
            attributes=attributes,
            share=accounts,
            replace_tags=replace_tags,
        )
        exists = bool(deposed)
        action = choose_action(wanted=True, exists=exists, forces_replacement=exists, differs=True)
        warnings: tuple[str, ...] = ()
        if action is Action.REPLACE:
            reason = self._replacement_reason(resolved, deposed, is_home)
            if image.lifecycle.deletion_policy is DeletionPolicy.DELETE:
                warnings = tuple(
                    f"the old image ID {old.image_id} will stop existing; "
                    "launch templates of recipients may use it"
                    for old in deposed
                )
        elif is_home:
            reason = "declared and not in the cloud"
        else:
            reason = f"copy to {region} declared and not in the cloud"
        change = Change(
            address=address,
            action=action,
            reason=reason,
            region=region,
            diff=self._made_diffs(resolved, desired_record, deposed, region, is_home=is_home),
            source=ref,
            before=image_view(deposed[0]) if deposed else None,
            after=_record_view(desired_record, region, None),
            warnings=warnings,
            image_id=deposed[0].image_id if deposed else None,
        )
        return work, change

    def _made_diffs(
        self,
        resolved: ResolvedImage,
        desired_record: AppliedRecord,
        deposed: list[ObservedImage],
        region: str,
        *,
        is_home: bool,
    ) -> tuple[FieldDiff, ...]:
        """A create lists every field; a replacement what differs from the old image."""
        fields = {k: v for k, v in desired_record.items() if _is_field(k)}
        suffixed = not (is_home and resolved.is_existing)
        if not deposed:
            return name_diffs(field_diffs({}, fields), suffixed=suffixed)
        old = deposed[0]
        live = _live_record(
            old,
            name_managed=resolved.home_name is not None,
            ignore_changes=resolved.desired.lifecycle.ignore_changes,
        )
        before = {k: v for k, v in live.items() if _is_field(k)}
        moved = (FieldDiff("region", old.region, region),) if old.region != region else ()
        sources: tuple[FieldDiff, ...] = ()
        if is_home:
            sources = _source_diffs(old, resolved.desired)
        return tuple(
            sorted(
                moved + sources + name_diffs(field_diffs(before, fields), suffixed=suffixed),
                key=lambda diff: diff.path,
            )
        )

    def _replacement_reason(
        self, resolved: ResolvedImage, deposed: list[ObservedImage], is_home: bool
    ) -> str:
        image = resolved.desired
        if not is_home:
            return f"{image.address} is replaced: its copies are replaced too"
        if resolved.forced:
            return f"--replace {image.address}: forces replacement"
        moved = sorted({old.region for old in deposed if old.region != image.region})
        if moved:
            return f"region changed ({', '.join(moved)} → {image.region}): forces replacement"
        tagged = [old.tags[TAG_SOURCE] for old in deposed if TAG_SOURCE in old.tags]
        if tagged:
            paths = changed_source_paths(tagged[0], image.source)
            if paths is None:
                kinds = sorted({p.split(".", 1)[0] for p in parse_source_tag(tagged[0])})
                return (
                    f"source changed from {'/'.join(kinds) or 'another kind'} to "
                    f"{_source_kind(image)}: forces replacement"
                )
            if paths:
                return f"{', '.join(paths)} changed: forces replacement"
        old_generations = sorted({generation_tag(old) for old in deposed if generation_tag(old)})
        return (
            "source changed: the generation of the manifest's source "
            f"({resolved.generation[:12]}) differs from the live image's "
            f"({', '.join(old_generations) or 'unknown'}): forces replacement"
        )

    def _kept(
        self,
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
        to it since (see `_recorded_before_ignoring`)."""
        image = resolved.desired
        region = current.region
        changed = sorted(k for k in split.changed if _is_field(k))
        drifted = sorted(k for k in split.drifted if _is_field(k))
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
            reasons.append(f"drift: {_unknown_reason(split)}")
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
            after=_record_view(desired_record, region, current.image_id),
            disruptive=disruptive,
            image_id=current.image_id,
        )
        return work, change

    # ----------------------------------------------------------------- shares

    def _share_changes(
        self,
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
    ) -> None:
        """Share changes of one image. Shares recreated on a replacement's new image belong to
        the replacement (no-op), whether it is made now or was made by an interrupted apply.

        `previous`: accounts of the replaced images → the ID of the image shared with them;
        `shared_outside`: those of them the stack never shared (drift)."""
        declared = {s.account: s for s in self.desired.shares_of(name, region)}
        live = set(current.shares or ()) if current is not None else set()
        wanted = set(accounts)
        image_id = current.image_id if current is not None else None
        for account in sorted(wanted | live | previous.keys()):
            address = share_address(name, region, account)
            if not in_scope(self.scope, address) and account not in previous:
                continue
            spec = declared.get(account)
            ref = spec.source_ref if spec is not None else None
            drifted = f"shares.{account}" in split.drifted
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
            self.out.changes.append(
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


def initial_record(desired_record: Mapping[str, JSONValue], *, is_home: bool) -> AppliedRecord:
    """The record a new image is tagged with right after its create: what the create itself
    sets (no shares or copies yet; a new home image is never deprecated)."""
    record = {k: v for k, v in desired_record.items() if _is_field(k)}
    if is_home and "deprecated" in record:
        record["deprecated"] = False
    return record


_NAME_SUFFIX = re.compile(rf"-[0-9a-f]{{{NAME_SUFFIX_LENGTH}}}$")


def _without_suffix(name: JSONValue) -> str | None:
    """`web-1a2b3c4d` → `web`; None when the name carries no generation suffix."""
    if not isinstance(name, str):
        return None
    match = _NAME_SUFFIX.search(name)
    return name[: match.start()] if match else None


def name_diffs(diffs: Iterable[FieldDiff], *, suffixed: bool) -> tuple[FieldDiff, ...]:
    """Diffs with the cloud name shown as `cloudName`, and `imageName` (the manifest's value,
    without the generation suffix) only where that changed too. `suffixed=False` (an `existing`
    home image, named exactly as `imageName` says) leaves `imageName` as it is."""
    diffs = tuple(diffs)
    if not suffixed:
        return diffs
    out: list[FieldDiff] = []
    for diff in diffs:
        if diff.path != "imageName":
            out.append(diff)
            continue
        out.append(FieldDiff("cloudName", diff.before, diff.after))
        before, after = _without_suffix(diff.before), _without_suffix(diff.after)
        if after is not None and before != after and (before is not None or diff.before is None):
            out.append(FieldDiff("imageName", before, after))
    return tuple(sorted(out, key=lambda diff: diff.path))


def _source_kind(image: DesiredImage) -> str:
    return type(image.source).__name__.removesuffix("Source").lower()


def _source_diffs(old: ObservedImage, image: DesiredImage) -> tuple[FieldDiff, ...]:
    """`source.*` diffs of a replacement, from the old image's `reconciler:source` tag (a value
    stored as a hash shows no value)."""
    tagged = old.tags.get(TAG_SOURCE)
    paths = changed_source_paths(tagged, image.source) if tagged is not None else None
    if not paths or tagged is None:
        return ()
    before, after = parse_source_tag(tagged), source_fields(image.source)
    return tuple(
        FieldDiff(
            path,
            _plain_source_value(before.get(path.removeprefix("source."))),
            _plain_source_value(after.get(path.removeprefix("source."))),
        )
        for path in paths
    )


def _plain_source_value(value: str | None) -> JSONValue:
    if value is None or value.startswith("(h:"):
        return None
    return value


def _own_partial_apply(split: DriftSplit, live: Mapping[str, JSONValue]) -> DriftSplit:
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


def _recorded_before_ignoring(
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
            record = _live_record(
                image, name_managed=name_managed, copies=regions, ignore_changes=earlier
            )
            if applied_hash(record) == tag:
                return True
    return False


def _unknown_reason(split: DriftSplit) -> str:
    """The reason of unexplained drift, naming the keys that differ from the manifests."""
    differing = sorted(split.changed)
    if not differing:
        return "changed outside the stack (fields unknown)"
    return (
        "changed outside the stack (fields unknown; differing from the manifests: "
        f"{', '.join(differing)})"
    )


def _own_cancel(split: DriftSplit, live: Mapping[str, JSONValue]) -> DriftSplit:
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
        if any(not _is_field(k) for k in split.changed):
            return None
        if split.drifted or split.unknown:
            return "record what is applied once the drift is corrected"
        if ignore_added:
            return "lifecycle.ignoreChanges changed: record what is applied"
        return "record what was applied (an earlier apply did not finish)"
    return "tags out of date: " + ", ".join(keys)


def _with_reason(change: Change, reason: str) -> Change:
    return replace(change, reason=f"{change.reason}; {reason}")


def _live_size_gb(image: ObservedImage) -> int | None:
    """An observed image's size in whole GiB; None when the cloud reports none."""
    return int(image_size_gb(image)) or None


def _with_size(outcome: _ImageOutcome, size_gb: int | None) -> Change:
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
    return ChangePlanner(
        desired, resolved, ownership, options, scope, source_sizes=source_sizes
    ).run()
