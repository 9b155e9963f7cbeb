"""TC3-HMAC-SHA256: the signature of Tencent Cloud API 3.0 requests, computed and verified.

The server side of what the SDK's signer does (reference §4). The canonical request is rebuilt
from the headers the client lists in `SignedHeaders` (names lowercased, values trimmed and sent
as-is, as the Python and Go SDKs sign them); the credential scope's date must be the UTC date of
`X-TC-Timestamp`; a skew of more than 300 s is `AuthFailure.SignatureExpire`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300

_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256\s+"
    r"Credential=(?P<secret_id>[^/\s,]+)/(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"/(?P<service>[a-z0-9-]+)/tc3_request"
    r"\s*,\s*SignedHeaders=(?P<signed_headers>[a-z0-9-]+(?:;[a-z0-9-]+)*)"
    r"\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
"""Unix seconds in ASCII digits (`str.isdigit` would take `²`; `int` refuses 5,000 digits)."""
_SERVICE_HOST = re.compile(
    r"^(?:https?://)?(?P<service>[a-z0-9-]+)\.(?:[a-z0-9-]+\.)?tencentcloudapi\.com(?::\d+)?$"
)


class SignatureRefused(Exception):
    """The request's signature is refused; `code` is the real AuthFailure code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class TC3Authorization:
    """The parsed `Authorization` header of a TC3 request."""

    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def credential_scope(self) -> str:
        """`<date>/<service>/tc3_request`."""
        return f"{self.date}/{self.service}/tc3_request"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What of an HTTP request the signature covers, as received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    """Header name (any case) → value."""
    body: bytes


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    """Who signed a request that passed verification, and for which service."""

    secret_id: str
    service: str
    timestamp: int


def parse_authorization(header: str | None) -> TC3Authorization:
    """Parse `TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""
    if not header:
        raise SignatureRefused("AuthFailure.InvalidAuthorization", "Authorization header missing.")
    match = _AUTHORIZATION.match(header.strip())
    if match is None:
        raise SignatureRefused(
            "AuthFailure.InvalidAuthorization",
            "Authorization header is not a valid TC3-HMAC-SHA256 authorization.",
        )
    return TC3Authorization(
        secret_id=match["secret_id"],
        date=match["date"],
        service=match["service"],
        signed_headers=tuple(match["signed_headers"].split(";")),
        signature=match["signature"],
    )


def addressed_service(host: str) -> str | None:
    """The service a `<service>[.<region>].tencentcloudapi.com` host names; None for other hosts.

    Against any other host (the emulator's 127.0.0.1:PORT) the credential scope alone says which
    service a request is for, as the SDK signs with its own service name whatever the endpoint.
    """
    match = _SERVICE_HOST.match(host.strip().lower())
    return match["service"] if match else None


def utc_date(timestamp: int) -> str:
    """The `YYYY-MM-DD` UTC date of a Unix timestamp (the scope date; never the local date)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def canonical_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    """The canonical request; `headers` must hold every name in `signed_headers` (lowercase)."""
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    payload = b"" if method.upper() == "GET" else body
    return "\n".join(
        [
            method.upper(),
            path or "/",
            query if method.upper() == "GET" else "",
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(payload).hexdigest(),
        ]
    )


def string_to_sign(*, timestamp: int, date: str, service: str, canonical: str) -> str:
    """`TC3-HMAC-SHA256\\n<timestamp>\\n<scope>\\n<hex sha256 of the canonical request>`."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature(*, secret_key: str, date: str, service: str, to_sign: str) -> str:
    """Hex HMAC-SHA256 of `to_sign` under the key derived from the secret key, date and service."""

    def _hmac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()

    signing_key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(signing_key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    request: SignedRequest,
    signed_headers: tuple[str, ...] = ("content-type", "host"),
) -> str:
    """The `Authorization` header a client sends for `request` (used by tests and tools)."""
    date = utc_date(timestamp)
    lowered = {name.lower(): value for name, value in request.headers.items()}
    canonical = canonical_request(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=lowered,
        signed_headers=signed_headers,
        body=request.body,
    )
    to_sign = string_to_sign(timestamp=timestamp, date=date, service=service, canonical=canonical)
    signed = signature(secret_key=secret_key, date=date, service=service, to_sign=to_sign)
    return (
        f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signed}"
    )


def verify(
    request: SignedRequest,
    *,
    secret_key_for: Callable[[str], str | None],
    now: float,
) -> VerifiedCaller:
    """Check a request's TC3 signature; return who signed it, or raise `SignatureRefused`.

    Order of checks: a parseable Authorization and timestamp, the skew, a known SecretId, the
    scope date, the scope service against a `<service>.tencentcloudapi.com` Host, the signed
    headers being present, then the signature itself. `X-TC-Token` is accepted as is.
    """
    headers = {name.lower(): value for name, value in request.headers.items()}
    auth = parse_authorization(headers.get("authorization"))
    raw_timestamp = headers.get("x-tc-timestamp", "").strip()
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise SignatureRefused(
            "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing or not a Unix timestamp."
        )
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise SignatureRefused(
            "AuthFailure.SignatureExpire",
            f"Signature expired. Timestamp is {timestamp}, server time is {int(now)}; "
            f"the difference must be within {MAX_SKEW_SECONDS} seconds.",
        )
    secret_key = secret_key_for(auth.secret_id)
    if secret_key is None:
        raise SignatureRefused("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    if auth.date != utc_date(timestamp):
        raise SignatureRefused(
            "AuthFailure.SignatureFailure",
            f"The date {auth.date} in the credential scope is not the UTC date of "
            f"X-TC-Timestamp ({utc_date(timestamp)}).",
        )
    addressed = addressed_service(headers.get("host", ""))
    if addressed is not None and addressed != auth.service:
        raise SignatureRefused(
            "AuthFailure.SignatureFailure",
            f"The service {auth.service!r} in the credential scope does not match the service "
            f"{addressed!r} the request is addressed to.",
        )
    missing = [name for name in auth.signed_headers if name not in headers]
    if missing or "host" not in auth.signed_headers:
        raise SignatureRefused(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must include host and name only headers that were sent.",
        )
    canonical = canonical_request(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=headers,
        signed_headers=auth.signed_headers,
        body=request.body,
    )
    to_sign = string_to_sign(
        timestamp=timestamp, date=auth.date, service=auth.service, canonical=canonical
    )
    expected = signature(
        secret_key=secret_key, date=auth.date, service=auth.service, to_sign=to_sign
    )
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureRefused(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. "
            "Please check your signature is correct.",
        )
    return VerifiedCaller(secret_id=auth.secret_id, service=auth.service, timestamp=timestamp)
