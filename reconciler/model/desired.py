"""The desired state: what the validated manifests say must exist (images, copies, shares)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.model.source import SourceRef


class DeletionPolicy(StrEnum):
    """What removing an image's document does to the image."""

    DELETE = "Delete"
    RETAIN = "Retain"


class Enforcement(StrEnum):
    """How a policy rule is enforced (SPEC §8)."""

    DENY = "deny"
    WARN = "warn"


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceSource:
    """`source.instance`: CreateImage from an instance's disks."""

    instance_id: str
    force_poweroff: bool = False
    sysprep: bool = False
    data_disk_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotsSource:
    """`source.snapshots`: CreateImage from one system-disk snapshot and data-disk snapshots."""

    system: str
    data: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportSource:
    """`source.import`: ImportImage from an object-storage URL."""

    url: str
    os_type: str
    os_version: str
    architecture: str = "x86_64"
    boot_mode: str = "Legacy BIOS"
    license_type: str = "TencentCloud"
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExistingSource:
    """`source.existing`: adopt an image built elsewhere (e.g. by Packer)."""

    image_id: str


ImageSource = InstanceSource | SnapshotsSource | ImportSource | ExistingSource


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """`spec.lifecycle` with the defaults of its source kind filled in."""

    protect: bool = False
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    delete_snapshots: bool = True
    ignore_changes: tuple[str, ...] = ()

    @property
    def flags(self) -> str:
        """The `reconciler:lifecycle` tag value, e.g. `protect,retain` (empty when none)."""
        parts = []
        if self.protect:
            parts.append("protect")
        if self.deletion_policy is DeletionPolicy.RETAIN:
            parts.append("retain")
        return ",".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredImage:
    """A home image (`image.<name>`) as declared by an Image document."""

    name: str
    """`metadata.name`."""
    address: str
    """`image.<name>`."""
    region: str
    """The home region."""
    source: ImageSource
    generation: str
    """Full sha256 hex of the generation input (SPEC §3); tags carry the first 12 chars."""
    cloud_name: str | None
    """Exact cloud ImageName of the home image; None = unmanaged (existing without imageName)."""
    copy_name: str
    """Exact cloud ImageName of every copy of this image."""
    description: str = ""
    family: str = ""
    deprecated: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    """User tags (never `reconciler:*`)."""
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    source_ref: SourceRef
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredCopy:
    """A copy of an image in another region (`image.<name>@<region>`)."""

    image: str
    """`metadata.name` of the Image."""
    address: str
    region: str
    source_ref: SourceRef
    """The ImageCopy document's line for this region."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredShare:
    """One (image, region, account) share (`share.<name>@<region>:<account>`)."""

    image: str
    address: str
    region: str
    account: str
    source_ref: SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderConfig:
    """`Stack.spec.provider`."""

    type: str = "local"
    """`local` (embedded simulated cloud) or `tencentcloud`."""
    path: str | None = None
    """local only: database path, relative to the stack directory."""
    endpoint: str | None = None
    protocol: str = "https"


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    """`Stack.spec.policy` (SPEC §8)."""

    allowed_accounts: tuple[str, ...] | None = None
    """None: any account may receive a share."""
    required_tags: tuple[str, ...] = ()
    destroy: bool = False
    """True: deletions and unshares need `--allow-destroy`."""
    enforcement: Mapping[str, Enforcement] = field(default_factory=dict)
    """Per rule (`allowedAccounts`, `requiredTags`, `destroy`); a missing rule is deny."""
    source_ref: SourceRef | None = None

    def enforcement_of(self, rule: str) -> Enforcement:
        """The enforcement of one rule (default deny)."""
        return self.enforcement.get(rule, Enforcement.DENY)


@dataclass(frozen=True, slots=True, kw_only=True)
class PricingConfig:
    """`Stack.spec.pricing`: overrides of the shipped price table (SPEC §9)."""

    per_gb_month: Mapping[str, float] = field(default_factory=dict)
    """Region → USD per GB-month."""
    free_tier_gb: Mapping[str, float] = field(default_factory=dict)
    """Region → free GB (applied to the account's total in that region)."""
    default_per_gb_month: float | None = None
    currency: str = "USD"


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredStack:
    """The Stack document: the ownership namespace and its settings."""

    name: str
    regions: tuple[str, ...]
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    source_ref: SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredState:
    """Everything the manifests declare, validated. Tuples are sorted by address."""

    stack: DesiredStack
    images: tuple[DesiredImage, ...] = ()
    copies: tuple[DesiredCopy, ...] = ()
    shares: tuple[DesiredShare, ...] = ()
    documents: int = 0

    def image(self, name: str) -> DesiredImage:
        """The Image with this metadata.name (validated to exist)."""
        for image in self.images:
            if image.name == name:
                return image
        raise KeyError(name)

    def copies_of(self, name: str) -> tuple[DesiredCopy, ...]:
        return tuple(c for c in self.copies if c.image == name)

    def shares_of(self, name: str, region: str | None = None) -> tuple[DesiredShare, ...]:
        return tuple(
            s for s in self.shares if s.image == name and (region is None or s.region == region)
        )
