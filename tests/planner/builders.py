"""Small builders of desired states and observed clouds for the planner tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from reconciler.model.desired import (
    DeletionPolicy,
    DesiredCopy,
    DesiredImage,
    DesiredShare,
    DesiredStack,
    DesiredState,
    ExistingSource,
    ImageSource,
    InstanceSource,
    Lifecycle,
)
from reconciler.model.generation import generation_of, name_with_generation
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.model.plan import Plan, PlanOptions
from reconciler.model.source import SourceRef
from reconciler.planner import make_plan

STACK = "prod"
HOME = "ap-guangzhou"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
REGIONS = ("ap-guangzhou", "ap-shanghai", "ap-singapore")


def image(
    name: str = "web",
    *,
    region: str = HOME,
    source: ImageSource | None = None,
    image_name: str | None = None,
    description: str = "web image",
    family: str = "",
    deprecated: bool = False,
    tags: dict[str, str] | None = None,
    lifecycle: Lifecycle | None = None,
    line: int = 1,
) -> DesiredImage:
    source = source or InstanceSource(instance_id="ins-demo0001")
    address = f"image.{name}"
    generation = generation_of(STACK, address, region, source)
    if isinstance(source, ExistingSource):
        cloud_name = image_name
        default_lifecycle = Lifecycle(deletion_policy=DeletionPolicy.RETAIN, delete_snapshots=False)
    else:
        cloud_name = name_with_generation(image_name or name, generation)
        default_lifecycle = Lifecycle()
    return DesiredImage(
        name=name,
        address=address,
        region=region,
        source=source,
        generation=generation,
        cloud_name=cloud_name,
        copy_name=cloud_name
        if cloud_name and not isinstance(source, ExistingSource)
        else name_with_generation(cloud_name or name, generation),
        description=description,
        family=family,
        deprecated=deprecated,
        tags=tags if tags is not None else {"owner": "web-team"},
        lifecycle=lifecycle or default_lifecycle,
        source_ref=SourceRef(f"{name}.yaml", line),
    )


def state(
    *images: DesiredImage,
    copies: dict[str, list[str]] | None = None,
    shares: dict[str, dict[str, list[str]]] | None = None,
) -> DesiredState:
    """`copies`: image name → regions; `shares`: image name → region → accounts."""
    desired_copies = [
        DesiredCopy(
            image=name,
            address=f"image.{name}@{region}",
            region=region,
            source_ref=SourceRef(f"{name}-copies.yaml", 5),
        )
        for name, regions in (copies or {}).items()
        for region in regions
    ]
    desired_shares = [
        DesiredShare(
            image=name,
            address=f"share.{name}@{region}:{account}",
            region=region,
            account=account,
            source_ref=SourceRef(f"{name}-shares.yaml", 7),
        )
        for name, by_region in (shares or {}).items()
        for region, accounts in by_region.items()
        for account in accounts
    ]
    return DesiredState(
        stack=DesiredStack(name=STACK, regions=REGIONS, source_ref=SourceRef("stack.yaml", 1)),
        images=tuple(sorted(images, key=lambda i: i.address)),
        copies=tuple(sorted(desired_copies, key=lambda c: c.address)),
        shares=tuple(sorted(desired_shares, key=lambda s: s.address)),
    )


def cloud(*images: ObservedImage, quotas: dict[str, int] | None = None) -> ObservedCloud:
    return ObservedCloud(
        account="100000000001",
        images=images,
        quotas=quotas if quotas is not None else dict.fromkeys(REGIONS, 500),
        regions=REGIONS,
    )


def plan(desired: DesiredState, observed: ObservedCloud, **options: object) -> Plan:
    return make_plan(desired, observed, PlanOptions(**options), now=NOW)  # type: ignore[arg-type]


def with_tags(observed: ObservedImage, **tags: str) -> ObservedImage:
    merged = dict(observed.tags)
    merged.update(tags)
    return replace(observed, tags=merged)


def by_address(plan_: Plan) -> dict[str, str]:
    """address → action value."""
    return {change.address: change.action.value for change in plan_.changes}
