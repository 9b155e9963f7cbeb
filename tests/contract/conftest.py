"""The provider over both transports: in-process, and the SDK over HTTP into the emulator.

Like moto's server mode: the same simulated cloud behind each, the same tests in front.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.cloudsim import CloudSim
from reconciler.cloudsim.clock import ManualClock
from reconciler.cloudsim.server import serve
from reconciler.provider.local import LocalTransport
from reconciler.provider.sdk_transport import make_sdk_transport
from reconciler.provider.tencent import TencentCloudProvider

OWN_UIN = "100000000001"
PARTNER_UIN = "100000000002"
TRANSPORTS = ("local", "sdk")


@dataclass
class CloudUnderTest:
    """A provider for the own account and for a partner, over one transport kind."""

    kind: str
    sim: CloudSim
    clock: ManualClock
    provider_for: Callable[[str], TencentCloudProvider]

    @property
    def own(self) -> TencentCloudProvider:
        return self.provider_for(OWN_UIN)

    @property
    def partner(self) -> TencentCloudProvider:
        return self.provider_for(PARTNER_UIN)

    def settle(self) -> None:
        """Let every CREATING / SYNCING / IMPORTING image finish (virtual time)."""
        self.clock.advance(3600)


def _keys(sim: CloudSim, uin: str) -> dict[str, str]:
    for account in sim.credentials():
        if account.uin == uin:
            return {
                "TENCENTCLOUD_SECRET_ID": account.secret_id,
                "TENCENTCLOUD_SECRET_KEY": account.secret_key,
            }
    raise LookupError(uin)


@pytest.fixture(params=TRANSPORTS)
def cloud(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CloudUnderTest]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    clock = ManualClock(start=time.time())
    providers: dict[str, TencentCloudProvider] = {}
    closers: list[Callable[[], Any]] = []
    if request.param == "local":
        sim = CloudSim(tmp_path / "cloud.db", clock=clock)
        closers.append(sim.close)

        def build(uin: str) -> TencentCloudProvider:
            return TencentCloudProvider(LocalTransport(sim, uin), uin)

    else:
        server = serve("127.0.0.1", 0, tmp_path / "cloud.db", clock=clock)
        closers.append(server.stop)
        sim = server.cloud  # type: ignore[assignment]

        def build(uin: str) -> TencentCloudProvider:
            transport = make_sdk_transport(
                endpoint=server.endpoint,
                protocol="http",
                environ=_keys(sim, uin),
                cvm_role_probe=lambda: None,
            )
            # The SDK can't tell the UIN: tag resource names read `uin/` (decision 402).
            assert transport.account == ""
            return TencentCloudProvider(transport, transport.account)

    def provider_for(uin: str) -> TencentCloudProvider:
        if uin not in providers:
            providers[uin] = build(uin)
        return providers[uin]

    try:
        yield CloudUnderTest(request.param, sim, clock, provider_for)
    finally:
        for provider in providers.values():
            provider.close()
        for close in reversed(closers):
            close()
