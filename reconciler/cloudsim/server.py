"""The simulated cloud over HTTP: Tencent Cloud API 3.0's wire protocol with TC3 verification.

`POST /` (JSON body) or `GET /?<flattened params>`; the action, version and region come from
`X-TC-Action`, `X-TC-Version` and `X-TC-Region`; the service from the credential scope of the
`Authorization` header (the SDK signs with `cvm`/`tag`/`cbs` whatever endpoint it talks to). Every
answer is HTTP 200 with `Content-Type: application/json` exactly (the SDK ignores error bodies
under any other content type) and the real envelope `{"Response": {..., "RequestId"}}` -- also for
another method (`UnsupportedProtocol`), another path (`InvalidRequest`) or a malformed request
(`InvalidParameter`, `RequestSizeLimitExceeded`); `InternalError` only for a fault of the emulator.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from reconciler.cloudsim.clock import Clock
from reconciler.cloudsim.errors import INTERNAL_ERROR_MESSAGE
from reconciler.cloudsim.signing import SignatureRefused, SignedRequest, verify

logger = logging.getLogger(__name__)

SERVED_SERVICES = ("cvm", "tag", "cbs")
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_LIST_INDEX = 1000
MAX_NESTING = 32
"""Deepest nesting of objects and lists in params (the APIs nest 3 levels at most)."""
JSON_CONTENT_TYPE = "application/json"
SERVED_METHODS = ("GET", "POST")
SERVED_PATH = "/"
_CONTENT_LENGTH = re.compile(r"[0-9]+")
"""ASCII digits only: `str.isdigit` takes `²`, which `int` refuses (more than 12 digits are
too large, and never reach `int`, which refuses 5,000 of them)."""
_LIST_INDEX = re.compile(r"[0-9]+")


class _Account(Protocol):
    @property
    def uin(self) -> str: ...

    @property
    def secret_id(self) -> str: ...

    @property
    def secret_key(self) -> str: ...


class SimulatedCloud(Protocol):
    """The part of `CloudSim` the server uses."""

    def handle(
        self,
        *,
        account: str,
        service: str,
        version: str,
        action: str,
        region: str,
        params: Mapping[str, Any],
    ) -> dict[str, Any]: ...

    def account_for_secret_id(self, secret_id: str) -> _Account | None: ...

    def credentials(self) -> Sequence[_Account]: ...

    def close(self) -> None: ...


class ApiRefusal(Exception):
    """A request refused before it reaches the simulated cloud; becomes an error envelope."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def error_envelope(code: str, message: str) -> dict[str, Any]:
    """`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` with a fresh RequestId."""
    return {
        "Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}
    }


def unflatten_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested params from the SDK's flattened form (`Filters.0.Values.1=x`).

    Numeric segments are list indices. Values stay strings: a GET request carries no types.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        segments = key.split(".")
        if len(segments) > MAX_NESTING:
            raise ApiRefusal("InvalidParameter", f"Parameter {key[:80]!r}... is nested too deeply.")
        node: Any = root
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            fresh: Any = value if last else [] if _is_index(segments[index + 1]) else {}
            if isinstance(node, list) and _is_index(segment) and _fits_a_list(segment):
                position = int(segment)
                node.extend([None] * (position + 1 - len(node)))
                if node[position] is None:
                    node[position] = fresh
                elif last:
                    raise ApiRefusal("InvalidParameter", f"Parameter {key!r} is given twice.")
                node = node[position]
            elif isinstance(node, dict) and not _is_index(segment):
                if last and segment in node:
                    raise ApiRefusal("InvalidParameter", f"Parameter {key!r} is given twice.")
                node = node.setdefault(segment, fresh)
            else:
                raise ApiRefusal("InvalidParameter", f"Parameter {key!r} does not fit the others.")
    if any(item is None for item in _list_items(root)):
        raise ApiRefusal("InvalidParameter", "List parameters must be numbered from 0, no gaps.")
    return root


