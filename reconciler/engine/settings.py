"""How an apply runs: parallelism, retry policy, wait timeouts and polling (frozen settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.errors import UsageError


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, applied only to retryable (transient) errors."""

    attempts: int = 5
    """Calls per step at most, the first one included (1 = never retry)."""
    base_delay: float = 1.0
    """Seconds before the first retry; doubled after each further failure."""
    max_delay: float = 30.0
    """Upper bound of one delay, in seconds, before jitter."""
    jitter: float = 0.5
    """Fraction of each delay taken off at random (0 = exact delays, 1 = full jitter)."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise UsageError("retry attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise UsageError("retry jitter must be between 0 and 1")

    def delay(self, failed_attempts: int, random_fraction: float) -> float:
        """Seconds to wait after `failed_attempts` failures; `random_fraction` is in [0, 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (failed_attempts - 1))
        return ceiling * (1.0 - self.jitter * random_fraction)


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitTimeouts:
    """How long a `Wait` step may wait for NORMAL, by the operation that made the image."""

    create_image: float = 2 * 3600.0
    """After CreateImage (CREATING → NORMAL), seconds."""
    import_image: float = 3 * 3600.0
    """After ImportImage (IMPORTING → NORMAL), seconds."""
    sync_images: float = 2 * 3600.0
    """After SyncImages, for the source and each copy (SYNCING → NORMAL); copies take 10-30 min."""
    other: float = 2 * 3600.0
    """Any other wait, e.g. for an image found busy by the plan, seconds."""

    def for_operation(self, operation: str) -> float:
        """The timeout of a wait on an image made by `operation`."""
        return {
            "CreateImage": self.create_image,
            "ImportImage": self.import_image,
            "SyncImages": self.sync_images,
        }.get(operation, self.other)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutorSettings:
    """Everything the executor needs to know besides the steps."""

    parallelism: int = 10
    """API operations in flight at once (`--parallelism`); waits don't count."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Backoff for throttling and transient errors."""
    wait_timeouts: WaitTimeouts = field(default_factory=WaitTimeouts)
    """Per-operation limits of `Wait` steps."""
    poll_interval: float = 5.0
    """Seconds between two DescribeImages polls of one region while steps wait there."""
    missing_polls: int = 3
    """Consecutive polls that must miss an awaited image before the wait fails as disappeared."""

    def __post_init__(self) -> None:
        if self.parallelism < 1:
            raise UsageError(f"--parallelism must be at least 1, got {self.parallelism}")
        if self.poll_interval <= 0:
            raise UsageError("the poll interval must be positive")
        if self.missing_polls < 1:
            raise UsageError("missing_polls must be at least 1")
