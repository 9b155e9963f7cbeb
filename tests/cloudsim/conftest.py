"""Fixtures for the simulated-cloud tests: a fresh cloud on virtual time and a call helper."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.cloudsim import CloudSim, ManualClock

VERSIONS = {"cvm": "2017-03-12", "cbs": "2017-03-12", "tag": "2018-08-13"}
OWN = "100000000001"
PARTNER = "100000000002"


@dataclass
class Cloud:
    """A simulated cloud, its virtual clock, and one-line API calls."""

    sim: CloudSim
    clock: ManualClock

    def call(
        self,
        action: str,
        params: Mapping[str, Any] | None = None,
        *,
        region: str = "ap-guangzhou",
        service: str = "cvm",
        account: str = OWN,
    ) -> dict[str, Any]:
        """The `Response` object of one call."""
        envelope = self.sim.handle(
            account=account,
            service=service,
            version=VERSIONS[service],
            action=action,
            region=region,
            params=dict(params or {}),
        )
        assert set(envelope) == {"Response"}
        response: dict[str, Any] = envelope["Response"]
        return response

    def ok(self, action: str, params: Mapping[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """A call that must succeed."""
        response = self.call(action, params, **kw)
        assert "Error" not in response, response
        return response

    def error(self, action: str, params: Mapping[str, Any] | None = None, **kw: Any) -> str:
        """A call that must fail; returns its error code."""
        response = self.call(action, params, **kw)
        assert "Error" in response, response
        code: str = response["Error"]["Code"]
        return code

    def image(self, image_id: str, **kw: Any) -> dict[str, Any]:
        """One image as DescribeImages shows it."""
        found = self.ok("DescribeImages", {"ImageIds": [image_id]}, **kw)["ImageSet"]
        assert len(found) == 1, found
        image: dict[str, Any] = found[0]
        return image

    def create(self, name: str = "web", *, wait: bool = True, **params: Any) -> str:
        """A custom image from ins-demo0001 (NORMAL when `wait`)."""
        image_id: str = self.ok(
            "CreateImage", {"InstanceId": "ins-demo0001", "ImageName": name, **params}
        )["ImageId"]
        if wait:
            self.clock.advance(self.sim.settings().create_image_seconds)
        return image_id


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    clock = ManualClock()
    sim = CloudSim(":memory:", clock=clock)
    sim.update_settings(seed=7)
    yield Cloud(sim, clock)
    sim.close()
