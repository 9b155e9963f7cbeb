"""Observing the cloud (SPEC §3): custom images per region, owned images' shares, quotas."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from reconciler.errors import NotFoundError, ProviderError
from reconciler.model.observed import ObservedCloud, ObservedImage
from reconciler.provider.errors import is_region_error
from reconciler.provider.tencent import TencentCloudProvider

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
) -> tuple[tuple[ObservedImage, ...], int] | None:
    """One region's custom images (shares read for the stack's own) and quota; None if the
    region does not answer (unknown or unavailable for this account)."""
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
        if image.stack != stack and image.image_id not in share_lists_for:
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
) -> ObservedCloud:
    """Every PRIVATE_IMAGE of the account in every given region that answers.

    Regions are read in parallel threads; a region error skips that region, any other error
    is raised (the first in `regions` order). Images are classified by tags later, on the client.
    `share_lists_for`: IDs of unowned images whose shares are read too (`source.existing`).
    """
    ordered = list(dict.fromkeys(regions))
    with ThreadPoolExecutor(max(1, min(max_workers, len(ordered) or 1))) as pool:
        futures = [
            pool.submit(observe_region, provider, region, stack, share_lists_for)
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