def _is_index(segment: str) -> bool:
    """Whether a segment of a flattened name is a list index: ASCII digits (`²` is not)."""
    return _LIST_INDEX.fullmatch(segment) is not None


def _fits_a_list(index: str) -> bool:
    """Whether list index `index` (ASCII digits) is small enough (never `int` of 5,000 digits)."""
    return len(index) <= len(str(MAX_LIST_INDEX)) and int(index) < MAX_LIST_INDEX


def _nesting(value: Any) -> int:
    """How deeply objects and lists nest in `value` (a scalar: 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _list_items(value: Any) -> list[Any]:
    items: list[Any] = []
    if isinstance(value, dict):
        for child in value.values():
            items.extend(_list_items(child))
    elif isinstance(value, list):
        items.extend(value)
        for child in value:
            items.extend(_list_items(child))
    return items


def parse_params(method: str, content_type: str, query: str, body: bytes) -> dict[str, Any]:
    """The action's parameters: a JSON object body, a form body, or the query string of a GET."""
    if method == "GET":
        return unflatten_params(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return unflatten_params(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if media_type != JSON_CONTENT_TYPE:
        raise ApiRefusal(
            "InvalidParameter",
            f"Content-Type {content_type or '(none)'!r} is not supported; send application/json.",
        )
    if not body.strip():
        return {}
    try:
        params = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiRefusal("InvalidParameter", "The request body is nested too deeply.") from None
    except ValueError as exc:  # not UTF-8, not JSON, NaN, an integer of over 4,300 digits
        raise ApiRefusal("InvalidParameter", f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(params, dict):
        raise ApiRefusal("InvalidParameter", "The request body must be a JSON object.")
    if _nesting(params) > MAX_NESTING:
        raise ApiRefusal("InvalidParameter", "The request body is nested too deeply.")
    return params


class CloudRequestHandler(BaseHTTPRequestHandler):
    """One API request: verify, dispatch, answer 200 with the envelope."""

    server: CloudServer
    server_version = "reconciler-cloudsim"
    timeout = 60
    """Seconds a connection may stall (a body shorter than its Content-Length) before it ends."""
    _body_read = False

    def do_POST(self) -> None:
        self._answer(self._dispatch("POST"))

    def do_GET(self) -> None:
        self._answer(self._dispatch("GET"))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A method other than GET and POST is an API error envelope, as the real API answers it
        (the SDK reads only 200 + JSON); malformed HTTP itself keeps the plain HTTP error."""
        if code != HTTPStatus.NOT_IMPLEMENTED:
            super().send_error(code, message, explain)
            return
        logger.info("%s refused: UnsupportedProtocol", self.command)
        self._answer(
            error_envelope(
                "UnsupportedProtocol",
                f"The HTTP method {self.command} is not supported; "
                f"use {' or '.join(SERVED_METHODS)}.",
            ),
            close=True,
        )

    def _dispatch(self, method: str) -> dict[str, Any]:
        action = self.headers.get("X-TC-Action", "")
        self._body_read = False
        try:
            return self._dispatch_verified(method, action)
        except ApiRefusal as refusal:
            logger.info("%s %s refused: %s", method, action or "-", refusal.code)
            return error_envelope(refusal.code, refusal.message)
        except Exception:
            logger.exception("%s %s failed inside the simulated cloud", method, action or "-")
            return error_envelope("InternalError", INTERNAL_ERROR_MESSAGE)

    def _dispatch_verified(self, method: str, action: str) -> dict[str, Any]:
        # An origin-form target is split by hand: urlsplit would read `//x` as a host.
        url = urlsplit(self.path) if not self.path.startswith("/") else None
        path, _, query = self.path.partition("?") if url is None else (url.path, "", url.query)
        if path != SERVED_PATH:
            raise ApiRefusal(
                "InvalidRequest",
                f"The request path {path[:80]!r} is not served; API 3.0 requests go to "
                f"{SERVED_PATH}.",
            )
        body = self._read_body() if method == "POST" else b""
        request = SignedRequest(
            method=method,
            path=path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
        )
        cloud = self.server.cloud
        accounts: dict[str, _Account] = {}

        def secret_key_for(secret_id: str) -> str | None:
            account = cloud.account_for_secret_id(secret_id)
            if account is None:
                return None
            accounts[secret_id] = account
            return account.secret_key

        try:
            caller = verify(request, secret_key_for=secret_key_for, now=self.server.wall_clock())
        except SignatureRefused as refused:
            raise ApiRefusal(refused.code, refused.message) from refused
        if caller.service not in SERVED_SERVICES:
            raise ApiRefusal(
                "InvalidAction",
                f"The service {caller.service!r} is not simulated here "
                f"(served: {', '.join(SERVED_SERVICES)}).",
            )
        if not action:
            raise ApiRefusal("MissingParameter", "The request is missing the X-TC-Action header.")
        params = parse_params(method, self.headers.get("Content-Type", ""), query, body)
        account = accounts[caller.secret_id]
        response = cloud.handle(
            account=account.uin,
            service=caller.service,
            version=self.headers.get("X-TC-Version", ""),
            action=action,
            region=self.headers.get("X-TC-Region", ""),
            params=params,
        )
        error = response.get("Response", {}).get("Error")
        logger.info(
            "%s %s.%s %s as %s: %s",
            method,
            caller.service,
            action,
            self.headers.get("X-TC-Region", "-"),
            account.uin,
            error["Code"] if isinstance(error, dict) else "OK",
        )
        return response

    def _read_body(self) -> bytes:
        raw_length = (self.headers.get("Content-Length", "0") or "0").strip()
        if _CONTENT_LENGTH.fullmatch(raw_length) is None:
            raise ApiRefusal("InvalidParameter", "Content-Length is not a number of bytes.")
        if len(raw_length) > 12 or int(raw_length) > MAX_BODY_BYTES:
            raise ApiRefusal(
                "RequestSizeLimitExceeded", f"The request body exceeds {MAX_BODY_BYTES} bytes."
            )
        length = int(raw_length)
        try:
            body = self.rfile.read(length)
        except TimeoutError:  # the client stalled mid-body: this connection is done
            body = b""
            self.close_connection = True
        self._body_read = True
        if len(body) < length:
            raise ApiRefusal("InvalidParameter", "The request body is shorter than Content-Length.")
        return body

    def _body_pending(self) -> bool:
        """Whether the request carries a body this handler did not read (refused before)."""
        if self._body_read:
            return False
        length = (self.headers.get("Content-Length") or "0").strip()
        return length != "0" or "Transfer-Encoding" in self.headers

    def _answer(self, envelope: dict[str, Any], *, close: bool = False) -> None:
        payload = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        if close or self._body_pending():
            # The unread body would be taken for the next request on this connection.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class CloudServer(ThreadingHTTPServer):
    """A threaded HTTP server in front of one simulated cloud; `stop()` ends it cleanly."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        cloud: SimulatedCloud,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(address, CloudRequestHandler)
        self.cloud = cloud
        self.wall_clock = wall_clock
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """`host:port` as a Stack's `provider.endpoint` (and `HttpProfile.endpoint`) takes it."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> CloudServer:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="cloudsim-http", kwargs={"poll_interval": 0.1}
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests, close the socket and the simulated cloud's database."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
        self.cloud.close()

    def __exit__(self, *args: object) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    db_path: str | os.PathLike[str],
    clock: Clock | None = None,
    *,
    wall_clock: Callable[[], float] = time.time,
) -> CloudServer:
    """Open the simulated cloud at `db_path` and serve it on host:port (0: any free port).

    The server runs in a background thread; call `stop()` (or use it as a context manager).
    `clock` drives the simulated cloud's asynchronous states; `wall_clock` is what signature
    timestamps are checked against (the clients sign with real time).
    """
    from reconciler.cloudsim import CloudSim

    cloud = CloudSim(db_path, clock=clock)
    try:
        server = CloudServer((host, port), cloud, wall_clock=wall_clock)
    except OSError:
        cloud.close()
        raise
    return server.start()
