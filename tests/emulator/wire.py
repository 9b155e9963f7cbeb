"""Raw signed calls to the emulator, as the SDK makes them, and the demo accounts' keys."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any

from reconciler.cloudsim.clock import ManualClock
from reconciler.cloudsim.server import CloudServer
from reconciler.cloudsim.signing import SignedRequest, authorization_header

OWN_UIN = "100000000001"
PARTNER_UIN = "100000000002"
VERSIONS = {"cvm": "2017-03-12", "tag": "2018-08-13", "cbs": "2017-03-12"}


@dataclass(frozen=True, slots=True)
class Keys:
    """One simulated account's demo credentials."""

    uin: str
    secret_id: str
    secret_key: str


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """What came back over HTTP."""

    status: int
    content_type: str | None
    body: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        error = self.body["Response"].get("Error")
        return None if error is None else str(error["Code"])


@dataclass
class Emulator:
    """A running emulator and the demo accounts' keys."""

    server: CloudServer
    clock: ManualClock

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def keys(self, uin: str = OWN_UIN) -> Keys:
        for account in self.server.cloud.credentials():
            if account.uin == uin:
                return Keys(account.uin, account.secret_id, account.secret_key)
        raise LookupError(uin)

    def send(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        service: str = "cvm",
        region: str = "ap-guangzhou",
        keys: Keys | None = None,
        timestamp: int | None = None,
        body: bytes | None = None,
        host: str | None = None,
        authorization: str | None = None,
        method: str = "POST",
        query: str = "",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        path: str = "/",
    ) -> RawAnswer:
        """Sign (like the SDK) and send one request; `body` replaces the signed body, `headers`
        are added (or replace others) after signing."""
        keys = keys or self.keys()
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed_body = json.dumps(params or {}).encode() if method == "POST" else b""
        host = host or f"127.0.0.1:{self.port}"
        request_headers = {
            "Content-Type": content_type,
            "Host": host,
            "X-TC-Action": action,
            "X-TC-Version": VERSIONS.get(service, "2017-03-12"),
            "X-TC-Region": region,
            "X-TC-Timestamp": str(timestamp),
        }
        if authorization is None:
            authorization = authorization_header(
                secret_id=keys.secret_id,
                secret_key=keys.secret_key,
                service=service,
                timestamp=timestamp,
                request=SignedRequest(method, path, query, request_headers, signed_body),
            )
        request_headers["Authorization"] = authorization
        request_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(
                method,
                path + (f"?{query}" if query else ""),
                body=signed_body if body is None else body,
                headers=request_headers,
            )
            response = connection.getresponse()
            payload = response.read()
            return RawAnswer(
                response.status, response.getheader("Content-Type"), json.loads(payload)
            )
        finally:
            connection.close()
