"""The SDK transport: API calls through tencentcloud-sdk-python-common's CommonClient.

One CommonClient per (service, region), cached; the SDK's retryer stays off (the executor owns
retries). Without an endpoint each region's calls go to that region's domain
(`<service>.<region>.tencentcloudapi.com`; CommonClient alone would use the service's global
domain); an endpoint (the emulator) overrides the host of cvm, tag and cbs alike. Credentials come
from the SDK's default chain, extended with `TENCENTCLOUD_SESSION_TOKEN` and tccli's profile file,
and are resolved (stripped, and refused when whitespace or control characters remain inside)
before any call. Secrets never appear in reprs, errors or logs, not even escaped.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tencentcloud.common import credential as sdk_credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from reconciler.errors import CredentialsError, NetworkError, ProviderError, UsageError
from reconciler.provider.errors import error_from_code
from reconciler.provider.transport import API_VERSIONS

ROOT_DOMAIN = "tencentcloudapi.com"
CVM_ROLE_ENDPOINT = "http://metadata.tencentyun.com/latest/meta-data/cam/security-credentials/"
SDK_LOGGER = "tencentcloud_sdk_common"
UIN_VARIABLE = "TENCENTCLOUD_UIN"

_CREDENTIAL_TEXT = re.compile(r"[\x21-\x7e]+")
"""A usable SecretId, SecretKey or token: printable ASCII without whitespace. Anything else would
make the HTTP library refuse the header and quote the value (escaped) in its error."""
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]+))?")

CvmRoleProbe = Callable[[], str | None]
"""Returns the CVM role name bound to this machine, or None when not on a CVM with a role."""


def probe_cvm_role(timeout: float = 1.0) -> str | None:
    """Ask the CVM metadata service for the bound role, briefly (off-cloud it does not answer)."""
    try:
        with urllib.request.urlopen(CVM_ROLE_ENDPOINT, timeout=timeout) as answer:
            role = answer.read().decode("utf-8").strip()
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return role or None


@dataclass(frozen=True, slots=True)
class ResolvedCredential:
    """An SDK credential object and where it was found (the source is safe to print)."""

    source: str
    sdk_credential: Any = field(repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The secret strings of this credential, for redaction."""
        secret_id, secret_key, token = self.sdk_credential.get_credential_info()
        return tuple(value for value in (secret_id, secret_key, token) if value)


def _checked(value: object, where: str) -> str:
    """`value` stripped of surrounding whitespace (a trailing newline from `$(cat key)`, ...).

    Raises CredentialsError naming `where` -- never the value -- when whitespace, control or
    non-ASCII characters remain inside: the request could not carry it, and the HTTP library's
    refusal would print it.
    """
    text = str(value).strip()
    if text and _CREDENTIAL_TEXT.fullmatch(text) is None:
        raise CredentialsError(
            f"{where} contains whitespace, control or non-ASCII characters; "
            "set it again without them (the value is not shown)."
        )
    return text


def _static_credential(source: str, secret_id: str, secret_key: str, token: str | None) -> Any:
    try:
        return sdk_credential.Credential(secret_id, secret_key, token or None)
    except TencentCloudSDKException as exc:
        raise CredentialsError(f"credentials from {source} are unusable: {exc.message}") from None


def _from_environment(environ: Mapping[str, str]) -> ResolvedCredential | None:
    secret_id = _checked(environ.get("TENCENTCLOUD_SECRET_ID", ""), "TENCENTCLOUD_SECRET_ID")
    secret_key = _checked(environ.get("TENCENTCLOUD_SECRET_KEY", ""), "TENCENTCLOUD_SECRET_KEY")
    if not secret_id and not secret_key:
        return None
    if not secret_id or not secret_key:
        present, absent = (
            ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")
            if secret_id
            else ("TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SECRET_ID")
        )
        raise CredentialsError(f"{present} is set but {absent} is not; set both.")
    source = "environment (TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY)"
    token = _checked(environ.get("TENCENTCLOUD_SESSION_TOKEN", ""), "TENCENTCLOUD_SESSION_TOKEN")
    return ResolvedCredential(
        source, _static_credential(source, secret_id, secret_key, token or None)
    )


def _from_tccli_profile(environ: Mapping[str, str], home: Path) -> ResolvedCredential | None:
    profile = environ.get("TCCLI_PROFILE") or "default"
    path = home / ".tccli" / f"{profile}.credential"
    if not path.is_file():
        return None
    source = f"tccli profile {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CredentialsError(f"{source} is unreadable: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{source} has no secretId/secretKey; run `tccli configure`.")
    secret_id = _checked(data.get("secretId") or "", f"{source}: secretId")
    secret_key = _checked(data.get("secretKey") or "", f"{source}: secretKey")
    token = _checked(data.get("token") or "", f"{source}: token")
    if not secret_id or not secret_key:
        raise CredentialsError(f"{source} has no secretId/secretKey; run `tccli configure`.")
    return ResolvedCredential(
        source, _static_credential(source, secret_id, secret_key, token or None)
    )


