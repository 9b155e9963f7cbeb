"""The one place that turns a ReconcilerError into a message on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from reconciler.errors import (
    CredentialsError,
    LockError,
    LockNotFoundError,
    ManifestError,
    ProviderError,
    ReconcilerError,
    StalePlanError,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def error_lines(error: ReconcilerError) -> list[str]:
    """What the user reads for this error: every problem of a ManifestError, else one message."""
    if isinstance(error, ManifestError):
        return [str(problem) for problem in error.problems] + [f"Error: {error}"]
    if isinstance(error, StalePlanError):
        lines = str(error).splitlines()
        if len(lines) == 1:
            return [f"Error: the plan is stale: {lines[0].strip()}"]
        return ["Error: the plan is stale:", *lines]
    if isinstance(error, LockNotFoundError):  # nothing is locked: not "the stack is locked"
        return [f"Error: {error} (nothing to unlock)"]
    if isinstance(error, LockError):
        return [f"Error: the stack is locked: {error}"]
    if isinstance(error, CredentialsError):
        return [f"Error: credentials: {error}"]
    if isinstance(error, ProviderError):
        return [f"Error: cloud API error {error}"]
    return [f"Error: {error}"]


def fail(error: ReconcilerError) -> NoReturn:
    """Print the error on stderr and exit 1 (every error is 1; SPEC §5)."""
    for line in error_lines(error):
        click.echo(line, err=True)
    sys.exit(EXIT_ERROR)


def _is_unusable_cloud_database(error: Exception) -> bool:
    """Whether `error` is the simulated cloud refusing its database file (a user error)."""
    if "reconciler.cloudsim.store" not in sys.modules:  # never imported: it can't be that
        return False
    from reconciler.cloudsim.store import CloudDatabaseError

    return isinstance(error, CloudDatabaseError)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command body; a ReconcilerError becomes its message and exit code 1, no traceback.

    So does a simulated-cloud database file that is unusable (not SQLite, damaged, newer):
    the local cloud can be opened by several paths (`--db`, RECONCILER_CLOUD_DB, the Stack's
    `provider.path`, `cloud serve`), and each reports it here, naming the file.
    """
    try:
        yield
    except ReconcilerError as error:
        fail(error)
    except Exception as error:
        if not _is_unusable_cloud_database(error):
            raise
        click.echo(f"Error: {error}", err=True)
        sys.exit(EXIT_ERROR)
