"""Executor settings (validation, backoff, timeouts) and the virtual clock."""

from __future__ import annotations

import pytest

from reconciler.engine.clock import SystemClock, VirtualClock
from reconciler.engine.settings import ExecutorSettings, RetryPolicy, WaitTimeouts
from reconciler.errors import UsageError


def test_defaults() -> None:
    settings = ExecutorSettings()
    assert settings.parallelism == 10
    assert settings.retry.attempts >= 2
    assert settings.poll_interval > 0


@pytest.mark.parametrize(
    "build",
    [
        lambda: ExecutorSettings(parallelism=0),
        lambda: ExecutorSettings(poll_interval=0),
        lambda: ExecutorSettings(missing_polls=0),
        lambda: RetryPolicy(attempts=0),
        lambda: RetryPolicy(jitter=1.5),
    ],
)
def test_invalid_settings_are_usage_errors(build: object) -> None:
    with pytest.raises(UsageError):
        build()  # type: ignore[operator]


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert [policy.delay(n, 0.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(2, 0.999) == pytest.approx(2.0 * (1 - 0.5 * 0.999))
    assert RetryPolicy(jitter=0.0).delay(3, 0.9) == 4.0


def test_wait_timeouts_by_operation() -> None:
    timeouts = WaitTimeouts(create_image=1, import_image=2, sync_images=3, other=4)
    assert [timeouts.for_operation(op) for op in ("CreateImage", "ImportImage", "SyncImages")] == [
        1,
        2,
        3,
    ]
    assert timeouts.for_operation("") == 4


def test_virtual_clock_sleep_advances_time_instantly() -> None:
    clock = VirtualClock(start=100.0)
    clock.sleep(3600)
    clock.sleep(-5)
    clock.advance(10)
    assert clock.now() == clock.monotonic() == 100.0 + 3610
    assert clock.slept == 3600


def test_system_clock_reads_real_time() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0)
    assert clock.monotonic() >= before
    assert clock.now() > 1_700_000_000
