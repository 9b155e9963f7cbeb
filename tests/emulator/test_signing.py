"""TC3-HMAC-SHA256 signing and verification: the official worked example and each refusal."""

from __future__ import annotations

import hashlib
import json

import pytest

from reconciler.cloudsim.signing import (
    SignatureRefused,
    SignedRequest,
    addressed_service,
    authorization_header,
    canonical_request,
    parse_authorization,
    utc_date,
    verify,
)

# The worked example of the official TC3 docs (reference §4).
EXAMPLE_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
EXAMPLE_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
EXAMPLE_TIMESTAMP = 1539084154
EXAMPLE_REQUEST = SignedRequest(
    method="GET",
    path="/",
    query="Limit=10&Offset=0",
    headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Host": "cvm.tencentcloudapi.com",
    },
    body=b"",
)
EXAMPLE_SIGNATURE = "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474"


def _keys(secret_id: str) -> str | None:
    return {EXAMPLE_SECRET_ID: EXAMPLE_SECRET_KEY}.get(secret_id)


def _signed(
    request: SignedRequest, *, timestamp: int, service: str = "cvm", key: str = ""
) -> SignedRequest:
    header = authorization_header(
        secret_id=EXAMPLE_SECRET_ID,
        secret_key=key or EXAMPLE_SECRET_KEY,
        service=service,
        timestamp=timestamp,
        request=request,
    )
    headers = {**request.headers, "Authorization": header, "X-TC-Timestamp": str(timestamp)}
    return SignedRequest(request.method, request.path, request.query, headers, request.body)


def _post(body: dict[str, object], host: str = "127.0.0.1:9000") -> SignedRequest:
    return SignedRequest(
        method="POST",
        path="/",
        query="",
        headers={"Content-Type": "application/json", "Host": host},
        body=json.dumps(body).encode(),
    )


def test_official_example_hashed_canonical_request() -> None:
    canonical = canonical_request(
        method="GET",
        path="/",
        query="Limit=10&Offset=0",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "host": "cvm.tencentcloudapi.com",
        },
        signed_headers=("content-type", "host"),
        body=b"",
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7"
    )


def test_official_example_signature() -> None:
    header = authorization_header(
        secret_id=EXAMPLE_SECRET_ID,
        secret_key=EXAMPLE_SECRET_KEY,
        service="cvm",
        timestamp=EXAMPLE_TIMESTAMP,
        request=EXAMPLE_REQUEST,
    )
    assert header == (
        f"TC3-HMAC-SHA256 Credential={EXAMPLE_SECRET_ID}/2018-10-09/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={EXAMPLE_SIGNATURE}"
    )


def test_official_example_verifies() -> None:
    request = _signed(EXAMPLE_REQUEST, timestamp=EXAMPLE_TIMESTAMP)
    caller = verify(request, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP + 299)
    assert (caller.secret_id, caller.service, caller.timestamp) == (
        EXAMPLE_SECRET_ID,
        "cvm",
        EXAMPLE_TIMESTAMP,
    )


def test_scope_date_is_the_utc_date_not_the_local_one() -> None:
    # 2018-10-09T23:30:00Z is already 10 October in Beijing.
    assert utc_date(1539127800) == "2018-10-09"


