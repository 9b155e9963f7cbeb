"""Retrying one call on transient errors with the executor's backoff (`RetryPolicy`), on an
injected clock: what reading the cloud uses (the provider itself never sleeps or retries)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from reconciler.engine.clock import Clock, SystemClock
from reconciler.engine.settings import RetryPolicy
from reconciler.errors import ProviderError

T = TypeVar("T")


class Retry(Protocol):
    """Runs `call` (maybe several times) and returns its result or raises its last error."""

    def __call__(self, call: Callable[[], T]) -> T: ...


def once(call: Callable[[], T]) -> T:
    """No retry: the call is made once."""
    return call()


@dataclass(frozen=True, slots=True)
class Retrier:
    """Retries a call on retryable (transient) errors: at most `policy.attempts` calls, sleeping
    `policy.delay(...)` (exponential backoff minus random jitter) on `clock` between them; any
    other error, or the last attempt's, is raised. Thread-safe (one call per thread)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)

    def __call__(self, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.policy.attempts:
                    raise
                self.clock.sleep(self.policy.delay(attempt, self.rng.random()))
