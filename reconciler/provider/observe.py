"""Observing the cloud (SPEC §3): custom images per region, owned images' shares, quotas, and
the disk sizes of the sources that new images will be made from (for the cost estimate, §9)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from reconciler.errors import InvalidRequestError, NotFoundError, ProviderError
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.provider.errors import is_region_error
from reconciler.provider.tencent import TencentCloudProvider

SizeReader = Callable[[str, Sequence[str]], dict[str, int]]
"""A provider read of sizes by ID in one region: `instance_disk_sizes` or `snapshot_sizes`."""

DEFAULT_REGION_WORKERS = 8
"""Regions observed at once (each region has its own endpoint and rate-limit budget)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _RegionView:
    region: str
    images: tuple[ObservedImage, ...]
    quota: int


def observe_region(
    provider: TencentCloudProvider,
    region: str,
    stack: str,
    share_lists_for: Collection[str] = (),
    share_names_for: Collection[str] = (),
) -> tuple[tuple[ObservedImage, ...], int] | None:
    """One region's custom images (shares read for the stack's own) and quota; None if the
    region does not answer (unknown or unavailable for this account).

    Shares are also read for the images named in `share_lists_for` (IDs) and for untagged
    images whose name is exactly one of `share_names_for` (the stack may adopt them)."""
    try:
        listed = provider.describe_private_images(region)
    except ProviderError as exc:
        if is_region_error(exc):
            return None
        raise
    quota = provider.image_quota(region)
    images: list[ObservedImage] = []
    for image in listed:
        # Share lists are read only for images this stack owns or is about to adopt.
        adoptable = image.stack is None and image.name in share_names_for
        if image.stack != stack and image.image_id not in share_lists_for and not adoptable:
            images.append(image)
            continue
        try:
            shares = provider.share_accounts(region, image.image_id)
        except NotFoundError:
            continue  # deleted between the listing and now
        images.append(dataclasses.replace(image, shares=shares))
    return tuple(images), quota


def observe(
    provider: TencentCloudProvider,
    regions: Sequence[str],
    stack: str,
    *,
    now: datetime,
    max_workers: int = DEFAULT_REGION_WORKERS,
    share_lists_for: Collection[str] = (),
    share_names_for: Collection[str] = (),
) -> ObservedCloud:
    """Every PRIVATE_IMAGE of the account in every given region that answers.

    Regions are read in parallel threads; a region error skips that region, any other error
    is raised (the first in `regions` order). Images are classified by tags later, on the client.
    `share_lists_for`: IDs of unowned images whose shares are read too (`source.existing`);
    `share_names_for`: exact names of untagged images whose shares are read too (the desired
    generation-suffixed names, which the exact-name rule adopts).
    """
    ordered = list(dict.fromkeys(regions))
    names = frozenset(share_names_for)
    with ThreadPoolExecutor(max(1, min(max_workers, len(ordered) or 1))) as pool:
        futures = [
            pool.submit(observe_region, provider, region, stack, share_lists_for, names)
            for region in ordered
        ]
        views = [
            _RegionView(region, *answer)
            for region, future in zip(ordered, futures, strict=True)
            if (answer := future.result()) is not None
        ]
    return ObservedCloud(
        account=provider.account,
        images=tuple(image for view in views for image in view.images),
        quotas={view.region: view.quota for view in views},
        regions=tuple(view.region for view in views),
        observed_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _read_sizes(read: SizeReader, region: str, ids: Sequence[str]) -> dict[str, int]:
    """`read(region, ids)`; an error leaves those sizes unknown (never fails the plan).

    One bad ID (malformed, not found) may fail a whole request: then each is read alone. Any
    other error (a region that does not answer, throttling, no permission for DescribeInstances
    or CBS DescribeSnapshots) leaves the whole request's sizes unknown.
    """
    try:
        return read(region, ids)
    except (NotFoundError, InvalidRequestError) as exc:
        if len(ids) < 2 or is_region_error(exc):
            return {}
    except ProviderError:
        return {}
    sizes: dict[str, int] = {}
    for single in ids:
        sizes.update(_read_sizes(read, region, [single]))
    return sizes


def observe_source_sizes(
    provider: TencentCloudProvider,
    *,
    instances: Mapping[str, Collection[str]],
    snapshots: Mapping[str, Collection[str]],
    max_workers: int = DEFAULT_REGION_WORKERS,
) -> dict[str, int]:
    """Disk sizes (GiB) of image sources, by region → IDs: `ObservedCloud.source_sizes`.

    Per region, one DescribeInstances (≤ 100 IDs each) gives each instance's system disk
    (keyed by the instance ID) and its data disks (keyed by disk ID); one CBS DescribeSnapshots
    gives each snapshot's disk size. Anything not found or not readable is simply absent.
    """
    reads: list[tuple[SizeReader, str, list[str]]] = [
        (provider.instance_disk_sizes, region, sorted(ids))
        for region, ids in instances.items()
        if ids
    ]
    reads += [
        (provider.snapshot_sizes, region, sorted(ids)) for region, ids in snapshots.items() if ids
    ]
    sizes: dict[str, int] = {}
    if not reads:
        return sizes
    with ThreadPoolExecutor(max(1, min(max_workers, len(reads)))) as pool:
        futures = [pool.submit(_read_sizes, read, region, ids) for read, region, ids in reads]
        for future in futures:
            sizes.update(future.result())
    return sizes
