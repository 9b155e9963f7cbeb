"""The observed state: what the cloud holds now, as read by the provider (SPEC §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Ownership tag keys (SPEC §3). `reconciler:*` keys are never user tags.
TAG_PREFIX = "reconciler:"
TAG_STACK = "reconciler:stack"
TAG_ADDRESS = "reconciler:address"
TAG_GENERATION = "reconciler:generation"
TAG_LIFECYCLE = "reconciler:lifecycle"
TAG_APPLIED = "reconciler:applied"
TAG_REVISION = "reconciler:revision"
"""Set only on images made by `--replace` (n ≥ 1); see docs/decisions (forced replacement)."""

TAG_SOURCE = "reconciler:source"
"""The source a home image was made from, in a compact form (`source_tag`), so that a later
replacement can name the source field that changed; see docs/decisions (source tag)."""


class ImageState(StrEnum):
    """`Image.ImageState` values, current and historical."""

    CREATING = "CREATING"
    NORMAL = "NORMAL"
    CREATEFAILED = "CREATEFAILED"
    SYNCING = "SYNCING"
    IMPORTING = "IMPORTING"
    IMPORTFAILED = "IMPORTFAILED"
    USING = "USING"
    DELETING = "DELETING"

    @property
    def busy(self) -> bool:
        """The image is changing and must be waited for (no delete, sync, share)."""
        return self in {
            ImageState.CREATING,
            ImageState.SYNCING,
            ImageState.IMPORTING,
            ImageState.DELETING,
        }

    @property
    def failed(self) -> bool:
        return self in {ImageState.CREATEFAILED, ImageState.IMPORTFAILED}


@dataclass(frozen=True, slots=True)
class ObservedSnapshot:
    """One entry of `Image.SnapshotSet`."""

    snapshot_id: str
    disk_usage: str
    """SYSTEM_DISK or DATA_DISK."""
    disk_size: int
    """GiB."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedImage:
    """One PRIVATE_IMAGE of the account in one region."""

    image_id: str
    region: str
    name: str
    description: str = ""
    family: str = ""
    deprecated: bool = False
    state: ImageState = ImageState.NORMAL
    sync_percent: int | None = None
    size_gb: int = 0
    snapshots: tuple[ObservedSnapshot, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    """All tags, `reconciler:*` included."""
    license_type: str = "TencentCloud"
    image_source: str = ""
    """CREATE_IMAGE, EXTERNAL_IMPORT, ..."""
    os_name: str = ""
    platform: str = ""
    architecture: str = ""
    created_time: str = ""
    shares: tuple[str, ...] | None = None
    """Accounts the image is shared with (sorted); None when not read (unowned images)."""

    @property
    def user_tags(self) -> dict[str, str]:
        return {k: v for k, v in self.tags.items() if not k.startswith(TAG_PREFIX)}

    @property
    def stack(self) -> str | None:
        return self.tags.get(TAG_STACK)

    @property
    def address(self) -> str | None:
        return self.tags.get(TAG_ADDRESS)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedCloud:
    """Every PRIVATE_IMAGE of the account in every region that answered, plus quotas and the
    sizes of the desired images' sources."""

    account: str = ""
    images: tuple[ObservedImage, ...] = ()
    quotas: Mapping[str, int] = field(default_factory=dict)
    """Region → DescribeImageQuota.ImageNumQuota (observed regions only)."""
    regions: tuple[str, ...] = ()
    """Regions that answered."""
    observed_at: str = ""
    """ISO-8601 UTC."""
    source_sizes: Mapping[str, int] = field(default_factory=dict)
    """Disk sizes (GiB) of the sources the desired images name, by ID: `ins-…` → the instance's
    system disk, `disk-…` → one of its data disks, `snap-…` → the snapshot's disk. An ID that
    is absent has no known size (not found, or not readable); only the cost estimate uses them."""
    missing_sources: frozenset[str] = frozenset()
    """Instance and snapshot IDs of the desired sources that are definitely not in their image's
    home region (the read succeeded without them); a read that failed leaves its IDs out."""

    def owned_by(self, stack: str) -> tuple[ObservedImage, ...]:
        return tuple(i for i in self.images if i.stack == stack)
