"""What the apply must do to each image, decided by `changes` and ordered into steps by `steps`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.model.observed import ObservedImage
from reconciler.model.plan import JSONValue


class Disposal(StrEnum):
    """How an owned image leaves the stack."""

    DELETE = "delete"
    FORGET = "forget"
    """Strip the `reconciler:*` tags; the image and its shares stay."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Retirement:
    """An image leaving: its shares cancelled, then deleted (with its snapshots) or forgotten."""

    address: str
    image: ObservedImage
    disposal: Disposal
    delete_snapshots: bool = True
    kept_snapshots: frozenset[str] = frozenset()
    """Snapshots never deleted: the ones named in `source.snapshots` (plus, in `steps.retire`,
    every snapshot of an image whose tags say they are the user's)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewImage:
    """How a new home image is made: `CreateImage` or `ImportImage` with its parameters."""

    operation: str
    params: Mapping[str, JSONValue]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageWork:
    """One image the stack keeps or makes (home or copy) and what to change on it."""

    address: str
    region: str
    name: str
    """The cloud name, for step descriptions."""
    live: ObservedImage | None
    """The image kept; None when this apply makes it (home: create/import, copy: SyncImages)."""
    make: NewImage | None = None
    clear_first: tuple[Retirement, ...] = ()
    """Failed images holding the name: deleted before the image is made again."""
    initial_tags: Mapping[str, str] = field(default_factory=dict)
    """New images: every tag, set again right after the create/sync."""
    attributes: Mapping[str, JSONValue] = field(default_factory=dict)
    """ModifyImageAttribute parameters (without ImageId); on a new image, after its wait."""
    share: tuple[str, ...] = ()
    cancel: tuple[str, ...] = ()
    reshare: tuple[str, ...] = ()
    """Re-shared after the attribute change of a shared image (run even if the modify fails)."""
    replace_tags: Mapping[str, str] = field(default_factory=dict)
    delete_tags: tuple[str, ...] = ()

    @property
    def is_new(self) -> bool:
        return self.live is None

    @property
    def busy(self) -> bool:
        return self.live is not None and self.live.state.busy


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupWork:
    """One Image document: its home, its copies, and what leaves once they are all in place."""

    address: str
    home: ImageWork | None
    """None when the home is out of `--target` scope or its image can't be had."""
    copies: tuple[ImageWork, ...] = ()
    deposed: tuple[Retirement, ...] = ()
    """The old generation: retired only after the new home, copies and shares exist."""
    removed: tuple[Retirement, ...] = ()
    """Copies in regions no longer declared: retired independently."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedWork:
    groups: tuple[GroupWork, ...] = ()
    retirements: tuple[Retirement, ...] = ()
    """Images of addresses no longer declared (or everything under `--destroy`)."""
