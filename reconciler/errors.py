"""The reconciler's exception hierarchy; every user-visible failure is one of these.

    ReconcilerError
    ├─ UsageError                      bad command-line input
    ├─ ManifestError (problems)        manifests unreadable or invalid: all problems at once
    ├─ PlanError                       the plan can't be made or applied (protect, quota, ...)
    │  └─ StalePlanError               the cloud changed since the plan was made
    ├─ LockError (lock_id)             another apply holds the stack's lock
    │  └─ LockNotFoundError            unlock: no apply lock has that ID
    ├─ CredentialsError                no credentials for the real cloud
    ├─ ProviderError (code, message, request_id)
    │  ├─ TransientError  [retryable]
    │  │  ├─ NetworkError
    │  │  └─ ThrottledError
    │  ├─ NotFoundError
    │  ├─ AlreadyExistsError
    │  ├─ InvalidStateError
    │  ├─ QuotaExceededError
    │  ├─ AuthError
    │  └─ InvalidRequestError

Retrying is a property of the class (`retryable`), decided once where API errors are mapped
(reconciler.provider.errors) and acted on once, in the executor.
"""

from __future__ import annotations

from typing import ClassVar


class ReconcilerError(Exception):
    """Base of every error a user can cause or meet; the CLI prints it without a traceback."""


class UsageError(ReconcilerError):
    """Bad command-line input."""


class ManifestError(ReconcilerError):
    """The manifests can't be loaded or are invalid; `problems` lists every one."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the manifests")


class PlanError(ReconcilerError):
    """The plan can't be made or applied."""


class StalePlanError(PlanError):
    """The cloud changed since the plan was made, or the plan expired."""


class LockError(ReconcilerError):
    """Another apply holds the stack's lock; `lock_id` is the holder's lock ID when known."""

    def __init__(self, message: str, *, lock_id: str | None = None) -> None:
        super().__init__(message)
        self.lock_id = lock_id


class LockNotFoundError(LockError):
    """`unlock` named a lock ID that no apply lock of the stack has (nothing is locked by it)."""


class CredentialsError(ReconcilerError):
    """No usable credentials for the real cloud."""


class ProviderError(ReconcilerError):
    """An API call failed; `code` is the Tencent Cloud error code."""

    retryable: ClassVar[bool] = False

    def __init__(self, code: str, message: str, request_id: str = "") -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        suffix = f" (RequestId {request_id})" if request_id else ""
        super().__init__(f"{code}: {message}{suffix}")


class TransientError(ProviderError):
    """Worth retrying with backoff: throttling, internal errors, busy resources, network."""

    retryable: ClassVar[bool] = True


class NetworkError(TransientError):
    """The request did not get an API answer."""


class ThrottledError(TransientError):
    """RequestLimitExceeded*."""


class NotFoundError(ProviderError):
    """The resource does not exist (a delete treats it as done)."""


class AlreadyExistsError(ProviderError):
    """A name or share that already exists (create adopts; share counts as done)."""


class InvalidStateError(ProviderError):
    """The resource is in a state that does not allow the action."""


class QuotaExceededError(ProviderError):
    """A quota or limit would be exceeded."""


class AuthError(ProviderError):
    """Credentials refused or not allowed."""


class InvalidRequestError(ProviderError):
    """The request itself is wrong; permanent."""
