"""The SDK transport without a server: credentials chain, endpoints, error mapping, no secrets."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tencentcloud.common import credential as sdk_credential

from reconciler.errors import CredentialsError, NetworkError, UsageError
from reconciler.provider.sdk_transport import (
    ResolvedCredential,
    SdkTransport,
    make_sdk_transport,
    redacted,
    resolve_credential,
    split_endpoint,
)

SECRET_ID = "AKIDtestTRANSPORTid0000000000000000"
SECRET_KEY = "transportSecretKeyThatMustNeverLeak"
TOKEN = "sessionTokenThatMustNeverLeak"


def _no_role() -> str | None:
    return None


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_environment_credentials_with_session_token(home: Path) -> None:
    found = resolve_credential(
        {
            "TENCENTCLOUD_SECRET_ID": SECRET_ID,
            "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
            "TENCENTCLOUD_SESSION_TOKEN": TOKEN,
        },
        home=home,
        cvm_role_probe=_no_role,
    )
    assert found.source.startswith("environment")
    assert found.sdk_credential.get_credential_info() == (SECRET_ID, SECRET_KEY, TOKEN)
    assert SECRET_KEY not in repr(found)
    assert TOKEN not in repr(found)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TENCENTCLOUD_SECRET_ID": SECRET_ID}, "TENCENTCLOUD_SECRET_KEY is not"),
        ({"TENCENTCLOUD_SECRET_KEY": SECRET_KEY}, "TENCENTCLOUD_SECRET_ID is not"),
    ],
)
def test_half_set_environment_is_a_clear_error(
    home: Path, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(CredentialsError, match=named) as error:
        resolve_credential(environ, home=home, cvm_role_probe=_no_role)
    assert SECRET_KEY not in str(error.value)


def test_environment_wins_over_the_tccli_profile(home: Path) -> None:
    (home / ".tccli").mkdir()
    (home / ".tccli" / "default.credential").write_text(
        json.dumps({"secretId": "AKIDprofile", "secretKey": "profileKey"})
    )
    found = resolve_credential(
        {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY},
        home=home,
        cvm_role_probe=_no_role,
    )
    assert found.sdk_credential.get_credential_info()[0] == SECRET_ID


def test_tccli_profile_file(home: Path) -> None:
    (home / ".tccli").mkdir()
    (home / ".tccli" / "ci.credential").write_text(
        json.dumps({"type": "default", "secretId": SECRET_ID, "secretKey": SECRET_KEY})
    )
    found = resolve_credential({"TCCLI_PROFILE": "ci"}, home=home, cvm_role_probe=_no_role)
    assert found.source == f"tccli profile {home / '.tccli' / 'ci.credential'}"
    assert found.sdk_credential.get_credential_info() == (SECRET_ID, SECRET_KEY, None)


def test_tccli_profile_without_keys_is_a_clear_error(home: Path) -> None:
    (home / ".tccli").mkdir()
    (home / ".tccli" / "default.credential").write_text(json.dumps({"type": "default"}))
    with pytest.raises(CredentialsError, match="tccli configure"):
        resolve_credential({}, home=home, cvm_role_probe=_no_role)


def test_sdk_profile_file(home: Path) -> None:
    (home / ".tencentcloud").mkdir()
    (home / ".tencentcloud" / "credentials").write_text(
        f"[default]\nsecret_id = {SECRET_ID}\nsecret_key = {SECRET_KEY}\n"
    )
    found = resolve_credential({}, home=home, cvm_role_probe=_no_role)
    assert found.source.startswith("SDK profile")
    assert found.sdk_credential.get_credential_info()[:2] == (SECRET_ID, SECRET_KEY)


def test_cvm_role_when_the_metadata_service_names_one(home: Path) -> None:
    found = resolve_credential({}, home=home, cvm_role_probe=lambda: "CVM_QcsRole")
    assert found.source == "CVM role CVM_QcsRole"


def test_no_credentials_is_a_clear_error_before_any_call(home: Path) -> None:
    with pytest.raises(CredentialsError) as error:
        make_sdk_transport(endpoint=None, protocol="https", environ={}, cvm_role_probe=_no_role)
    message = str(error.value)
    assert "TENCENTCLOUD_SECRET_ID" in message
    assert "tccli configure" in message


@pytest.mark.parametrize(
    ("endpoint", "protocol", "expected"),
    [
        ("127.0.0.1:9000", "http", ("127.0.0.1:9000", "http")),
        ("http://127.0.0.1:9000/", "https", ("127.0.0.1:9000", "http")),
        ("HTTPS://cvm.example.com", "http", ("cvm.example.com", "https")),
        (None, "https", (None, "https")),
        ("", "HTTP", (None, "http")),
    ],
)
def test_split_endpoint(
    endpoint: str | None, protocol: str, expected: tuple[str | None, str]
) -> None:
    assert split_endpoint(endpoint, protocol) == expected


def test_unknown_protocol_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="http or https"):
        split_endpoint("127.0.0.1:9000", "ftp")


def _environ() -> dict[str, str]:
    return {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}


def test_regional_domains_without_an_endpoint(home: Path) -> None:
    transport = make_sdk_transport(endpoint=None, environ=_environ(), cvm_role_probe=_no_role)
    assert transport.host_for("cvm", "ap-singapore") == "cvm.ap-singapore.tencentcloudapi.com"
    assert transport.host_for("tag", "ap-guangzhou") == "tag.ap-guangzhou.tencentcloudapi.com"
    assert transport.host_for("cbs", "ap-shanghai") == "cbs.ap-shanghai.tencentcloudapi.com"


def test_an_endpoint_overrides_every_service(home: Path) -> None:
    transport = make_sdk_transport(
        endpoint="127.0.0.1:9000", protocol="http", environ=_environ(), cvm_role_probe=_no_role
    )
    assert {transport.host_for(s, "ap-singapore") for s in ("cvm", "tag", "cbs")} == {
        "127.0.0.1:9000"
    }


def test_account_uin_from_the_environment_else_empty(home: Path) -> None:
    assert (
        make_sdk_transport(endpoint=None, environ=_environ(), cvm_role_probe=_no_role).account == ""
    )
    with_uin = {**_environ(), "TENCENTCLOUD_UIN": "100000000001"}
    transport = make_sdk_transport(endpoint=None, environ=with_uin, cvm_role_probe=_no_role)
    assert transport.account == "100000000001"


def test_repr_carries_no_secret(home: Path) -> None:
    transport = make_sdk_transport(
        endpoint="127.0.0.1:9000",
        protocol="http",
        environ={**_environ(), "TENCENTCLOUD_SESSION_TOKEN": TOKEN},
        cvm_role_probe=_no_role,
    )
    text = repr(transport) + repr(vars(transport))
    assert SECRET_KEY not in text
    assert TOKEN not in text
    assert "127.0.0.1:9000" in repr(transport)


def test_no_answer_is_a_network_error_without_secrets(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    transport = make_sdk_transport(
        endpoint=f"127.0.0.1:{closed_port}",
        protocol="http",
        environ=_environ(),
        cvm_role_probe=_no_role,
        request_timeout=5,
    )
    try:
        with pytest.raises(NetworkError) as error:
            transport.call("cvm", "DescribeImages", "ap-guangzhou", {"Limit": 1})
    finally:
        transport.close()
    assert error.value.code == "ClientNetworkError"
    assert error.value.retryable
    assert SECRET_KEY not in str(error.value)


# --- credentials that can't go into a header: stripped, else refused without their value ----


def test_environment_credentials_are_stripped(home: Path) -> None:
    """`export TENCENTCLOUD_SESSION_TOKEN=$(cat token)` keeps the file's trailing newline."""
    found = resolve_credential(
        {
            "TENCENTCLOUD_SECRET_ID": f" {SECRET_ID}\n",
            "TENCENTCLOUD_SECRET_KEY": f"{SECRET_KEY}\r\n",
            "TENCENTCLOUD_SESSION_TOKEN": f"{TOKEN}\n",
        },
        home=home,
        cvm_role_probe=_no_role,
    )
    assert found.sdk_credential.get_credential_info() == (SECRET_ID, SECRET_KEY, TOKEN)


