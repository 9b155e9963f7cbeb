"""The per-stack apply lock, in SQLite (local cloud) and as a lock file (real cloud)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.engine.clock import VirtualClock
from reconciler.engine.lock import FileLockStore, LockStore, SqliteLockStore, held
from reconciler.errors import LockError, LockNotFoundError

CLOCK = VirtualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp())


@pytest.fixture(params=["sqlite", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LockStore:
    if request.param == "sqlite":
        return SqliteLockStore(tmp_path / "cloud.db")
    return FileLockStore(tmp_path)


def test_a_second_apply_is_refused_naming_the_holder(store: LockStore) -> None:
    lock = store.acquire("prod", owner="alice", host="laptop", clock=CLOCK)
    assert (lock.stack, lock.owner, lock.host, lock.created_at) == (
        "prod",
        "alice",
        "laptop",
        "2026-03-01T12:00:00Z",
    )
    with pytest.raises(LockError) as refused:
        store.acquire("prod", owner="bob", host="ci")
    message = str(refused.value)
    assert "alice@laptop" in message
    assert lock.id in message
    assert refused.value.lock_id == lock.id  # the CLI adds `reconciler unlock ID PATH`
    assert store.current("prod") == lock


def test_release_frees_the_stack(store: LockStore) -> None:
    lock = store.acquire("prod")
    store.release(lock)
    assert store.current("prod") is None
    again = store.acquire("prod")
    assert again.id != lock.id


def test_force_unlock_removes_a_stale_lock_by_id(store: LockStore) -> None:
    stale = store.acquire("prod", owner="crashed")
    with pytest.raises(LockNotFoundError, match="no apply lock with ID nope"):
        store.force_unlock("nope")
    assert store.force_unlock(stale.id).owner == "crashed"
    assert store.current("prod") is None
    store.release(stale)  # the crashed apply's late release must not fail
    store.acquire("prod")


def test_release_does_not_remove_a_newer_holders_lock(store: LockStore) -> None:
    old = store.acquire("prod")
    store.force_unlock(old.id)
    new = store.acquire("prod")
    store.release(old)
    assert store.current("prod") == new


def test_held_releases_on_error(store: LockStore) -> None:
    seen: list[object] = []

    def apply_that_crashes() -> None:
        with held(store, "prod", clock=CLOCK) as lock:
            assert lock.created_at == "2026-03-01T12:00:00Z"
            seen.append(store.current("prod"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        apply_that_crashes()
    assert seen[0] is not None
    assert store.current("prod") is None


def test_only_one_of_many_concurrent_applies_gets_the_lock(store: LockStore) -> None:
    winners: list[str] = []
    refusals: list[str] = []
    guard = threading.Lock()

    def attempt(n: int) -> None:
        try:
            lock = store.acquire("prod", owner=f"apply-{n}")
        except LockError as exc:
            with guard:
                refusals.append(str(exc))
        else:
            with guard:
                winners.append(lock.owner)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(refusals) == 7


def test_sqlite_locks_are_per_stack_in_a_shared_database(tmp_path: Path) -> None:
    store = SqliteLockStore(tmp_path / "cloud.db")
    store.acquire("prod")
    store.acquire("staging")
    assert store.current("prod") is not None
    assert store.current("staging") is not None


def test_the_lock_file_is_json_beside_the_manifests(tmp_path: Path) -> None:
    lock = FileLockStore(tmp_path).acquire("prod", owner="alice", host="h", clock=CLOCK)
    record = json.loads((tmp_path / ".reconciler" / "lock.json").read_text())
    assert record == {
        "id": lock.id,
        "stack": "prod",
        "owner": "alice",
        "host": "h",
        "created_at": "2026-03-01T12:00:00Z",
    }


def test_a_corrupt_lock_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ".reconciler" / "lock.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(LockError, match=r"lock\.json: unreadable lock file"):
        FileLockStore(tmp_path).acquire("prod")


def test_a_reader_never_sees_a_half_written_lock_file(tmp_path: Path) -> None:
    """The lock file appears complete or not at all: a concurrent reader is never told that an
    empty file is an "unreadable lock file" (the advice to delete it would be wrong)."""
    store = FileLockStore(tmp_path)
    stop = threading.Event()
    unreadable: list[str] = []

    def read_while_others_lock() -> None:
        while not stop.is_set():
            try:
                store.current("prod")
            except LockError as exc:
                unreadable.append(str(exc))

    def lock_and_release() -> None:
        for _ in range(200):
            try:
                lock = store.acquire("prod", owner="a", host="h")
            except LockError as exc:
                if "unreadable" in str(exc):
                    unreadable.append(str(exc))
            else:
                store.release(lock)

    readers = [threading.Thread(target=read_while_others_lock) for _ in range(2)]
    writers = [threading.Thread(target=lock_and_release) for _ in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert unreadable == []
    assert list((tmp_path / ".reconciler").iterdir()) == []  # no temporary file left behind