def test_sdk_signature_verifies() -> None:
    """The real SDK's signer and the emulator's verifier agree."""
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    profile = ClientProfile(httpProfile=HttpProfile(endpoint="127.0.0.1:9000", protocol="http"))
    client = CommonClient(
        "tag",
        "2018-08-13",
        Credential(EXAMPLE_SECRET_ID, EXAMPLE_SECRET_KEY),
        "ap-guangzhou",
        profile,
    )
    internal = RequestInternal("127.0.0.1:9000", "POST", "/", header={})
    client._build_req_inter("GetResources", {"MaxResults": 10}, internal)
    request = SignedRequest("POST", "/", "", dict(internal.header), internal.data.encode())
    now = int(internal.header["X-TC-Timestamp"])
    caller = verify(request, secret_key_for=_keys, now=now)
    assert caller.service == "tag"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "AuthFailure.InvalidAuthorization"),
        ("", "AuthFailure.InvalidAuthorization"),
        ("Bearer abc", "AuthFailure.InvalidAuthorization"),
        (
            "TC3-HMAC-SHA256 Credential=AKID/2018-10-09/cvm/tc3_request",
            "AuthFailure.InvalidAuthorization",
        ),
        (
            "TC3-HMAC-SHA256 Credential=AKID/2018-10-09/cvm/tc3_request, "
            "SignedHeaders=content-type;host, Signature=nothex",
            "AuthFailure.InvalidAuthorization",
        ),
    ],
)
def test_garbled_authorization_is_refused(header: str | None, expected: str) -> None:
    with pytest.raises(SignatureRefused) as refused:
        parse_authorization(header)
    assert refused.value.code == expected


def test_parse_authorization_reads_every_part() -> None:
    auth = parse_authorization(
        "TC3-HMAC-SHA256 Credential=AKIDx/2026-01-01/tag/tc3_request, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={EXAMPLE_SIGNATURE}"
    )
    assert auth.secret_id == "AKIDx"
    assert auth.credential_scope == "2026-01-01/tag/tc3_request"
    assert auth.signed_headers == ("content-type", "host", "x-tc-action")


def test_wrong_key_is_signature_failure() -> None:
    request = _signed(_post({"Limit": 10}), timestamp=EXAMPLE_TIMESTAMP, key="not-the-key")
    with pytest.raises(SignatureRefused) as refused:
        verify(request, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP)
    assert refused.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("skew", [301, -301, 3600])
def test_stale_or_future_timestamp_is_signature_expire(skew: int) -> None:
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP)
    with pytest.raises(SignatureRefused) as refused:
        verify(request, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP + skew)
    assert refused.value.code == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize("skew", [300, -300, 0])
def test_skew_up_to_300_seconds_is_accepted(skew: int) -> None:
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP)
    assert verify(request, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP + skew).service == "cvm"


def test_unknown_secret_id_is_secret_id_not_found() -> None:
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP)
    with pytest.raises(SignatureRefused) as refused:
        verify(request, secret_key_for=lambda _secret_id: None, now=EXAMPLE_TIMESTAMP)
    assert refused.value.code == "AuthFailure.SecretIdNotFound"


def test_tampered_body_is_signature_failure() -> None:
    request = _signed(_post({"ImageIds": ["img-aaaaaaaa"]}), timestamp=EXAMPLE_TIMESTAMP)
    tampered = SignedRequest(
        request.method,
        request.path,
        request.query,
        request.headers,
        b'{"ImageIds": ["img-bbbbbbbb"]}',
    )
    with pytest.raises(SignatureRefused) as refused:
        verify(tampered, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP)
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_tampered_query_of_a_get_is_signature_failure() -> None:
    request = _signed(EXAMPLE_REQUEST, timestamp=EXAMPLE_TIMESTAMP)
    tampered = SignedRequest("GET", "/", "Limit=100&Offset=0", request.headers, b"")
    with pytest.raises(SignatureRefused) as refused:
        verify(tampered, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP)
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_service_rewritten_in_the_scope_is_signature_failure() -> None:
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP, service="cvm")
    forged = {
        **request.headers,
        "Authorization": request.headers["Authorization"].replace("/cvm/", "/tag/"),
    }
    with pytest.raises(SignatureRefused) as refused:
        verify(
            SignedRequest("POST", "/", "", forged, request.body),
            secret_key_for=_keys,
            now=EXAMPLE_TIMESTAMP,
        )
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_scope_service_must_match_the_service_host() -> None:
    """Correctly signed for `tag`, but sent to the cvm domain: refused."""
    request = _signed(
        _post({}, host="cvm.ap-guangzhou.tencentcloudapi.com"),
        timestamp=EXAMPLE_TIMESTAMP,
        service="tag",
    )
    with pytest.raises(SignatureRefused) as refused:
        verify(request, secret_key_for=_keys, now=EXAMPLE_TIMESTAMP)
    assert refused.value.code == "AuthFailure.SignatureFailure"
    assert "'tag'" in refused.value.message
    assert "'cvm'" in refused.value.message


