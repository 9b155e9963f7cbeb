"""Fault injection: per-action error codes (by probability or for the next N calls), throttling
by a per-action rate limit (`RequestLimitExceeded`), and added latency. `*` means every action.

Every setter checks its input and raises ValueError with a clear message: the action must be one
the dispatcher serves (or `*`, so a typo can't silently never fire), the code an API error code
(`InternalError`, `InvalidImageId.NotFound`), the rate finite and positive, the latency 0 to
600000 ms, the probability in [0, 1], the count at least 1.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from reconciler.cloudsim.errors import INTERNAL_ERROR_MESSAGE, ApiError

ANY_ACTION = "*"
THROTTLE_WINDOW_SECONDS = 1.0
MAX_LATENCY_MS = 600_000
"""At most ten minutes of added latency per call."""
MAX_COUNT = 1_000_000_000
"""At most this many next calls fail (it must fit the database's integers)."""
ERROR_CODE = re.compile(r"[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*")
"""The shape of an API error code: `InternalError`, `InvalidParameterValue.LimitExceeded`."""
_MESSAGES = {
    "RequestLimitExceeded": "The number of requests exceeds the frequency limit.",
    "InternalError": INTERNAL_ERROR_MESSAGE,
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


def check_action(action: str, known: Collection[str]) -> None:
    """ValueError unless `action` is `*` or one of the `known` actions."""
    if action == ANY_ACTION or action in known:
        return
    close = sorted(name for name in known if name.lower() == str(action).lower())
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ValueError(f"unknown action {action!r}{hint}; use `*` or an action of the API")


def check_code(code: str) -> None:
    """ValueError unless `code` looks like an API error code (`InvalidImageId.NotFound`)."""
    if not isinstance(code, str) or not ERROR_CODE.fullmatch(code):
        raise ValueError(
            f"{code!r} is not an error code: write it like InternalError or "
            "InvalidImageId.NotFound (letters and digits, dot-separated, starting uppercase)"
        )


def set_fault(
    db: sqlite3.Connection,
    action: str,
    code: str,
    *,
    known_actions: Collection[str],
    probability: float | None = None,
    count: int | None = None,
    message: str | None = None,
) -> None:
    """Make `action` fail with `code`: with `probability`, for the next `count` calls, or always."""
    check_action(action, known_actions)
    check_code(code)
    if probability is not None and count is not None:
        raise ValueError("give a probability or a count, not both")
    if probability is not None and not 0.0 <= _number("probability", probability) <= 1.0:
        raise ValueError(f"probability must be between 0 and 1, not {probability!r}")
    if count is not None and not 1 <= _integer("count", count) <= MAX_COUNT:
        raise ValueError(f"count must be between 1 and {MAX_COUNT}, not {count!r}")
    if message is not None:
        _check_text("message", message)
    db.execute(
        "INSERT INTO faults VALUES (?, ?, ?, ?, ?) ON CONFLICT(action) DO UPDATE SET "
        "code=excluded.code, message=excluded.message, probability=excluded.probability, "
        "remaining=excluded.remaining",
        (action, code, message or default_message(code), probability, count),
    )


def set_throttle(
    db: sqlite3.Connection, action: str, rate_per_second: float, *, known_actions: Collection[str]
) -> None:
    """Allow at most `rate_per_second` calls of `action` per account and region each second."""
    check_action(action, known_actions)
    rate = _number("rate", rate_per_second)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(
            f"rate must be a positive finite number (calls per second), not {rate_per_second!r}"
        )
    db.execute(
        "INSERT INTO throttles VALUES (?, ?) ON CONFLICT(action) DO UPDATE SET rate=excluded.rate",
        (action, rate),
    )


def set_latency(
    db: sqlite3.Connection, action: str, ms: int, *, known_actions: Collection[str]
) -> None:
    """Add `ms` milliseconds to every call of `action`."""
    check_action(action, known_actions)
    if not 0 <= _integer("latency", ms) <= MAX_LATENCY_MS:
        raise ValueError(f"latency must be between 0 and {MAX_LATENCY_MS} ms, not {ms!r}")
    db.execute(
        "INSERT INTO latencies VALUES (?, ?) ON CONFLICT(action) DO UPDATE SET ms=excluded.ms",
        (action, ms),
    )


def _number(name: str, value: Any) -> float:
    """`value` as a float; ValueError (the admin API's one error type) for a non-number."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number:
        return float(value)
    raise ValueError(f"{name} must be a number, not {value!r}")


def _integer(name: str, value: Any) -> int:
    """`value` as an int; ValueError for anything else (a float, a bool, a string)."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if integer:
        return int(value)
    raise ValueError(f"{name} must be an integer, not {value!r}")


def _check_text(name: str, value: Any) -> None:
    """ValueError unless `value` is a string SQLite can store (no lone surrogate)."""
    try:
        str.encode(value, "utf-8")
    except TypeError:
        raise ValueError(f"{name} must be a string, not {value!r}") from None
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode (it holds a lone surrogate)") from None


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
