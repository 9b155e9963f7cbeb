"""`Retrier`: the executor's backoff for one call (used to read the cloud), on virtual time."""

from __future__ import annotations

import random

import pytest

from reconciler.engine.clock import VirtualClock
from reconciler.engine.retry import Retrier, once
from reconciler.engine.settings import RetryPolicy
from reconciler.errors import InvalidRequestError, ThrottledError


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_transient_errors_are_retried_with_the_policys_backoff() -> None:
    clock = VirtualClock()
    policy = RetryPolicy(attempts=4, base_delay=1.0, jitter=0.0)
    call = Flaky([ThrottledError("RequestLimitExceeded", "slow down")] * 3)
    assert Retrier(policy=policy, clock=clock, rng=random.Random(1))(call) == "ok"
    assert call.calls == 4
    assert clock.slept == 1.0 + 2.0 + 4.0


def test_the_last_attempt_and_permanent_errors_are_raised_at_once() -> None:
    clock = VirtualClock()
    retrier = Retrier(policy=RetryPolicy(attempts=2), clock=clock)
    with pytest.raises(ThrottledError):
        retrier(Flaky([ThrottledError("RequestLimitExceeded", "x")] * 2))
    slept = clock.slept
    permanent = Flaky([InvalidRequestError("InvalidParameter", "no")])
    with pytest.raises(InvalidRequestError):
        retrier(permanent)
    assert permanent.calls == 1
    assert clock.slept == slept
    with pytest.raises(ThrottledError):
        once(Flaky([ThrottledError("RequestLimitExceeded", "x")]))
