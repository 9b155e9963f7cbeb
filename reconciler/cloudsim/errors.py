"""API errors of the simulated cloud: a Tencent Cloud error code and its message."""

from __future__ import annotations

INTERNAL_ERROR_MESSAGE = "An internal error has occurred. Retry your request."
"""The message of every `InternalError` (a crash inside the cloud, or an injected fault)."""


class ApiError(Exception):
    """An API-level failure; the dispatcher turns it into the `Response.Error` envelope."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
