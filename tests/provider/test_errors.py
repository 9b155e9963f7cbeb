"""The Tencent Cloud error code → error class table (SPEC §7)."""

from __future__ import annotations

import pytest

from reconciler.errors import (
    AlreadyExistsError,
    AuthError,
    InvalidRequestError,
    InvalidStateError,
    NetworkError,
    NotFoundError,
    ProviderError,
    QuotaExceededError,
    ThrottledError,
    TransientError,
)
from reconciler.provider.errors import (
    error_class_for,
    error_from_code,
    is_region_error,
    unwrap_response,
)

TABLE: list[tuple[str, type[ProviderError]]] = [
    ("RequestLimitExceeded", ThrottledError),
    ("RequestLimitExceeded.UinLimitExceeded", ThrottledError),
    ("RequestLimitExceeded.GlobalRegionUinLimitExceeded", ThrottledError),
    ("InternalError", TransientError),
    ("InternalError.TradeUnknownError", TransientError),
    ("ResourceInUse", TransientError),
    ("ResourceBusy", TransientError),
    ("MutexOperation.TaskRunning", TransientError),
    ("ClientNetworkError", NetworkError),
    ("ServerNetworkError", NetworkError),
    ("InvalidImageId.NotFound", NotFoundError),
    ("InvalidSnapshotId.NotFound", NotFoundError),
    ("InvalidRegion.NotFound", NotFoundError),
    ("ResourceNotFound", NotFoundError),
    ("InvalidImageName.Duplicate", AlreadyExistsError),
    ("FailedOperation.AccountAlreadyExists", AlreadyExistsError),
    ("InvalidImageId.IncorrectState", InvalidStateError),
    ("FailedOperation.InvalidImageState", InvalidStateError),
    ("InvalidParameterValue.InvalidImageState", InvalidStateError),
    ("InvalidImageId.InShared", InvalidStateError),
    ("ImageQuotaLimitExceeded", QuotaExceededError),
    ("OverQuota", QuotaExceededError),
    ("LimitExceeded.Quota", QuotaExceededError),
    ("LimitExceeded.TagNumPerRequest", QuotaExceededError),
    ("AuthFailure.SignatureFailure", AuthError),
    ("AuthFailure.SecretIdNotFound", AuthError),
    ("UnauthorizedOperation.ImageNotBelongToAccount", AuthError),
    ("InvalidParameter.SnapshotNotFound", InvalidRequestError),
    ("InvalidParameterValue.TooLarge", InvalidRequestError),
    ("InvalidParameterValue.LimitExceeded", InvalidRequestError),
    ("InvalidParameter.InvalidParameterCoexistImageIdsFilters", InvalidRequestError),
    ("MissingParameter", InvalidRequestError),
    ("UnknownParameter", InvalidRequestError),
    ("InvalidImageId.Malformed", InvalidRequestError),
    ("FailedOperation.BYOLImageShareFailed", ProviderError),
    ("UnsupportedOperation.SharedImageModifyUnsupported", ProviderError),
    ("ServiceUnavailable", ProviderError),
]


@pytest.mark.parametrize(("code", "cls"), TABLE)
def test_code_maps_to_the_most_specific_class(code: str, cls: type[ProviderError]) -> None:
    assert error_class_for(code) is cls
    error = error_from_code(code, "message", "req-1")
    assert type(error) is cls
    assert (error.code, error.message, error.request_id) == (code, "message", "req-1")


@pytest.mark.parametrize(("code", "cls"), TABLE)
def test_only_throttling_transient_and_network_errors_are_retryable(
    code: str, cls: type[ProviderError]
) -> None:
    assert error_from_code(code, "").retryable is issubclass(cls, TransientError)


def test_unwrap_returns_the_response_of_a_success() -> None:
    assert unwrap_response({"Response": {"ImageId": "img-1", "RequestId": "r"}}) == {
        "ImageId": "img-1",
        "RequestId": "r",
    }


def test_unwrap_raises_the_mapped_error_with_its_request_id() -> None:
    envelope = {
        "Response": {
            "Error": {"Code": "InvalidImageId.NotFound", "Message": "no such image"},
            "RequestId": "req-9",
        }
    }
    with pytest.raises(NotFoundError) as caught:
        unwrap_response(envelope)
    assert caught.value.request_id == "req-9"
    assert "InvalidImageId.NotFound: no such image (RequestId req-9)" in str(caught.value)


def test_unwrap_refuses_an_answer_without_a_response() -> None:
    with pytest.raises(ProviderError, match="InvalidResponse"):
        unwrap_response({"Error": "x"})


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("InvalidRegion.NotFound", True),
        ("UnsupportedRegion", True),
        ("InvalidRegion.Unavailable", True),
        ("InvalidImageId.NotFound", False),
        ("InternalError", False),
    ],
)
def test_region_errors(code: str, expected: bool) -> None:
    assert is_region_error(error_from_code(code, "")) is expected
