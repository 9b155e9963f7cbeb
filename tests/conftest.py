"""Fixtures of every test folder: a fresh simulated cloud on a virtual clock, and the provider
over it (a folder's own conftest may override them)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.provider.local import LocalTransport
from reconciler.provider.ratelimit import RateLimiter
from reconciler.provider.tencent import TencentCloudProvider


class RecordingTransport:
    """A transport decorator that records every request it passes on (to count calls)."""

    def __init__(self, inner: LocalTransport) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(
        self, service: str, action: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.calls.append((action, region, dict(params)))
        return self.inner.call(service, action, region, params)

    def close(self) -> None:
        self.inner.close()

    def count(self, action: str, region: str | None = None) -> int:
        return sum(1 for a, r, _ in self.calls if a == action and region in (None, r))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim(clock: VirtualClock) -> Iterator[CloudSim]:
    cloud = CloudSim(":memory:", clock=clock)
    yield cloud
    cloud.close()


@pytest.fixture
def transport(sim: CloudSim) -> RecordingTransport:
    return RecordingTransport(LocalTransport(sim, sim.own_account))


@pytest.fixture
def provider(
    transport: RecordingTransport, sim: CloudSim, clock: VirtualClock
) -> TencentCloudProvider:
    return TencentCloudProvider(transport, sim.own_account, limiter=RateLimiter(clock))
