"""Tencent Cloud API error codes → the reconciler's error classes (retryable or not, SPEC §7)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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

_Rule = tuple[Callable[[str], bool], type[ProviderError]]


def _exact(*codes: str) -> Callable[[str], bool]:
    return lambda code: code in codes


def _prefix(*prefixes: str) -> Callable[[str], bool]:
    return lambda code: code.startswith(prefixes)


def _suffix(*suffixes: str) -> Callable[[str], bool]:
    return lambda code: code.endswith(suffixes)


# Most specific first: the first matching rule wins. Only the transient group is retryable.
_RULES: tuple[_Rule, ...] = (
    (_prefix("RequestLimitExceeded"), ThrottledError),
    (_exact("ClientNetworkError", "ServerNetworkError", "NetworkError"), NetworkError),
    (
        _prefix("InternalError", "ResourceInUse", "ResourceBusy", "MutexOperation.TaskRunning"),
        TransientError,
    ),
    (_prefix("AuthFailure", "UnauthorizedOperation"), AuthError),
    (
        _exact("InvalidImageName.Duplicate", "FailedOperation.AccountAlreadyExists"),
        AlreadyExistsError,
    ),
    (_suffix(".NotFound"), NotFoundError),
    (_exact("ResourceNotFound"), NotFoundError),
    (_suffix("IncorrectState", "InvalidImageState", ".InShared"), InvalidStateError),
    (_exact("ImageQuotaLimitExceeded", "OverQuota"), QuotaExceededError),
    (_prefix("LimitExceeded"), QuotaExceededError),
    (
        _prefix("InvalidParameter", "MissingParameter", "UnknownParameter", "InvalidFilter"),
        InvalidRequestError,
    ),
    (_suffix(".Malformed"), InvalidRequestError),
)

REGION_ERROR_CODES = frozenset(
    {
        "InvalidRegion.NotFound",
        "InvalidRegion.Unavailable",
        "UnsupportedRegion",
        "InvalidParameterValue.InvalidRegion",
        "UnsupportedOperation.Region",
    }
)
"""Codes meaning "this region does not answer for this account": observing skips the region."""


def error_class_for(code: str) -> type[ProviderError]:
    """The error class of a Tencent Cloud error code (ProviderError when none is more specific)."""
    for matches, cls in _RULES:
        if matches(code):
            return cls
    return ProviderError


def error_from_code(code: str, message: str, request_id: str = "") -> ProviderError:
    """Build the mapped exception for one API error answer."""
    return error_class_for(code)(code, message, request_id)


def is_region_error(error: ProviderError) -> bool:
    """True when the error says the region itself is unknown or unavailable."""
    return error.code in REGION_ERROR_CODES


def unwrap_response(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The `Response` object of an API answer; raises the mapped error for an error answer."""
    response = envelope.get("Response")
    if not isinstance(response, dict):
        raise ProviderError("InvalidResponse", "the answer has no Response object")
    error = response.get("Error")
    if isinstance(error, Mapping):
        raise error_from_code(
            str(error.get("Code", "")),
            str(error.get("Message", "")),
            str(response.get("RequestId", "")),
        )
    return response
