"""The emulator over HTTP: envelope, status, content type, routing by account and each refusal."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlencode

import pytest

from reconciler.cloudsim.errors import INTERNAL_ERROR_MESSAGE
from reconciler.cloudsim.server import ApiRefusal, CloudRequestHandler, unflatten_params
from reconciler.cloudsim.signing import SignedRequest, authorization_header

from .wire import PARTNER_UIN, Emulator, Keys, RawAnswer

PRIVATE = {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}], "Limit": 100}


def _private_image_ids(emulator: Emulator, keys: Keys) -> set[str]:
    answer = emulator.send("DescribeImages", PRIVATE, keys=keys)
    assert answer.error_code is None, answer.body
    return {image["ImageId"] for image in answer.body["Response"]["ImageSet"]}


def test_success_is_200_json_with_the_real_envelope(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", {"Limit": 5})
    assert answer.status == 200
    assert answer.content_type == "application/json"
    response = answer.body["Response"]
    assert isinstance(response["ImageSet"], list)
    assert response["ImageSet"]
    assert isinstance(response["TotalCount"], int)
    assert len(response["RequestId"]) == 36


def test_api_error_is_200_json_with_the_error_envelope(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", {"ImageIds": ["not-an-image-id"]})
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert answer.error_code == "InvalidImageId.Malformed"
    assert answer.body["Response"]["Error"]["Message"]
    assert answer.body["Response"]["RequestId"]


def test_each_request_gets_a_fresh_request_id(emulator: Emulator) -> None:
    first = emulator.send("DescribeImageQuota")
    second = emulator.send("DescribeImageQuota")
    assert first.body["Response"]["RequestId"] != second.body["Response"]["RequestId"]


def test_requests_act_as_the_account_whose_key_signed_them(emulator: Emulator) -> None:
    own, partner = emulator.keys(), emulator.keys(PARTNER_UIN)
    created = emulator.send(
        "CreateImage", {"InstanceId": "ins-demo0001", "ImageName": "routing-check"}, keys=own
    )
    assert created.error_code is None, created.body
    image_id = created.body["Response"]["ImageId"]
    assert image_id in _private_image_ids(emulator, own)
    assert image_id not in _private_image_ids(emulator, partner)


def test_wrong_key_is_signature_failure(emulator: Emulator) -> None:
    own = emulator.keys()
    answer = emulator.send("DescribeImages", keys=Keys(own.uin, own.secret_id, "wrong" * 8))
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert answer.error_code == "AuthFailure.SignatureFailure"


def test_stale_timestamp_is_signature_expire(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", timestamp=int(time.time()) - 301)
    assert answer.error_code == "AuthFailure.SignatureExpire"


def test_future_timestamp_is_signature_expire(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", timestamp=int(time.time()) + 400)
    assert answer.error_code == "AuthFailure.SignatureExpire"


def test_unknown_secret_id_is_secret_id_not_found(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", keys=Keys("0", "AKIDunknown0000000000", "x" * 32))
    assert answer.error_code == "AuthFailure.SecretIdNotFound"


def test_tampered_body_is_signature_failure(emulator: Emulator) -> None:
    created = emulator.send("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": "keep-me"})
    image_id = created.body["Response"]["ImageId"]
    answer = emulator.send(
        "DescribeImages",
        {"ImageIds": [image_id]},
        body=json.dumps({"ImageIds": ["img-00000000"]}).encode(),
    )
    assert answer.error_code == "AuthFailure.SignatureFailure"


def test_service_rewritten_in_the_credential_scope_is_signature_failure(
    emulator: Emulator,
) -> None:
    timestamp = int(time.time())
    genuine = _signed(emulator, b"{}", timestamp)
    answer = emulator.send(
        "DescribeImages",
        timestamp=timestamp,
        authorization=genuine.replace("/cvm/tc3_request", "/cbs/tc3_request"),
    )
    assert answer.error_code == "AuthFailure.SignatureFailure"


def test_scope_for_another_service_than_the_host_names_is_signature_failure(
    emulator: Emulator,
) -> None:
    answer = emulator.send("DescribeImages", service="tag", host="cvm.tencentcloudapi.com")
    assert answer.error_code == "AuthFailure.SignatureFailure"
    assert "'tag'" in answer.body["Response"]["Error"]["Message"]


def test_scope_service_addresses_the_request(emulator: Emulator) -> None:
    """Signed for `tag`, a cvm action does not reach the CVM service."""
    answer = emulator.send("DescribeImages", service="tag")
    assert answer.error_code in {"InvalidAction", "NoSuchVersion"}
    tags = emulator.send(
        "DescribeResourceTagsByResourceIds",
        {
            "ServiceType": "cvm",
            "ResourcePrefix": "image",
            "ResourceIds": ["img-00000000"],
            "ResourceRegion": "ap-guangzhou",
        },
        service="tag",
    )
    assert tags.error_code is None, tags.body
    assert tags.body["Response"]["Tags"] == []


def test_unsimulated_service_is_invalid_action(emulator: Emulator) -> None:
    answer = emulator.send("DescribeVpcs", service="vpc")
    assert answer.error_code == "InvalidAction"


def test_missing_authorization_is_invalid_authorization(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", authorization="")
    assert answer.error_code == "AuthFailure.InvalidAuthorization"


def test_unknown_action_is_invalid_action(emulator: Emulator) -> None:
    answer = emulator.send("DescribeUnicorns")
    assert answer.error_code == "InvalidAction"


def test_wrong_version_is_refused(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImages", headers={"X-TC-Version": "2016-01-01"})
    assert answer.error_code == "NoSuchVersion"


def test_signed_body_that_is_not_json_is_invalid_parameter(emulator: Emulator) -> None:
    timestamp = int(time.time())
    garbage = b"{not json"
    header = _signed(emulator, garbage, timestamp)
    answer = emulator.send(
        "DescribeImages", timestamp=timestamp, authorization=header, body=garbage
    )
    assert answer.status == 200
    assert answer.error_code == "InvalidParameter"


def test_get_with_flattened_query_parameters(emulator: Emulator) -> None:
    created = emulator.send("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": "by-get"})
    image_id = created.body["Response"]["ImageId"]
    query = urlencode({"ImageIds.0": image_id})
    answer = emulator.send(
        "DescribeImages",
        method="GET",
        query=query,
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.error_code is None, answer.body
    assert [image["ImageId"] for image in answer.body["Response"]["ImageSet"]] == [image_id]


def test_unflatten_params_rebuilds_nesting() -> None:
    pairs = [
        ("Filters.0.Name", "image-type"),
        ("Filters.0.Values.0", "PRIVATE_IMAGE"),
        ("Filters.1.Name", "tag:owner"),
        ("Filters.1.Values.0", "a"),
        ("Filters.1.Values.1", "b"),
        ("Offset", "0"),
    ]
    assert unflatten_params(pairs) == {
        "Filters": [
            {"Name": "image-type", "Values": ["PRIVATE_IMAGE"]},
            {"Name": "tag:owner", "Values": ["a", "b"]},
        ],
        "Offset": "0",
    }


@pytest.mark.parametrize(
    "pairs",
    [
        [("ImageIds.1", "img-aaaaaaaa")],
        [("ImageIds.0", "img-aaaaaaaa"), ("ImageIds.Name", "x")],
        [("Limit", "1"), ("Limit.Max", "2")],
        [("Filters.0.Name", "a"), ("Filters.0", "b")],
        [("ImageIds.99999999", "img-aaaaaaaa")],
        [("ImageIds." + "9" * 5000, "img-aaaaaaaa")],
        [(".".join(["Filters"] * 100), "x")],
        [("Limit", "1"), ("Limit", "2")],
    ],
)
def test_unflatten_params_refuses_what_does_not_fit(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiRefusal) as refused:
        unflatten_params(pairs)
    assert refused.value.code == "InvalidParameter"


def test_session_token_is_accepted(emulator: Emulator) -> None:
    answer = emulator.send("DescribeImageQuota", headers={"X-TC-Token": "temporary-session-token"})
    assert answer.error_code is None, answer.body
    assert answer.body["Response"]["ImageNumQuota"] > 0


def _signed(emulator: Emulator, body: bytes, timestamp: int) -> str:
    """A genuine Authorization header for a cvm POST of `body` (to tamper with or send)."""
    keys = emulator.keys()
    return authorization_header(
        secret_id=keys.secret_id,
        secret_key=keys.secret_key,
        service="cvm",
        timestamp=timestamp,
        request=SignedRequest(
            "POST",
            "/",
            "",
            {"Content-Type": "application/json", "Host": f"127.0.0.1:{emulator.port}"},
            body,
        ),
    )


def _signed_body_answer(emulator: Emulator, body: bytes) -> RawAnswer:
    """Send `body`, correctly signed, as a DescribeImages request."""
    timestamp = int(time.time())
    header = _signed(emulator, body, timestamp)
    return emulator.send("DescribeImages", timestamp=timestamp, authorization=header, body=body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"Limit": ' + b"9" * 5000 + b"}",  # int() refuses over 4,300 digits: ValueError
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the JSON decoder
        b'{"Filters": ' + b"[" * 500 + b"]" * 500 + b"}",  # decodes, but nests absurdly
        b'{"Limit": NaN}',  # not JSON, though Python's decoder takes it
        b"\xff\xfe{}",  # not UTF-8
    ],
    ids=["huge-int", "deep-100000", "deep-500", "nan", "not-utf8"],
)
def test_malformed_signed_body_is_invalid_parameter_not_internal_error(
    emulator: Emulator, body: bytes
) -> None:
    """InternalError is transient: the executor would retry a request that can never succeed."""
    answer = _signed_body_answer(emulator, body)
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.error_code == "InvalidParameter", answer.body


@pytest.mark.parametrize("timestamp", ["\u00b2", "9" * 5000])
def test_timestamp_that_is_not_ascii_digits_is_invalid_authorization(
    emulator: Emulator, timestamp: str
) -> None:
    answer = emulator.send("DescribeImages", headers={"X-TC-Timestamp": timestamp})
    assert answer.status == 200
    assert answer.error_code == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize(
    ("length", "code"),
    [
        ("\u00b2", "InvalidParameter"),  # str.isdigit takes it, int refuses it
        ("12a", "InvalidParameter"),
        ("9" * 5000, "RequestSizeLimitExceeded"),
        (str(11 * 1024 * 1024), "RequestSizeLimitExceeded"),
    ],
    ids=["superscript-two", "not-a-number", "5000-digits", "11-MiB"],
)
def test_bad_content_length_is_an_api_error(emulator: Emulator, length: str, code: str) -> None:
    answer = emulator.send("DescribeImages", headers={"Content-Length": length}, body=b"")
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.error_code == code


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_are_unsupported_protocol_in_the_envelope(
    emulator: Emulator, method: str
) -> None:
    """Not the HTTP server's 501 HTML page: the SDK reads only 200 + JSON."""
    answer = emulator.send("DescribeImages", method=method)
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.error_code == "UnsupportedProtocol"
    assert method in answer.body["Response"]["Error"]["Message"]


