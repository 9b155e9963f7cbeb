"""What a plan needs read from the cloud beyond the image list: shares, source disks, quotas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.model.desired import (
    DesiredState,
    ExistingSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.generation import name_suffix


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationNeeds:
    """Which images' share lists, which source disks and which quotas the observation reads."""

    share_ids: frozenset[str] = frozenset()
    """Image IDs adopted by a `source: existing` Image."""
    share_names: frozenset[str] = frozenset()
    """Exact cloud names the stack wants (an untagged holder is adopted, SPEC §3)."""
    share_suffixes: frozenset[str] = frozenset()
    """`-<generation[:8]>` endings of the desired images' generation-suffixed names."""
    instances: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Region → instance IDs the images are made from (their disk sizes)."""
    snapshots: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Region → snapshot IDs the images are made from (their disk sizes)."""
    quota_regions: frozenset[str] = frozenset()
    """Regions whose custom-image quota is read: the stack's own."""


def observation_needs(desired: DesiredState) -> ObservationNeeds:
    """What observing the cloud for `desired` must read besides every region's image list."""
    names = {image.cloud_name for image in desired.images if image.cloud_name is not None}
    names |= {image.copy_name for image in desired.images}
    instances: defaultdict[str, set[str]] = defaultdict(set)
    snapshots: defaultdict[str, set[str]] = defaultdict(set)
    for image in desired.images:
        source = image.source
        if isinstance(source, InstanceSource):
            instances[image.region].add(source.instance_id)
        elif isinstance(source, SnapshotsSource):
            snapshots[image.region].update((source.system, *source.data))
    return ObservationNeeds(
        share_ids=frozenset(
            image.source.image_id
            for image in desired.images
            if isinstance(image.source, ExistingSource)
        ),
        share_names=frozenset(names),
        share_suffixes=frozenset(name_suffix(image.generation) for image in desired.images),
        instances={region: frozenset(ids) for region, ids in instances.items()},
        snapshots={region: frozenset(ids) for region, ids in snapshots.items()},
        quota_regions=frozenset(desired.stack.regions),
    )
