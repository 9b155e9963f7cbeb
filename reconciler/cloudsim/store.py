"""The SQLite database of the simulated cloud: schema, versioning and one transaction per call."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE accounts (
    uin TEXT PRIMARY KEY, secret_id TEXT NOT NULL UNIQUE, secret_key TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, zone TEXT NOT NULL,
    name TEXT NOT NULL, instance_type TEXT NOT NULL, state TEXT NOT NULL, image_id TEXT NOT NULL,
    os_name TEXT NOT NULL, platform TEXT NOT NULL, architecture TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE disks (
    disk_id TEXT PRIMARY KEY, instance_id TEXT NOT NULL REFERENCES instances ON DELETE CASCADE,
    usage TEXT NOT NULL, size INTEGER NOT NULL, position INTEGER NOT NULL);
CREATE TABLE snapshots (
    snapshot_id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, zone TEXT NOT NULL,
    disk_id TEXT NOT NULL, usage TEXT NOT NULL, size INTEGER NOT NULL, name TEXT NOT NULL,
    created_at REAL NOT NULL, ready_at REAL NOT NULL);
CREATE INDEX snapshots_by_place ON snapshots(account, region);
CREATE TABLE images (
    image_id TEXT PRIMARY KEY, owner TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, description TEXT NOT NULL, source TEXT NOT NULL, platform TEXT NOT NULL,
    os_name TEXT NOT NULL, architecture TEXT NOT NULL, size INTEGER NOT NULL,
    state TEXT NOT NULL, outcome TEXT NOT NULL, started_at REAL NOT NULL, ready_at REAL NOT NULL,
    created_at REAL NOT NULL, license_type TEXT NOT NULL, boot_mode TEXT NOT NULL,
    family TEXT NOT NULL, deprecated INTEGER NOT NULL, creator TEXT NOT NULL,
    cloudinit INTEGER NOT NULL, copied_from TEXT NOT NULL);
CREATE INDEX images_by_place ON images(region, owner);
CREATE INDEX images_busy ON images(state, ready_at);
CREATE TABLE image_snapshots (
    image_id TEXT NOT NULL REFERENCES images ON DELETE CASCADE,
    snapshot_id TEXT NOT NULL REFERENCES snapshots, position INTEGER NOT NULL,
    PRIMARY KEY (image_id, snapshot_id));
CREATE INDEX image_snapshots_by_snapshot ON image_snapshots(snapshot_id);
CREATE TABLE image_shares (
    image_id TEXT NOT NULL REFERENCES images ON DELETE CASCADE, account TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (image_id, account));
CREATE INDEX image_shares_by_account ON image_shares(account);
CREATE TABLE tags (
    account TEXT NOT NULL, region TEXT NOT NULL, service TEXT NOT NULL, prefix TEXT NOT NULL,
    resource_id TEXT NOT NULL, tag_key TEXT NOT NULL, tag_value TEXT NOT NULL,
    PRIMARY KEY (account, region, service, prefix, resource_id, tag_key));
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE faults (
    action TEXT PRIMARY KEY, code TEXT NOT NULL, message TEXT NOT NULL,
    probability REAL, remaining INTEGER);
CREATE TABLE throttles (action TEXT PRIMARY KEY, rate REAL NOT NULL);
CREATE TABLE latencies (action TEXT PRIMARY KEY, ms INTEGER NOT NULL);
CREATE TABLE call_log (action TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,
    at REAL NOT NULL);
CREATE INDEX call_log_by_action ON call_log(action, account, region, at);
"""

CLOUD_TABLES: tuple[str, ...] = (
    "image_shares",
    "image_snapshots",
    "images",
    "snapshots",
    "disks",
    "instances",
    "accounts",
    "tags",
    "faults",
    "throttles",
    "latencies",
    "call_log",
    "counters",
)
"""Tables `reset` empties (settings are kept; other tools' tables in the file are untouched)."""


class CloudDatabaseError(sqlite3.DatabaseError):
    """The file is not a usable simulated-cloud database: `path` and what is wrong with it.

    A `sqlite3.DatabaseError`, so that callers catching `sqlite3.Error` still catch it; the
    commands report it as a user error (a located message, exit 1), never as a bug.
    """

    def __init__(self, path: str, reason: str, *, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint or (
            "pass another --db (or RECONCILER_CLOUD_DB), or remove the file to start afresh"
        )
        super().__init__(f"{path}: {reason}; {self.hint}")


class SchemaVersionError(CloudDatabaseError):
    """The database was written by a newer version of the simulated cloud."""


def _unusable(path: str, error: sqlite3.Error) -> CloudDatabaseError:
    """What an SQLite error on opening or first use of `path` means for the user."""
    if isinstance(error, CloudDatabaseError):
        return error
    if isinstance(error, sqlite3.OperationalError):  # unopenable, locked, read-only, ...
        return CloudDatabaseError(
            path,
            f"cannot use the simulated-cloud database ({error})",
            hint="check the path and its permissions, or pass another --db "
            "(or RECONCILER_CLOUD_DB)",
        )
    return CloudDatabaseError(path, f"not a reconciler simulated-cloud database ({error})")


class Store:
    """One SQLite connection (WAL) shared by threads under a lock; `BEGIN IMMEDIATE` per call
    serialises concurrent processes, so a crash never leaves half a change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise _unusable(self.path, error) from None
        try:
            self._conn.row_factory = sqlite3.Row
            # Refused before anything is written (journal_mode=WAL rewrites the file header).
            self._check_version(int(self._conn.execute("PRAGMA user_version").fetchone()[0]))
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as error:
            self._conn.close()
            raise _unusable(self.path, error) from None

    def initialize(self, seed: Callable[[sqlite3.Connection], None]) -> None:
        """Create the schema and run `seed` once, atomically, on a new database.

        Raises CloudDatabaseError (the connection closed) when the file is not a usable
        simulated-cloud database: not SQLite, damaged, or written by a newer reconciler.
        """
        try:
            with self.transaction() as db:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                self._check_version(version)
                if version == 0:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    seed(db)
        except sqlite3.Error as error:
            self.close()
            raise _unusable(self.path, error) from None

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                self.path,
                f"simulated-cloud schema version {version} is newer than this reconciler "
                f"understands ({SCHEMA_VERSION})",
                hint="upgrade reconciler, or pass another --db (or RECONCILER_CLOUD_DB)",
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def savepoint(self, db: sqlite3.Connection) -> Iterator[None]:
        """A nested unit inside a transaction: undone alone if the block raises."""
        db.execute("SAVEPOINT call")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK TO call")
            db.execute("RELEASE call")
            raise
        db.execute("RELEASE call")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
