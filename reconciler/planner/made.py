"""A new image (create, copy or replacement): its work, change, reason and diffs."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.model.desired import DeletionPolicy, DesiredImage
from reconciler.model.observed import TAG_APPLIED, TAG_SOURCE, ObservedImage
from reconciler.model.plan import Action, Change, FieldDiff, JSONValue
from reconciler.model.source import SourceRef
from reconciler.planner.applied import (
    AppliedRecord,
    applied_hash,
    changed_source_paths,
    parse_source_tag,
    source_fields,
)
from reconciler.planner.diff import choose_action, field_diffs
from reconciler.planner.make import new_image
from reconciler.planner.ownership import generation_tag
from reconciler.planner.records import (
    image_view,
    initial_record,
    is_field,
    name_diffs,
    observed_record,
    record_view,
)
from reconciler.planner.resolve import ResolvedImage
from reconciler.planner.work import ImageWork


def made_image(
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
        reason = _replacement_reason(resolved, deposed, is_home)
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
        diff=_made_diffs(resolved, desired_record, deposed, region, is_home=is_home),
        source=ref,
        before=image_view(deposed[0]) if deposed else None,
        after=record_view(desired_record, region, None),
        warnings=warnings,
        image_id=deposed[0].image_id if deposed else None,
    )
    return work, change


def _made_diffs(
    resolved: ResolvedImage,
    desired_record: AppliedRecord,
    deposed: list[ObservedImage],
    region: str,
    *,
    is_home: bool,
) -> tuple[FieldDiff, ...]:
    """A create lists every field; a replacement what differs from the old image."""
    fields = {k: v for k, v in desired_record.items() if is_field(k)}
    suffixed = not (is_home and resolved.is_existing)
    if not deposed:
        return name_diffs(field_diffs({}, fields), suffixed=suffixed)
    old = deposed[0]
    live = observed_record(
        old,
        name_managed=resolved.home_name is not None,
        ignore_changes=resolved.desired.lifecycle.ignore_changes,
    )
    before = {k: v for k, v in live.items() if is_field(k)}
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
    resolved: ResolvedImage, deposed: list[ObservedImage], is_home: bool
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