def test_scope_date_other_than_the_timestamp_date_is_signature_failure() -> None:
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP)
    forged = {
        **request.headers,
        "Authorization": request.headers["Authorization"].replace("2018-10-09", "2018-10-10"),
    }
    with pytest.raises(SignatureRefused) as refused:
        verify(
            SignedRequest("POST", "/", "", forged, request.body),
            secret_key_for=_keys,
            now=EXAMPLE_TIMESTAMP,
        )
    assert refused.value.code == "AuthFailure.SignatureFailure"


def test_missing_timestamp_is_invalid_authorization() -> None:
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP)
    headers = {k: v for k, v in request.headers.items() if k != "X-TC-Timestamp"}
    with pytest.raises(SignatureRefused) as refused:
        verify(
            SignedRequest("POST", "/", "", headers, request.body),
            secret_key_for=_keys,
            now=EXAMPLE_TIMESTAMP,
        )
    assert refused.value.code == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize("timestamp", ["\u00b2", "1539084154\u00b2", "9" * 5000, "-1", "1e9", ""])
def test_timestamp_that_is_not_ascii_digits_is_invalid_authorization(timestamp: str) -> None:
    """`²` passes str.isdigit and 5,000 digits exceed int's limit: both were InternalError."""
    request = _signed(_post({}), timestamp=EXAMPLE_TIMESTAMP)
    headers = {**request.headers, "X-TC-Timestamp": timestamp}
    with pytest.raises(SignatureRefused) as refused:
        verify(
            SignedRequest("POST", "/", "", headers, request.body),
            secret_key_for=_keys,
            now=EXAMPLE_TIMESTAMP,
        )
    assert refused.value.code == "AuthFailure.InvalidAuthorization"


def test_more_signed_headers_are_covered() -> None:
    """A client may sign more headers than content-type;host; changing one breaks the signature."""
    base = _post({})
    request = SignedRequest(
        "POST", "/", "", {**base.headers, "X-TC-Action": "DescribeImages"}, base.body
    )
    header = authorization_header(
        secret_id=EXAMPLE_SECRET_ID,
        secret_key=EXAMPLE_SECRET_KEY,
        service="cvm",
        timestamp=EXAMPLE_TIMESTAMP,
        request=request,
        signed_headers=("content-type", "host", "x-tc-action"),
    )
    headers = {**request.headers, "Authorization": header, "X-TC-Timestamp": str(EXAMPLE_TIMESTAMP)}
    assert (
        verify(
            SignedRequest("POST", "/", "", headers, base.body),
            secret_key_for=_keys,
            now=EXAMPLE_TIMESTAMP,
        ).service
        == "cvm"
    )
    headers["X-TC-Action"] = "DeleteImages"
    with pytest.raises(SignatureRefused) as refused:
        verify(
            SignedRequest("POST", "/", "", headers, base.body),
            secret_key_for=_keys,
            now=EXAMPLE_TIMESTAMP,
        )
    assert refused.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("cvm.tencentcloudapi.com", "cvm"),
        ("tag.ap-guangzhou.tencentcloudapi.com", "tag"),
        ("http://cbs.tencentcloudapi.com:80", "cbs"),
        ("127.0.0.1:9000", None),
        ("localhost", None),
        ("cvm.example.com", None),
    ],
)
def test_addressed_service(host: str, expected: str | None) -> None:
    assert addressed_service(host) == expected
