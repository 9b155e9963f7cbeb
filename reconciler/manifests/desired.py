"""Building the typed DesiredState (defaults filled, generations computed) from valid documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler.manifests.documents import CheckedDocument
from reconciler.manifests.yaml_loader import PathKey
from reconciler.model.desired import (
    DeletionPolicy,
    DesiredCopy,
    DesiredImage,
    DesiredShare,
    DesiredStack,
    DesiredState,
    Enforcement,
    ExistingSource,
    ImageSource,
    ImportSource,
    InstanceSource,
    Lifecycle,
    PolicyConfig,
    PricingConfig,
    ProviderConfig,
    SnapshotsSource,
)
from reconciler.model.generation import generation_of, name_with_generation
from reconciler.model.policy import POLICY_RULES
from reconciler.model.source import SourceRef

_V = TypeVar("_V")


def frozen_map(entries: Mapping[str, _V]) -> Mapping[str, _V]:
    """A read-only copy: the desired state is immutable, its maps included."""
    return MappingProxyType(dict(entries))


def source_ref(document: CheckedDocument, path: PathKey, *, at_key: bool = False) -> SourceRef:
    """Where a field of a document is, as the plan shows it."""
    located = document.document
    position = located.key_position(path) if at_key else located.value_position(path)
    return SourceRef(document.file, position.line, position.column)


def image_source(source: dict[str, Any]) -> ImageSource:
    """`spec.source` (schema-valid) as its typed form with defaults filled in."""
    if "instance" in source:
        instance = source["instance"]
        return InstanceSource(
            instance_id=instance["id"],
            force_poweroff=instance.get("forcePoweroff", False),
            sysprep=instance.get("sysprep", False),
            data_disk_ids=tuple(instance.get("dataDiskIds", ())),
        )
    if "snapshots" in source:
        snapshots = source["snapshots"]
        return SnapshotsSource(system=snapshots["system"], data=tuple(snapshots.get("data", ())))
    if "import" in source:
        imported = source["import"]
        return ImportSource(
            url=imported["url"],
            os_type=imported["osType"],
            os_version=imported["osVersion"],
            architecture=imported.get("architecture", "x86_64"),
            boot_mode=imported.get("bootMode", "Legacy BIOS"),
            license_type=imported.get("licenseType", "TencentCloud"),
            force=imported.get("force", False),
        )
    return ExistingSource(image_id=source["existing"]["imageId"])


def lifecycle_of(spec: dict[str, Any], source: ImageSource) -> Lifecycle:
    """`spec.lifecycle` with its source kind's defaults (SPEC §2)."""
    lifecycle = spec.get("lifecycle", {})
    keeps_snapshots = isinstance(source, SnapshotsSource | ExistingSource)
    default_policy = (
        DeletionPolicy.RETAIN if isinstance(source, ExistingSource) else DeletionPolicy.DELETE
    )
    return Lifecycle(
        protect=lifecycle.get("protect", False),
        deletion_policy=DeletionPolicy(lifecycle.get("deletionPolicy", default_policy)),
        delete_snapshots=lifecycle.get("deleteSnapshots", not keeps_snapshots),
        ignore_changes=tuple(lifecycle.get("ignoreChanges", ())),
    )


def image_names(stack: str, document: CheckedDocument) -> tuple[str, str | None, str]:
    """(generation, cloud name of the home image or None, name of its copies).

    For an `existing` image the copies' name is derived from `imageName` (or metadata.name);
    the planner replaces it with `<live home name cut to 51>-<generation[:8]>` when the home
    image's name is unmanaged, since only the observed cloud knows that name.
    """
    spec = document.spec
    source = image_source(spec["source"])
    generation = generation_of(stack, f"image.{document.name}", spec["region"], source)
    image_name: str | None = spec.get("imageName")
    if isinstance(source, ExistingSource):
        copy_name = name_with_generation(image_name or document.name, generation)
        return generation, image_name, copy_name
    cloud_name = name_with_generation(image_name or document.name, generation)
    return generation, cloud_name, cloud_name


def share_regions(spec: dict[str, Any], home: str, copy_regions: Iterable[str]) -> list[str]:
    """The regions an ImageShare applies to: as listed, or the home and every copy region."""
    listed: list[str] | None = spec.get("regions")
    return list(listed) if listed is not None else [home, *sorted(set(copy_regions))]