def _from_sdk_profile(home: Path) -> ResolvedCredential | None:
    """The SDK's own ini file (`[default] secret_id=..., secret_key=...`), as ProfileCredential."""
    for path in (home / ".tencentcloud" / "credentials", Path("/etc/tencentcloud/credentials")):
        if not path.is_file():
            continue
        source = f"SDK profile {path}"
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise CredentialsError(f"{source} is unreadable: {type(exc).__name__}") from None
        secret_id = _checked(
            parser.get("default", "secret_id", fallback=""), f"{source}: [default] secret_id"
        )
        secret_key = _checked(
            parser.get("default", "secret_key", fallback=""), f"{source}: [default] secret_key"
        )
        if secret_id and secret_key:
            return ResolvedCredential(
                source, _static_credential(source, secret_id, secret_key, None)
            )
    return None


def resolve_credential(
    environ: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    cvm_role_probe: CvmRoleProbe | None = None,
) -> ResolvedCredential:
    """Find credentials as tccli and Terraform do, or raise CredentialsError before any call.

    Order: TENCENTCLOUD_SECRET_ID/SECRET_KEY(/SESSION_TOKEN); tccli's profile file
    `~/.tccli/<TCCLI_PROFILE or default>.credential`; the SDK's `~/.tencentcloud/credentials`;
    the CVM role of this machine; a TKE OIDC role (TKE_* variables).
    """
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    found = (
        _from_environment(environ) or _from_tccli_profile(environ, home) or _from_sdk_profile(home)
    )
    if found is not None:
        return found
    role = (cvm_role_probe or probe_cvm_role)()
    if role is not None:
        return ResolvedCredential(f"CVM role {role}", sdk_credential.CVMRoleCredential(role))
    if environ.get("TKE_ROLE_ARN") and environ.get("TKE_PROVIDER_ID"):
        try:
            tke = sdk_credential.DefaultTkeOIDCRoleArnProvider().get_credential()
        except (OSError, TencentCloudSDKException) as exc:
            raise CredentialsError(f"TKE OIDC role credentials unusable: {exc}") from None
        return ResolvedCredential("TKE OIDC role", tke)
    raise CredentialsError(
        "no Tencent Cloud credentials found: set TENCENTCLOUD_SECRET_ID and "
        "TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary keys), "
        "run `tccli configure`, or run on a CVM with a bound role."
    )


def split_endpoint(endpoint: str | None, protocol: str) -> tuple[str | None, str]:
    """`(host[:port], protocol)`; a scheme written into the endpoint wins over `protocol`.

    The SDK would send and sign a literal `Host: http://...` for an endpoint with a scheme.
    Raises UsageError for anything but `host[:port]` (port 1-65535) after the scheme: the SDK
    would only fail on the first call ("Failed to parse: ...").
    """
    written = endpoint
    protocol = protocol.lower()
    if endpoint:
        scheme, separator, rest = endpoint.strip().partition("://")
        if separator:
            endpoint, protocol = rest, scheme.lower()
        endpoint = endpoint.rstrip("/")
    if protocol not in ("http", "https"):
        raise UsageError(f"provider protocol must be http or https, not {protocol!r}")
    if endpoint:
        match = _HOST_PORT.fullmatch(endpoint)
        if match is None:
            raise UsageError(
                f"provider endpoint {written!r} is not host[:port] (for example "
                "127.0.0.1:9000, or cvm.tencentcloudapi.com)"
            )
        port = match["port"]
        if port is not None and not (len(port) <= 5 and 1 <= int(port) <= 65535):
            raise UsageError(
                f"provider endpoint {written!r}: the port must be a number from 1 to 65535"
            )
    return endpoint or None, protocol


class _CommonClient(CommonClient):  # type: ignore[misc]
    """CommonClient whose non-200 answer names the HTTP status (the SDK's puts only the body)."""

    def _check_status(self, resp_inter: Any) -> None:
        status = int(resp_inter.status_code)
        if status != 200:
            reason = str(getattr(resp_inter, "reason", "") or "").strip()
            content_type = resp_inter.headers.get("Content-Type") or "no Content-Type"
            resp_inter.close()  # the SDK streams responses: an unread one would hold its socket
            raise TencentCloudSDKException(
                "ServerNetworkError",
                f"HTTP {status}{' ' + reason if reason else ''} ({content_type}), "
                "not an API 3.0 answer",
            )


def _quoted_forms(secret: str) -> set[str]:
    """`secret` as it may appear in a message: as is, stripped, and escaped (repr, JSON, bytes)."""
    forms = {secret, secret.strip(), repr(secret)[1:-1], ascii(secret)[1:-1]}
    forms.add(json.dumps(secret)[1:-1])
    forms.add(repr(secret.encode("utf-8", "backslashreplace"))[2:-1])
    forms.add(secret.encode("unicode_escape").decode("ascii"))
    return {form for form in forms if form}


