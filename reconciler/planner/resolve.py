"""Resolve each desired Image against the cloud: its generation (with revision) and cloud names."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.desired import DesiredImage, ExistingSource
from reconciler.model.generation import NAME_SUFFIX_LENGTH, generation_of, name_with_generation
from reconciler.model.observed import TAG_REVISION, ObservedImage
from reconciler.planner.ownership import NameHolder, Ownership, matches_generation


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedImage:
    """A desired Image with what only the cloud can tell: revision, live names, adopted image."""

    desired: DesiredImage
    generation: str
    """Full generation hash, revision included."""
    revision: int
    home_name: str | None
    """Exact name of the home image; None leaves it unmanaged (`existing` without imageName)."""
    copy_name: str | None
    """Exact name of every copy; None when the `existing` home image was not found."""
    existing: ObservedImage | None = None
    """The image named by `source.existing`, when observed in the home region."""
    forced: bool = False
    """`--replace` asked for a new generation."""

    @property
    def address(self) -> str:
        return self.desired.address

    @property
    def region(self) -> str:
        return self.desired.region

    @property
    def is_existing(self) -> bool:
        return isinstance(self.desired.source, ExistingSource)


def revision_of(image: ObservedImage) -> int:
    value = image.tags.get(TAG_REVISION, "0")
    return int(value) if value.isdigit() else 0


def base_name(desired: DesiredImage) -> str:
    """`imageName` as declared: the cloud name without its `-<generation[:8]>` suffix."""
    name = desired.cloud_name or desired.name
    suffix = "-" + desired.generation[:NAME_SUFFIX_LENGTH]
    return name[: -len(suffix)] if name.endswith(suffix) else name


def _generation(stack: str, desired: DesiredImage, revision: int) -> str:
    if revision == 0:
        return desired.generation
    return generation_of(stack, desired.address, desired.region, desired.source, revision)


def _observed_revision(stack: str, desired: DesiredImage, ownership: Ownership) -> tuple[int, int]:
    """(the revision in force for this source, the highest revision tag of the address)."""
    owned = ownership.at(desired.address)
    highest = max((revision_of(image) for image in owned), default=0)
    in_force = 0
    for image in owned:
        revision = revision_of(image)
        if revision > in_force and matches_generation(image, _generation(stack, desired, revision)):
            in_force = revision
    # A forced create interrupted before tagging left an untagged image with its exact name.
    base = base_name(desired)
    for revision in range(in_force + 1, highest + 2):
        name = name_with_generation(base, _generation(stack, desired, revision))
        holder, _ = ownership.holder(desired.region, name, desired.address)
        if holder in {NameHolder.ADOPTABLE, NameHolder.OURS}:
            in_force = revision
    return in_force, max(highest, in_force)


def resolve_image(
    stack: str, desired: DesiredImage, ownership: Ownership, *, forced: bool
) -> tuple[ResolvedImage, list[str]]:
    """The resolved image and any plan errors (a missing `existing` image, a forced existing)."""
    errors: list[str] = []
    where = f"{desired.address} ({desired.source_ref})"
    if isinstance(desired.source, ExistingSource):
        found = ownership.by_id.get(desired.source.image_id)
        if found is not None and found.region != desired.region:
            found = None
        if found is None:
            errors.append(
                f"{where}: source.existing.imageId {desired.source.image_id} "
                f"is not a custom image of this account in {desired.region}"
            )
        if forced:
            errors.append(
                f"{where}: --replace can't replace an image built elsewhere (source.existing); "
                "point source.existing.imageId at the new image instead"
            )
        live_name = desired.cloud_name or (found.name if found else None)
        copy_name = (
            name_with_generation(live_name, desired.generation) if live_name is not None else None
        )
        resolved = ResolvedImage(
            desired=desired,
            generation=desired.generation,
            revision=0,
            home_name=desired.cloud_name,
            copy_name=copy_name,
            existing=found,
        )
        return resolved, errors
    in_force, highest = _observed_revision(stack, desired, ownership)
    revision = highest + 1 if forced else in_force
    generation = _generation(stack, desired, revision)
    name = name_with_generation(base_name(desired), generation)
    resolved = ResolvedImage(
        desired=desired,
        generation=generation,
        revision=revision,
        home_name=name,
        copy_name=name,
        forced=forced,
    )
    return resolved, errors