def test_head_is_unsupported_protocol_without_a_body(emulator: Emulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request("HEAD", "/")
        response = connection.getresponse()
        assert response.read() == b""
    finally:
        connection.close()
    assert (response.status, response.getheader("Content-Type")) == (200, "application/json")


@pytest.mark.parametrize("path", ["/foo", "/v3", "/index.html", "/foo/"])
def test_only_the_root_path_is_served(emulator: Emulator, path: str) -> None:
    """Correctly signed for its path, a request elsewhere than `/` is still refused."""
    answer = emulator.send("DescribeImages", path=path)
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.error_code == "InvalidRequest"
    assert emulator.send("DescribeImages", path="/").error_code is None


def test_the_connection_stays_usable_after_a_refusal(emulator: Emulator) -> None:
    """A body refused unread must not be taken for the next request on a kept-alive connection."""
    keys = emulator.keys()
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request(
            "PUT", "/", body=b'{"Limit": 1}', headers={"Content-Type": "application/json"}
        )
        first = connection.getresponse()
        assert json.loads(first.read())["Response"]["Error"]["Code"] == "UnsupportedProtocol"
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Host": f"127.0.0.1:{emulator.port}",
            "X-TC-Action": "DescribeImageQuota",
            "X-TC-Version": "2017-03-12",
            "X-TC-Region": "ap-guangzhou",
            "X-TC-Timestamp": str(timestamp),
        }
        headers["Authorization"] = authorization_header(
            secret_id=keys.secret_id,
            secret_key=keys.secret_key,
            service="cvm",
            timestamp=timestamp,
            request=SignedRequest("POST", "/", "", headers, b"{}"),
        )
        connection.request("POST", "/", body=b"{}", headers=headers)
        second = connection.getresponse()
        assert "Error" not in json.loads(second.read())["Response"]
    finally:
        connection.close()


@pytest.mark.parametrize(
    "query", ["ImageIds.%C2%B2=img-aaaaaaaa", "ImageIds." + "9" * 5000 + "=img-aaaaaaaa"]
)
def test_odd_list_indexes_in_a_get_are_refused_not_internal_errors(
    emulator: Emulator, query: str
) -> None:
    answer = emulator.send(
        "DescribeImages",
        method="GET",
        query=query,
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.error_code is not None
    assert answer.error_code.startswith(("InvalidParameter", "UnknownParameter")), answer.body


def test_a_crash_inside_the_server_is_the_one_internal_error_message(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> dict[str, object]:
        raise RuntimeError("bug")

    monkeypatch.setattr(CloudRequestHandler, "_dispatch_verified", explode)
    answer = emulator.send("DescribeImages")
    assert answer.error_code == "InternalError"
    assert answer.body["Response"]["Error"]["Message"] == INTERNAL_ERROR_MESSAGE
