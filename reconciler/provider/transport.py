"""The I/O seam: a transport sends one Tencent Cloud API 3.0 request and returns its Response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

API_VERSIONS: Mapping[str, str] = {"cvm": "2017-03-12", "tag": "2018-08-13", "cbs": "2017-03-12"}
"""API version per service (SPEC §6)."""


class Transport(Protocol):
    """Sends one API request as one account; the only place the provider does I/O.

    `call` returns the `Response` object of a successful answer (with `RequestId`).
    An API error answer raises `ProviderError` (mapped by reconciler.provider.errors);
    no answer at all raises `NetworkError`. A transport never retries, sleeps or waits.
    """

    def call(
        self, service: str, action: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def close(self) -> None: ...