@pytest.mark.parametrize(
    "variable", ["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"]
)
@pytest.mark.parametrize("inside", ["\n", "\t", " ", "\x1b", "\x7f", "\u00e9", "\u2028"])
def test_environment_credential_with_a_bad_character_inside_is_refused_unprinted(
    home: Path, variable: str, inside: str
) -> None:
    environ = {
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "TENCENTCLOUD_SESSION_TOKEN": TOKEN,
    }
    value = environ[variable]
    environ[variable] = value[:6] + inside + value[6:]
    with pytest.raises(CredentialsError) as error:
        make_sdk_transport(endpoint=None, environ=environ, cvm_role_probe=_no_role)
    message = str(error.value)
    assert variable in message
    for secret in (SECRET_ID, SECRET_KEY, TOKEN, value[:6], value[6:]):
        assert secret not in message


@pytest.mark.parametrize("field", ["secretId", "secretKey", "token"])
def test_tccli_profile_credential_with_a_newline_inside_is_refused_unprinted(
    home: Path, field: str
) -> None:
    profile = {"secretId": SECRET_ID, "secretKey": SECRET_KEY, "token": TOKEN}
    profile[field] = profile[field][:6] + "\n" + profile[field][6:]
    (home / ".tccli").mkdir()
    path = home / ".tccli" / "default.credential"
    path.write_text(json.dumps(profile))
    with pytest.raises(CredentialsError) as error:
        resolve_credential({}, home=home, cvm_role_probe=_no_role)
    message = str(error.value)
    assert str(path) in message
    assert field in message
    assert not any(secret[6:] in message for secret in (SECRET_ID, SECRET_KEY, TOKEN))


