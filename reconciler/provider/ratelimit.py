"""Client-side pacing: token buckets per (action, region, credential) at 80% of the API limits."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.engine.clock import Clock

DOCUMENTED_LIMITS: Mapping[str, float] = {
    "DescribeImages": 40,
    "DescribeImageFromFamily": 20,
    "CreateImage": 10,
    "DeleteImages": 10,
    "ModifyImageAttribute": 10,
    "DescribeImageSharePermission": 10,
    "SyncImages": 10,
    "ModifyImageSharePermission": 10,
    "DescribeImageQuota": 10,
    "TagResources": 20,
    "UnTagResources": 20,
    "ModifyResourceTags": 20,
    "DescribeResourceTagsByResourceIds": 100,
}
"""Requests per second per (action, endpoint region, credential), reference "Rate limits"."""

UNDOCUMENTED_LIMIT = 10.0
"""Assumed for actions without a documented limit (ImportImage, CBS calls, ...): decision 003."""

SHARE_OF_LIMIT = 0.8
"""Pace at 80% of each documented limit, so a steady-state run never meets throttling."""


@dataclass(slots=True)
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets; `acquire` blocks (through the clock) until the call may go out.

    A bucket holds one token and refills continuously at the paced rate, so calls are spaced
    evenly: any one-second window holds at most `rate + 1` calls (9 for a limit of 10/s).
    Taking a token may drive the level below zero: that reserves the next slot, and the caller
    sleeps until it is due, so concurrent callers queue fairly.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        limits: Mapping[str, float] = DOCUMENTED_LIMITS,
        default_limit: float = UNDOCUMENTED_LIMIT,
        share: float = SHARE_OF_LIMIT,
    ) -> None:
        self._clock = clock
        self._limits = limits
        self._default = default_limit
        self._share = share
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def rate_for(self, action: str) -> float:
        """Calls per second this client allows itself for `action`."""
        return self._limits.get(action, self._default) * self._share

    def acquire(self, action: str, region: str, credential: str) -> float:
        """Take one token; sleeps until it is available. Returns the seconds waited."""
        key = (action, region, credential)
        with self._lock:
            now = self._clock.monotonic()
            bucket = self._buckets.get(key)
            if bucket is None:
                rate = self.rate_for(action)
                bucket = self._buckets[key] = _Bucket(rate, 1.0, 1.0, now)
            bucket.tokens = min(
                bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.rate
            )
            bucket.updated = now
            bucket.tokens -= 1.0
            wait = 0.0 if bucket.tokens >= 0 else -bucket.tokens / bucket.rate
        if wait > 0:
            self._clock.sleep(wait)
        return wait
