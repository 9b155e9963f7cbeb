"""Which observed images the stack owns, by address, and who holds a cloud name (SPEC §3)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from reconciler.model.generation import GENERATION_TAG_LENGTH
from reconciler.model.observed import (
    TAG_ADDRESS,
    TAG_GENERATION,
    TAG_STACK,
    ObservedCloud,
    ObservedImage,
)


class NameHolder(StrEnum):
    """Who holds an exact image name in a region."""

    FREE = "free"
    OURS = "ours"
    """An image of this stack at the asking address."""
    ADOPTABLE = "adoptable"
    """An untagged image: an interrupted create of ours when the name carries our suffix."""
    FOREIGN = "foreign"


def is_untagged(image: ObservedImage) -> bool:
    """No `reconciler:stack` tag: nobody's image, as far as any stack can tell."""
    return TAG_STACK not in image.tags


def generation_tag(image: ObservedImage) -> str:
    return image.tags.get(TAG_GENERATION, "")


def matches_generation(image: ObservedImage, generation: str) -> bool:
    return generation_tag(image) == generation[:GENERATION_TAG_LENGTH]


def _image_order(image: ObservedImage) -> tuple[str, str]:
    return (image.region, image.image_id)


@dataclass(frozen=True, slots=True)
class Ownership:
    """The observed cloud seen from one stack: its images by address, names by region."""

    stack: str
    by_address: Mapping[str, tuple[ObservedImage, ...]]
    by_name: Mapping[tuple[str, str], tuple[ObservedImage, ...]]
    by_id: Mapping[str, ObservedImage]

    @classmethod
    def of(cls, observed: ObservedCloud, stack: str) -> Ownership:
        by_address: dict[str, list[ObservedImage]] = defaultdict(list)
        by_name: dict[tuple[str, str], list[ObservedImage]] = defaultdict(list)
        for image in sorted(observed.images, key=_image_order):
            if image.stack == stack and image.tags.get(TAG_ADDRESS):
                by_address[image.tags[TAG_ADDRESS]].append(image)
            by_name[(image.region, image.name)].append(image)
        return cls(
            stack=stack,
            by_address={key: tuple(value) for key, value in by_address.items()},
            by_name={key: tuple(value) for key, value in by_name.items()},
            by_id={image.image_id: image for image in observed.images},
        )

    def at(self, address: str) -> tuple[ObservedImage, ...]:
        """The stack's images tagged with this address (every generation and region)."""
        return self.by_address.get(address, ())

    def addresses(self) -> tuple[str, ...]:
        return tuple(sorted(self.by_address))

    def owns(self, image: ObservedImage) -> bool:
        return image.stack == self.stack

    def holder(
        self, region: str, name: str, address: str
    ) -> tuple[NameHolder, ObservedImage | None]:
        """Who holds `name` in `region`, as seen by `address` (names compare exactly)."""
        holders = self.by_name.get((region, name), ())
        for image in holders:
            if self.owns(image) and image.address == address:
                return NameHolder.OURS, image
        for image in holders:
            if is_untagged(image):
                return NameHolder.ADOPTABLE, image
        if holders:
            return NameHolder.FOREIGN, holders[0]
        return NameHolder.FREE, None

    def describe_holder(self, image: ObservedImage) -> str:
        """`img-… (untagged)`, `img-… (stack other)` or `img-… (image.x of this stack)`."""
        if is_untagged(image):
            return f"{image.image_id} (untagged)"
        if self.owns(image):
            return f"{image.image_id} ({image.address} of this stack)"
        return f"{image.image_id} (stack {image.stack})"
