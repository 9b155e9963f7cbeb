"""The in-process transport: API requests go straight into the simulated cloud, as one account."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.provider.errors import unwrap_response
from reconciler.provider.transport import API_VERSIONS

if TYPE_CHECKING:
    from reconciler.cloudsim import CloudSim


class LocalTransport:
    """Calls `CloudSim.handle` in-process; no network, no credentials.

    Parameters go through a JSON round trip so the simulated cloud sees exactly what the wire
    would carry (tuples become lists; a non-JSON value fails here as it would in the SDK).
    """

    def __init__(self, sim: CloudSim, account: str, *, owns_sim: bool = False) -> None:
        self.sim = sim
        self.account = account
        self._owns_sim = owns_sim

    def call(
        self, service: str, action: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        wire_params = json.loads(json.dumps(dict(params)))
        envelope = self.sim.handle(
            account=self.account,
            service=service,
            version=API_VERSIONS[service],
            action=action,
            region=region,
            params=wire_params,
        )
        return unwrap_response(envelope)

    def close(self) -> None:
        if self._owns_sim:
            self.sim.close()