def redacted(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every form of each secret (longest first) replaced by `***`."""
    forms = {form for secret in secrets if secret for form in _quoted_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


class SdkTransport:
    """Sends API requests with the SDK's CommonClient; maps SDK exceptions to reconciler errors."""

    def __init__(
        self,
        credential: ResolvedCredential,
        *,
        endpoint: str | None,
        protocol: str,
        account: str = "",
        request_timeout: int = 60,
    ) -> None:
        self.endpoint, self.protocol = split_endpoint(endpoint, protocol)
        self.account = account
        """The account UIN for six-segment tag resource names; "" (`uin/`) as Terraform does."""
        self.credential_source = credential.source
        self._credential = credential
        self._request_timeout = request_timeout
        self._clients: dict[tuple[int, str, str], CommonClient] = {}
        """One client per (thread, service, region): a CommonClient is not safe to share between
        threads (each holds one `requests.Session`, which requests does not promise is thread-safe,
        and `send_request` writes `request_size` on the shared ApiRequest)."""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SdkTransport(endpoint={self.endpoint!r}, protocol={self.protocol!r}, "
            f"credentials from {self.credential_source})"
        )

    def host_for(self, service: str, region: str) -> str:
        """The host a (service, region) request goes to."""
        return self.endpoint or f"{service}.{region}.{ROOT_DOMAIN}"

    def _client(self, service: str, region: str) -> CommonClient:
        key = (threading.get_ident(), service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                http_profile = HttpProfile(
                    protocol=self.protocol,
                    endpoint=self.host_for(service, region),
                    reqTimeout=self._request_timeout,
                )
                profile = ClientProfile(httpProfile=http_profile, language="en-US", retryer=None)
                client = _CommonClient(
                    service, API_VERSIONS[service], self._credential.sdk_credential, region, profile
                )
                self._clients[key] = client
            return client

    def call(
        self, service: str, action: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if service not in API_VERSIONS:
            raise UsageError(f"unknown service {service!r}")
        client = self._client(service, region)
        try:
            envelope = client.call_json(action, dict(params))
        except TencentCloudSDKException as exc:
            raise self._mapped(exc, service, action, region) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise self._not_an_answer(service, action, region, f"unreadable: {exc}") from None
        response = envelope.get("Response") if isinstance(envelope, dict) else None
        if not isinstance(response, dict):
            raise self._not_an_answer(service, action, region, "no Response object")
        return response

    def url_for(self, service: str, region: str) -> str:
        """The URL a (service, region) request is sent to, for messages."""
        return f"{self.protocol}://{self.host_for(service, region)}/"

    def _hint(self) -> str:
        if self.endpoint:
            return (
                "is `reconciler cloud serve` (or the API) running at that endpoint? "
                "is NO_PROXY set for 127.0.0.1,localhost?"
            )
        return "check the network, and HTTPS_PROXY / NO_PROXY"

    def _not_an_answer(self, service: str, action: str, region: str, what: str) -> NetworkError:
        return NetworkError(
            "ServerNetworkError",
            self._redacted(
                f"{self.url_for(service, region)} answered {action} with something that is not "
                f"an API 3.0 answer ({what}); {self._hint()}"
            ),
        )

    def _mapped(
        self, exc: TencentCloudSDKException, service: str, action: str, region: str
    ) -> ProviderError:
        code = str(exc.code or "ClientError")
        raw = exc.message or ""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        request_id = str(exc.requestId or "")
        if code == "ClientNetworkError":
            message = f"cannot reach {self.url_for(service, region)} ({action}): {message}"
        elif code == "ServerNetworkError":
            message = f"{self.url_for(service, region)} answered {action} with {message}"
        if code in ("ClientNetworkError", "ServerNetworkError"):
            return NetworkError(code, self._redacted(f"{message}; {self._hint()}"), request_id)
        return error_from_code(code, self._redacted(message), request_id)

    def _redacted(self, text: str) -> str:
        """`text` without any secret of the credential, in any form a library may quote it."""
        return redacted(text, self._credential.secrets())

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                session = getattr(getattr(client.request, "conn", None), "_session", None)
                if session is not None:
                    session.close()
            self._clients.clear()


def make_sdk_transport(
    *,
    endpoint: str | None,
    protocol: str = "https",
    account: str | None = None,
    environ: Mapping[str, str] | None = None,
    cvm_role_probe: CvmRoleProbe | None = None,
    request_timeout: int = 60,
) -> SdkTransport:
    """Build the transport for the real cloud (or the emulator at `endpoint`).

    Raises UsageError for an endpoint that is not host[:port] (port 1-65535), CredentialsError
    when no usable credentials are found, both before any call. `account` (else
    the TENCENTCLOUD_UIN variable, else "") is the UIN written into tag resource names.
    """
    environ = os.environ if environ is None else environ
    split_endpoint(endpoint, protocol)  # a bad endpoint is reported before the credentials
    # The SDK logs whole requests (X-TC-Token included) at DEBUG; keep them out of our logs.
    logging.getLogger(SDK_LOGGER).propagate = False
    credential = resolve_credential(environ, cvm_role_probe=cvm_role_probe)
    return SdkTransport(
        credential,
        endpoint=endpoint,
        protocol=protocol,
        account=account if account is not None else environ.get(UIN_VARIABLE, ""),
        request_timeout=request_timeout,
    )
