"""The state one change-planning run shares: its inputs, owned images by Image name, results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.model.desired import DesiredImage, DesiredState
from reconciler.model.observed import ObservedImage
from reconciler.model.plan import Change, PlanOptions
from reconciler.model.source import SourceRef
from reconciler.planner.make import source_snapshots
from reconciler.planner.ownership import Ownership
from reconciler.planner.targets import parse_address
from reconciler.planner.work import GroupWork, Retirement


def located_address(address: str, ref: SourceRef | None) -> str:
    """`address (file:line)`: where a plan error points."""
    return f"{address} ({ref})" if ref is not None else address


@dataclass(slots=True)
class Collector:
    """Mutable accumulators of one diff run (the result is frozen in `ChangeSet`)."""

    changes: list[Change] = field(default_factory=list)
    drift: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    groups: list[GroupWork] = field(default_factory=list)
    retirements: list[Retirement] = field(default_factory=list)


class PlanContext:
    """The inputs of one diff run, what it has looked at so far, and what it has decided."""

    def __init__(
        self,
        desired: DesiredState,
        ownership: Ownership,
        options: PlanOptions,
        scope: frozenset[str] | None,
        *,
        source_sizes: Mapping[str, int] | None = None,
    ) -> None:
        self.desired = desired
        self.ownership = ownership
        self.options = options
        self.scope = scope
        self.source_sizes: Mapping[str, int] = source_sizes or {}
        """Disk sizes of the sources, by ID (`ObservedCloud.source_sizes`)."""
        self.stack = desired.stack.name
        self.source_snapshots = frozenset().union(*(source_snapshots(i) for i in desired.images))
        """Every snapshot named in a `source.snapshots`: never deleted, whichever image goes."""
        self.out = Collector()
        self.drift_checked: set[str] = set()
        """IDs of the owned images whose drift has been looked at."""
        self.owned_by_name: dict[str, list[tuple[str, tuple[ObservedImage, ...]]]] = {}
        for address, images in sorted(ownership.by_address.items()):
            parsed = parse_address(address)
            if parsed is not None:
                self.owned_by_name.setdefault(parsed.name, []).append((address, images))
        self.accounts_cache: dict[str, list[str]] = {}
        """Accounts an image of a name may have been shared with (see `drift.py`), by name."""

    def declared_image(self, address: str) -> DesiredImage | None:
        parsed = parse_address(address)
        if parsed is None:
            return None
        for image in self.desired.images:
            if image.name == parsed.name:
                return image
        return None

    def owned_of(self, name: str) -> list[tuple[str, tuple[ObservedImage, ...]]]:
        """(address, images) of every owned address of the Image `name` (home and copies)."""
        return self.owned_by_name.get(name, [])