def _stack(document: CheckedDocument) -> DesiredStack:
    spec = document.spec
    provider = spec.get("provider", {})
    policy = spec.get("policy")
    pricing = spec.get("pricing", {})
    return DesiredStack(
        name=document.name,
        regions=tuple(spec["regions"]),
        provider=ProviderConfig(
            type=provider.get("type", "local"),
            path=provider.get("path"),
            endpoint=provider.get("endpoint"),
            protocol=provider.get("protocol", "https"),
        ),
        policy=_policy(document, policy) if policy is not None else PolicyConfig(),
        pricing=PricingConfig(
            per_gb_month=frozen_map(
                {k: float(v) for k, v in pricing.get("perGBMonth", {}).items()}
            ),
            free_tier_gb=frozen_map(
                {k: float(v) for k, v in pricing.get("freeTierGB", {}).items()}
            ),
            default_per_gb_month=(
                float(pricing["defaultPerGBMonth"]) if "defaultPerGBMonth" in pricing else None
            ),
            currency=pricing.get("currency", "USD"),
        ),
        source_ref=source_ref(document, ("kind",), at_key=True),
    )


def _policy(document: CheckedDocument, policy: dict[str, Any]) -> PolicyConfig:
    enforcement = policy.get("enforcement", {})
    if isinstance(enforcement, str):
        enforcement = dict.fromkeys(POLICY_RULES, enforcement)
    allowed = policy.get("allowedAccounts")
    return PolicyConfig(
        allowed_accounts=tuple(allowed) if allowed is not None else None,
        required_tags=tuple(policy.get("requiredTags", ())),
        destroy=policy.get("destroy", False),
        enforcement=frozen_map({rule: Enforcement(value) for rule, value in enforcement.items()}),
        source_ref=source_ref(document, ("spec", "policy"), at_key=True),
    )


def _image(stack: str, document: CheckedDocument) -> DesiredImage:
    spec = document.spec
    source = image_source(spec["source"])
    generation, cloud_name, copy_name = image_names(stack, document)
    metadata = document.document.content["metadata"]
    return DesiredImage(
        name=document.name,
        address=f"image.{document.name}",
        region=spec["region"],
        source=source,
        generation=generation,
        cloud_name=cloud_name,
        copy_name=copy_name,
        description=spec.get("description", ""),
        family=spec.get("family", ""),
        deprecated=spec.get("deprecated", False),
        tags=frozen_map(spec.get("tags", {})),
        lifecycle=lifecycle_of(spec, source),
        source_ref=source_ref(document, ("kind",), at_key=True),
        labels=frozen_map(metadata.get("labels", {})),
        annotations=frozen_map(metadata.get("annotations", {})),
    )


def build_desired(documents: list[CheckedDocument], document_count: int) -> DesiredState:
    """The desired state of schema- and semantically-valid documents (exactly one Stack)."""
    stack_document = next(d for d in documents if d.kind == "Stack")
    stack = _stack(stack_document)
    images = {d.name: _image(stack.name, d) for d in documents if d.kind == "Image"}
    copies: dict[str, DesiredCopy] = {}
    for document in documents:
        if document.kind != "ImageCopy":
            continue
        image = document.spec["image"]
        for index, region in enumerate(document.spec["regions"]):
            address = f"image.{image}@{region}"
            copies.setdefault(
                address,
                DesiredCopy(
                    image=image,
                    address=address,
                    region=region,
                    source_ref=source_ref(document, ("spec", "regions", index)),
                ),
            )
    shares: dict[str, DesiredShare] = {}
    for document in documents:
        if document.kind != "ImageShare":
            continue
        image = document.spec["image"]
        copy_regions = [c.region for c in copies.values() if c.image == image]
        for region in share_regions(document.spec, images[image].region, copy_regions):
            for index, account in enumerate(document.spec["accounts"]):
                address = f"share.{image}@{region}:{account}"
                shares.setdefault(
                    address,
                    DesiredShare(
                        image=image,
                        address=address,
                        region=region,
                        account=account,
                        source_ref=source_ref(document, ("spec", "accounts", index)),
                    ),
                )
    return DesiredState(
        stack=stack,
        images=tuple(sorted(images.values(), key=lambda i: i.address)),
        copies=tuple(copies[a] for a in sorted(copies)),
        shares=tuple(shares[a] for a in sorted(shares)),
        documents=document_count,
    )
