"""Observing the cloud (SPEC §3): custom images per region, owned images' shares, quotas, and
the disk sizes of the sources that new images will be made from (for the cost estimate, §9)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

from reconciler.engine.retry import Retry, once
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
    quota: int | None


def observe_region(
    provider: TencentCloudProvider,
    region: str,
    stack: str,
    share_lists_for: Collection[str] = (),
    share_names_for: Collection[str] = (),
    *,
    share_suffixes_for: Collection[str] = (),
    retry: Retry = once,
    read_quota: bool = True,
) -> tuple[tuple[ObservedImage, ...], int | None] | None:
    """One region's custom images (shares read for the stack's own) and, with `read_quota`, its
    quota; None if the region does not answer (unknown or unavailable for this account).

    Shares are also read for the images named in `share_lists_for` (IDs) and for untagged
    images whose name is exactly one of `share_names_for` or ends with one of
    `share_suffixes_for` (the stack may adopt them). Every read goes through `retry`
    (transient errors retried with backoff)."""
    try:
        listed = retry(lambda: provider.describe_private_images(region))
    except ProviderError as exc:
        if is_region_error(exc):
            return None
        raise
    quota = retry(lambda: provider.image_quota(region)) if read_quota else None
    suffixes = tuple(share_suffixes_for)
    images: list[ObservedImage] = []
    for image in listed:
        # Share lists are read only for images this stack owns or is about to adopt.
        adoptable = image.stack is None and (
            image.name in share_names_for or (bool(suffixes) and image.name.endswith(suffixes))
        )
        if image.stack != stack and image.image_id not in share_lists_for and not adoptable:
            images.append(image)
            continue
        try:
            shares = retry(partial(provider.share_accounts, region, image.image_id))
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
    share_suffixes_for: Collection[str] = (),
    retry: Retry = once,
    quota_regions: Collection[str] | None = None,
) -> ObservedCloud:
    """Every PRIVATE_IMAGE of the account in every given region that answers.

    Regions are read in parallel threads; a region error skips that region, any other error
    is raised (the first in `regions` order). Images are classified by tags later, on the client.
    `share_lists_for`: IDs of unowned images whose shares are read too (`source.existing`);
    `share_names_for`: exact names of untagged images whose shares are read too (the desired
    generation-suffixed names, which the exact-name rule adopts); `share_suffixes_for`: name
    endings of untagged images whose shares are read too (`-<generation[:8]>` of the desired
    images: copies of an `existing` image are named after its live name, and an image this
    stack forgot keeps its name); `retry` runs every read (the caller's backoff policy and
    clock; the default makes each call once); `quota_regions`: where DescribeImageQuota is read
    (None: every region) — only regions where the stack may create images need it.
    """
    ordered = list(dict.fromkeys(regions))
    names = frozenset(share_names_for)
    with ThreadPoolExecutor(max(1, min(max_workers, len(ordered) or 1))) as pool:
        futures = [
            pool.submit(
                observe_region,
                provider,
                region,
                stack,
                share_lists_for,
                names,
                share_suffixes_for=tuple(share_suffixes_for),
                retry=retry,
                read_quota=quota_regions is None or region in quota_regions,
            )
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
        quotas={view.region: view.quota for view in views if view.quota is not None},
        regions=tuple(view.region for view in views),
        observed_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SourceReads:
    """What reading the sources told: sizes by ID, and the IDs definitely not there."""

    sizes: dict[str, int]
    missing: frozenset[str]
    """Instance and snapshot IDs whose read succeeded without them (or answered NotFound):
    they do not exist in that region. An ID whose read failed otherwise is in neither."""


def _read_sizes(read: SizeReader, region: str, ids: Sequence[str], retry: Retry) -> SourceReads:
    """`read(region, ids)`; an error leaves those sizes unknown (never fails the plan).

    One bad ID (malformed, not found) may fail a whole request: then each is read alone. Any
    other error (a region that does not answer, throttling, no permission for DescribeInstances
    or CBS DescribeSnapshots) leaves the whole request's sizes unknown.
    """
    try:
        sizes = retry(lambda: read(region, ids))
    except (NotFoundError, InvalidRequestError) as exc:
        if is_region_error(exc):
            return SourceReads({}, frozenset())
        if len(ids) < 2:
            gone = frozenset(ids) if isinstance(exc, NotFoundError) else frozenset()
            return SourceReads({}, gone)
    except ProviderError:
        return SourceReads({}, frozenset())
    else:
        return SourceReads(sizes, frozenset(i for i in ids if i not in sizes))
    found: dict[str, int] = {}
    missing: set[str] = set()
    for single in ids:
        alone = _read_sizes(read, region, [single], retry)
        found.update(alone.sizes)
        missing |= alone.missing
    return SourceReads(found, frozenset(missing))


def observe_sources(
    provider: TencentCloudProvider,
    *,
    instances: Mapping[str, Collection[str]],
    snapshots: Mapping[str, Collection[str]],
    max_workers: int = DEFAULT_REGION_WORKERS,
    retry: Retry = once,
) -> SourceReads:
    """Disk sizes (GiB) of image sources, by region → IDs (`ObservedCloud.source_sizes`), and
    the instances and snapshots definitely absent (`ObservedCloud.missing_sources`).

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
    missing: set[str] = set()
    if not reads:
        return SourceReads(sizes, frozenset())
    with ThreadPoolExecutor(max(1, min(max_workers, len(reads)))) as pool:
        futures = [
            pool.submit(_read_sizes, read, region, ids, retry) for read, region, ids in reads
        ]
        for future in futures:
            answer = future.result()
            sizes.update(answer.sizes)
            missing |= answer.missing
    return SourceReads(sizes, frozenset(missing))
