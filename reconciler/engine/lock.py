"""The per-stack apply lock: in the local cloud's SQLite database, or a file for the real cloud.

Correctness never depends on the lock (SPEC §7: apply is level-triggered); it only keeps two
applies of one stack from interleaving by accident. `reconciler unlock ID` removes a stale one.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from reconciler.engine.clock import Clock, SystemClock
from reconciler.errors import LockError, LockNotFoundError

LOCK_FILE = Path(".reconciler") / "lock.json"
"""Where the real cloud's lock lives, relative to the stack (manifest) directory."""
LOCK_TABLE = "reconciler_apply_lock"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lock:
    """A held apply lock."""

    id: str
    stack: str
    owner: str
    host: str
    created_at: str
    """ISO-8601 UTC."""
    location: str = ""
    """Where it is kept (database or file path), for messages."""

    def describe(self) -> str:
        return f"{self.owner}@{self.host} since {self.created_at} (lock ID {self.id})"


class LockStore(Protocol):
    """Where a stack's apply lock is kept."""

    def acquire(
        self,
        stack: str,
        *,
        owner: str | None = None,
        host: str | None = None,
        clock: Clock | None = None,
    ) -> Lock:
        """Take the lock or raise LockError naming the holder; `created_at` is read from `clock`
        (the system clock if none)."""
        ...

    def release(self, lock: Lock) -> None:
        """Give a held lock back (no-op if it was force-unlocked meanwhile)."""
        ...

    def force_unlock(self, lock_id: str) -> Lock:
        """Remove the lock with this ID whoever holds it; LockNotFoundError if there is none."""
        ...

    def current(self, stack: str) -> Lock | None:
        """The lock held on `stack`, if any."""
        ...


def _new_lock(
    stack: str, owner: str | None, host: str | None, clock: Clock | None, location: str
) -> Lock:
    now = datetime.fromtimestamp((clock or SystemClock()).now(), UTC)
    return Lock(
        id=str(uuid.uuid4()),
        stack=stack,
        owner=owner or _current_user(),
        host=host or socket.gethostname(),
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        location=location,
    )


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid-{os.getuid()}"


def _refusal(holder: Lock) -> LockError:
    """The refusal naming the holder; the CLI adds the `reconciler unlock` command to run, with
    the stack's PATH as the user gave it (known only there)."""
    return LockError(
        f"the apply lock of stack {holder.stack!r} is held by {holder.describe()} in "
        f"{holder.location}: another apply is running.",
        lock_id=holder.id,
    )


def _no_such_lock(lock_id: str, location: str) -> LockNotFoundError:
    return LockNotFoundError(f"no apply lock with ID {lock_id} in {location}")


class SqliteLockStore:
    """The lock in the local simulated cloud's database (its own table)."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = str(db_path)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (stack TEXT PRIMARY KEY, "
                "id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, host TEXT NOT NULL, "
                "created_at TEXT NOT NULL)"
            )
            yield connection
        finally:
            connection.close()

    def _row_lock(self, row: tuple[str, str, str, str, str]) -> Lock:
        stack, lock_id, owner, host, created_at = row
        return Lock(
            id=lock_id,
            stack=stack,
            owner=owner,
            host=host,
            created_at=created_at,
            location=self.db_path,
        )

    def acquire(
        self,
        stack: str,
        *,
        owner: str | None = None,
        host: str | None = None,
        clock: Clock | None = None,
    ) -> Lock:
        lock = _new_lock(stack, owner, host, clock, self.db_path)
        with self._connect() as db:
            try:
                db.execute(
                    f"INSERT INTO {LOCK_TABLE} (stack, id, owner, host, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (lock.stack, lock.id, lock.owner, lock.host, lock.created_at),
                )
            except sqlite3.IntegrityError:
                holder = self._select(db, "stack", stack)
                if holder is None:  # released in between: try once more
                    return self.acquire(stack, owner=owner, host=host, clock=clock)
                raise _refusal(holder) from None
        return lock

    def _select(self, db: sqlite3.Connection, column: str, value: str) -> Lock | None:
        row = db.execute(
            f"SELECT stack, id, owner, host, created_at FROM {LOCK_TABLE} WHERE {column} = ?",
            (value,),
        ).fetchone()
        return None if row is None else self._row_lock(row)

    def release(self, lock: Lock) -> None:
        with self._connect() as db:
            db.execute(f"DELETE FROM {LOCK_TABLE} WHERE id = ?", (lock.id,))

    def force_unlock(self, lock_id: str) -> Lock:
        with self._connect() as db:
            held = self._select(db, "id", lock_id)
            if held is None:
                raise _no_such_lock(lock_id, self.db_path)
            db.execute(f"DELETE FROM {LOCK_TABLE} WHERE id = ?", (lock_id,))
        return held

    def current(self, stack: str) -> Lock | None:
        with self._connect() as db:
            return self._select(db, "stack", stack)


class FileLockStore:
    """The lock as `.reconciler/lock.json` beside the manifests.

    `acquire` writes the record to a temporary file in the same directory and hard-links it into
    place (atomic create-if-absent), so a reader sees a complete lock file or none at all.
    `release` and `force_unlock` read the file, then unlink it: if the lock is force-unlocked and
    taken by another apply between the two, that newer lock is removed. Accepted: it needs a
    human to force-unlock a running apply at that instant, and correctness never depends on the
    lock (SPEC §7).
    """

    def __init__(self, stack_dir: str | os.PathLike[str]) -> None:
        self.path = Path(stack_dir) / LOCK_FILE

    def _read(self) -> Lock | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LockError(
                f"{self.path}: unreadable lock file ({exc}); delete it if no apply is running"
            ) from exc
        return Lock(
            id=str(data.get("id", "")),
            stack=str(data.get("stack", "")),
            owner=str(data.get("owner", "")),
            host=str(data.get("host", "")),
            created_at=str(data.get("created_at", "")),
            location=str(self.path),
        )

    def acquire(
        self,
        stack: str,
        *,
        owner: str | None = None,
        host: str | None = None,
        clock: Clock | None = None,
    ) -> Lock:
        lock = _new_lock(stack, owner, host, clock, str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {k: v for k, v in asdict(lock).items() if k != "location"}
        temporary = self.path.with_name(f"{self.path.name}.{lock.id}.tmp")
        try:
            temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            os.link(temporary, self.path)
        except FileExistsError:
            holder = self._read()
            if holder is None:
                return self.acquire(stack, owner=owner, host=host, clock=clock)
            raise _refusal(holder) from None
        finally:
            temporary.unlink(missing_ok=True)
        return lock

    def release(self, lock: Lock) -> None:
        held = self._read()
        if held is not None and held.id == lock.id:
            self.path.unlink(missing_ok=True)

    def force_unlock(self, lock_id: str) -> Lock:
        held = self._read()
        if held is None or held.id != lock_id:
            raise _no_such_lock(lock_id, str(self.path))
        self.path.unlink(missing_ok=True)
        return held

    def current(self, stack: str) -> Lock | None:
        held = self._read()
        return held if held is not None and held.stack == stack else None


@contextlib.contextmanager
def held(store: LockStore, stack: str, *, clock: Clock | None = None) -> Iterator[Lock]:
    """Hold the stack's lock for the duration of a `with` block (released on any exit)."""
    lock = store.acquire(stack, clock=clock)
    try:
        yield lock
    finally:
        store.release(lock)