def test_tccli_profile_credentials_are_stripped(home: Path) -> None:
    (home / ".tccli").mkdir()
    (home / ".tccli" / "default.credential").write_text(
        json.dumps({"secretId": f"{SECRET_ID}\n", "secretKey": f" {SECRET_KEY}", "token": "\t"})
    )
    found = resolve_credential({}, home=home, cvm_role_probe=_no_role)
    assert found.sdk_credential.get_credential_info() == (SECRET_ID, SECRET_KEY, None)


def test_sdk_profile_credential_with_whitespace_inside_is_refused_unprinted(home: Path) -> None:
    (home / ".tencentcloud").mkdir()
    path = home / ".tencentcloud" / "credentials"
    path.write_text(f"[default]\nsecret_id = {SECRET_ID}\nsecret_key = {SECRET_KEY[:6]} x\n")
    with pytest.raises(CredentialsError) as error:
        resolve_credential({}, home=home, cvm_role_probe=_no_role)
    message = str(error.value)
    assert str(path) in message
    assert "secret_key" in message
    assert SECRET_KEY[:6] not in message


@pytest.mark.parametrize(
    "secret",
    ["secrettokenABC\n", "tok\nenWithNewlineInside", 'quo"te\\and\x01ctl', "\u00e9t\u00e9"],
)
def test_redaction_covers_the_escaped_forms_of_a_secret(secret: str) -> None:
    text = (
        f"raw {secret} repr {secret!r} ascii {secret!a} json {json.dumps(secret)} "
        f"bytes {secret.encode()!r}"
    )
    scrubbed = redacted(text, (secret,))
    assert secret.strip() not in scrubbed
    for form in (repr(secret)[1:-1], ascii(secret)[1:-1], json.dumps(secret)[1:-1]):
        assert form not in scrubbed
    assert repr(secret.encode())[2:-1] not in scrubbed


