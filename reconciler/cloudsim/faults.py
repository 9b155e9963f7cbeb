"""Fault injection: per-action error codes (by probability or for the next N calls), throttling
by a per-action rate limit (`RequestLimitExceeded`), and added latency. `*` means every action."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass

from reconciler.cloudsim.errors import ApiError

ANY_ACTION = "*"
THROTTLE_WINDOW_SECONDS = 1.0
_MESSAGES = {
    "RequestLimitExceeded": "The number of requests exceeds the frequency limit.",
    "InternalError": "An internal error has occurred. Retry your request.",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected error: always, with a probability, or for the next `remaining` calls."""

    action: str
    code: str
    message: str
    probability: float | None
    remaining: int | None


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Every fault, throttle (requests per second) and latency (milliseconds) in force."""

    faults: tuple[Fault, ...]
    throttles: tuple[tuple[str, float], ...]
    latencies: tuple[tuple[str, int], ...]


def default_message(code: str) -> str:
    """The message the real API gives for a common code (a generic one otherwise)."""
    return _MESSAGES.get(code, f"Injected fault {code}.")


def set_fault(
    db: sqlite3.Connection,
    action: str,
    code: str,
    *,
    probability: float | None = None,
    count: int | None = None,
    message: str | None = None,
) -> None:
    """Make `action` fail with `code`: with `probability`, for the next `count` calls, or always."""
    if probability is not None and count is not None:
        raise ValueError("give a probability or a count, not both")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise ValueError("probability must be between 0 and 1")
    if count is not None and count < 1:
        raise ValueError("count must be at least 1")
    db.execute(
        "INSERT INTO faults VALUES (?, ?, ?, ?, ?) ON CONFLICT(action) DO UPDATE SET "
        "code=excluded.code, message=excluded.message, probability=excluded.probability, "
        "remaining=excluded.remaining",
        (action, code, message or default_message(code), probability, count),
    )


def set_throttle(db: sqlite3.Connection, action: str, rate_per_second: float) -> None:
    """Allow at most `rate_per_second` calls of `action` per account and region each second."""
    if rate_per_second <= 0:
        raise ValueError("rate must be positive")
    db.execute(
        "INSERT INTO throttles VALUES (?, ?) ON CONFLICT(action) DO UPDATE SET rate=excluded.rate",
        (action, rate_per_second),
    )


def set_latency(db: sqlite3.Connection, action: str, ms: int) -> None:
    """Add `ms` milliseconds to every call of `action`."""
    if ms < 0:
        raise ValueError("latency must not be negative")
    db.execute(
        "INSERT INTO latencies VALUES (?, ?) ON CONFLICT(action) DO UPDATE SET ms=excluded.ms",
        (action, ms),
    )


def clear(db: sqlite3.Connection) -> None:
    """Remove every fault, throttle and latency."""
    for table in ("faults", "throttles", "latencies", "call_log"):
        db.execute(f"DELETE FROM {table}")


def config(db: sqlite3.Connection) -> FaultConfig:
    """What is in force now."""
    return FaultConfig(
        faults=tuple(
            Fault(r["action"], r["code"], r["message"], r["probability"], r["remaining"])
            for r in db.execute("SELECT * FROM faults ORDER BY action")
        ),
        throttles=tuple(
            (r[0], r[1]) for r in db.execute("SELECT action, rate FROM throttles ORDER BY action")
        ),
        latencies=tuple(
            (r[0], r[1]) for r in db.execute("SELECT action, ms FROM latencies ORDER BY action")
        ),
    )


def latency_ms(db: sqlite3.Connection, action: str) -> int:
    """The added latency of `action` (its own, else the `*` one, else 0)."""
    row = _for_action(db, "SELECT ms FROM latencies WHERE action=?", action)
    return int(row[0]) if row else 0


def check_throttle(
    db: sqlite3.Connection, action: str, account: str, region: str, now: float
) -> None:
    """Count this call; `RequestLimitExceeded` when the action's rate is exceeded."""
    db.execute("DELETE FROM call_log WHERE at <= ?", (now - THROTTLE_WINDOW_SECONDS,))
    row = _for_action(db, "SELECT rate FROM throttles WHERE action=?", action)
    if row is None:
        return
    recent = db.execute(
        "SELECT COUNT(*) FROM call_log WHERE action=? AND account=? AND region=? AND at > ?",
        (action, account, region, now - THROTTLE_WINDOW_SECONDS),
    ).fetchone()[0]
    if recent >= row[0]:
        raise ApiError("RequestLimitExceeded", default_message("RequestLimitExceeded"))
    db.execute("INSERT INTO call_log VALUES (?, ?, ?, ?)", (action, account, region, now))


def check_fault(db: sqlite3.Connection, action: str, rng: random.Random) -> None:
    """Raise the injected error of `action` when it fires (counting down `next N calls`)."""
    row = _for_action(db, "SELECT * FROM faults WHERE action=?", action)
    if row is None:
        return
    if row["remaining"] is not None:
        if row["remaining"] <= 1:
            db.execute("DELETE FROM faults WHERE action=?", (row["action"],))
        else:
            db.execute(
                "UPDATE faults SET remaining = remaining - 1 WHERE action=?", (row["action"],)
            )
    elif row["probability"] is not None and rng.random() >= row["probability"]:
        return
    raise ApiError(row["code"], row["message"])


def _for_action(db: sqlite3.Connection, query: str, action: str) -> sqlite3.Row | None:
    row = db.execute(query, (action,)).fetchone()
    if row is None:
        row = db.execute(query, (ANY_ACTION,)).fetchone()
    return row  # type: ignore[no-any-return]
