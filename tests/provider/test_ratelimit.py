"""Client-side token buckets: 80% of the documented limits, per (action, region, credential)."""

from __future__ import annotations

import threading

import pytest

from reconciler.engine.clock import VirtualClock
from reconciler.provider.ratelimit import RateLimiter


@pytest.mark.parametrize(
    ("action", "rate"),
    [
        ("DescribeImages", 32.0),
        ("SyncImages", 8.0),
        ("ModifyImageSharePermission", 8.0),
        ("DescribeImageSharePermission", 8.0),
        ("ModifyResourceTags", 16.0),
        ("DescribeResourceTagsByResourceIds", 80.0),
        ("ImportImage", 8.0),
    ],
)
def test_rates_are_80_percent_of_the_documented_limits(action: str, rate: float) -> None:
    assert RateLimiter(VirtualClock()).rate_for(action) == pytest.approx(rate)


def test_calls_are_spaced_so_no_second_exceeds_the_limit() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    times = []
    for _ in range(50):
        limiter.acquire("SyncImages", "ap-guangzhou", "100000000001")
        times.append(clock.monotonic())
    # 50 calls at 8/s take about 49/8 s; no one-second window holds more than 9 (limit 10).
    assert times[-1] - times[0] == pytest.approx(49 / 8)
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 9


def test_buckets_are_separate_per_action_region_and_credential() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    keys = [
        ("SyncImages", "ap-guangzhou", "a"),
        ("SyncImages", "ap-shanghai", "a"),
        ("SyncImages", "ap-guangzhou", "b"),
        ("CreateImage", "ap-guangzhou", "a"),
    ]
    waits = [limiter.acquire(*key) for key in keys]
    assert waits == [0.0, 0.0, 0.0, 0.0]
    assert clock.slept == 0.0
    assert limiter.acquire(*keys[0]) == pytest.approx(1 / 8)


class _FrozenClock(VirtualClock):
    """Time that stands still while callers sleep, so every reservation is visible."""

    def sleep(self, seconds: float) -> None:
        return None


def test_concurrent_callers_queue_for_distinct_slots() -> None:
    limiter = RateLimiter(_FrozenClock())
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        waited = limiter.acquire("DeleteImages", "ap-guangzhou", "a")
        with lock:
            waits.append(waited)

    threads = [threading.Thread(target=take) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each caller reserved its own slot: waits of 0, 1/8, 2/8, ... 8/8 s.
    assert sorted(waits) == pytest.approx([i / 8 for i in range(9)])