def test_a_header_refusal_quoting_an_escaped_token_does_not_leak_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP library quotes a header value it refuses, escaped ('...\\n'): the plain
    replacement missed it. (A role's temporary token is not checked beforehand.)"""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    token = "secrettokenABC\nsecond-half-of-the-token"
    credential = ResolvedCredential(
        "CVM role test", sdk_credential.Credential(SECRET_ID, SECRET_KEY, token)
    )
    transport = SdkTransport(credential, endpoint=f"127.0.0.1:{_closed_port()}", protocol="http")
    try:
        with pytest.raises(NetworkError) as error:
            transport.call("cvm", "DescribeImages", "ap-guangzhou", {"Limit": 1})
    finally:
        transport.close()
    message = str(error.value)
    assert "header" in message  # the library's refusal, redacted
    for leak in ("secrettokenABC", "second-half-of-the-token", repr(token)[1:-1]):
        assert leak not in message


# --- endpoints and network errors: the endpoint, the HTTP status, a hint ------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("127.0.0.1:99999", "1 to 65535"),
        ("127.0.0.1:0", "1 to 65535"),
        ("http://127.0.0.1:" + "9" * 5000, "1 to 65535"),
        ("127.0.0.1:abc", "is not host"),
        ("127.0.0.1:9000/api", "is not host"),
        ("user:pw@127.0.0.1:9000", "is not host"),
        ("127.0.0.1 :9000", "is not host"),
    ],
)
def test_a_bad_endpoint_is_a_usage_error_before_credentials(
    home: Path, endpoint: str, expected: str
) -> None:
    with pytest.raises(UsageError, match=expected) as error:
        make_sdk_transport(endpoint=endpoint, protocol="http", environ={}, cvm_role_probe=_no_role)
    assert "provider endpoint" in str(error.value)


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1:1", "localhost:65535", "[::1]:9000", "cvm.tencentcloudapi.com"]
)
def test_good_endpoints_pass(endpoint: str) -> None:
    assert split_endpoint(endpoint, "http") == (endpoint, "http")


class _NotTheApi(BaseHTTPRequestHandler):
    """A web server that is not the API: 404 with an empty body, or a 200 HTML page."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if getattr(self.server, "page", False):
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        else:
            body = b""
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=["404", "html"])
def not_the_api(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTheApi)
    server.page = request.param == "html"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", request.param
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_an_endpoint_that_is_not_the_api_is_named_with_status_and_hint(
    home: Path, monkeypatch: pytest.MonkeyPatch, not_the_api: tuple[str, str]
) -> None:
    endpoint, kind = not_the_api
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    transport = make_sdk_transport(
        endpoint=endpoint, protocol="http", environ=_environ(), cvm_role_probe=_no_role
    )
    try:
        with pytest.raises(NetworkError) as error:
            transport.call("cvm", "DescribeImages", "ap-guangzhou", {"Limit": 1})
    finally:
        transport.close()
    message = str(error.value)
    assert f"http://{endpoint}/" in message
    assert "not an API 3.0 answer" in message
    if kind == "404":
        assert "HTTP 404" in message
    assert "reconciler cloud serve" in message
    assert "NO_PROXY" in message
    assert SECRET_KEY not in message


def test_no_answer_names_the_endpoint_and_hints(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    endpoint = f"127.0.0.1:{_closed_port()}"
    transport = make_sdk_transport(
        endpoint=endpoint, protocol="http", environ=_environ(), cvm_role_probe=_no_role
    )
    try:
        with pytest.raises(NetworkError) as error:
            transport.call("cvm", "DescribeImages", "ap-guangzhou", {"Limit": 1})
    finally:
        transport.close()
    assert f"cannot reach http://{endpoint}/" in str(error.value)
    assert "reconciler cloud serve" in str(error.value)


def test_each_thread_gets_its_own_client_per_service_and_region(home: Path) -> None:
    """A CommonClient holds one requests.Session, which is not safe to share between threads."""
    transport = make_sdk_transport(endpoint=None, environ=_environ(), cvm_role_probe=_no_role)
    try:
        here = transport._client("cvm", "ap-guangzhou")
        assert transport._client("cvm", "ap-guangzhou") is here
        assert transport._client("cvm", "ap-shanghai") is not here
        elsewhere: list[object] = []
        worker = threading.Thread(
            target=lambda: elsewhere.append(transport._client("cvm", "ap-guangzhou"))
        )
        worker.start()
        worker.join()
        assert elsewhere[0] is not here
    finally:
        transport.close()
