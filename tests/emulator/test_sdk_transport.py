"""The SDK transport without a server: credentials chain, endpoints, error mapping, no secrets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from reconciler.errors import CredentialsError, NetworkError, UsageError
from reconciler.provider.sdk_transport import (
    make_sdk_transport,
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
