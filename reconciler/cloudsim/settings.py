"""Timings, failure probabilities, quotas and optional rules of the simulated cloud (in its DB)."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from dataclasses import dataclass, fields
from typing import Any

MAX_SECONDS = 365 * 24 * 3600.0
"""The longest a simulated operation may take (a year): long enough for any test."""


@dataclass(frozen=True, slots=True)
class Settings:
    """How the simulated cloud behaves; fast demo defaults, every [U] rule off."""

    create_image_seconds: float = 3.0
    """How long a CreateImage stays CREATING before NORMAL (or CREATEFAILED)."""
    import_image_seconds: float = 5.0
    """How long an ImportImage stays IMPORTING before NORMAL (or IMPORTFAILED)."""
    sync_image_seconds: float = 4.0
    """How long each SyncImages copy stays SYNCING (copies run in parallel)."""
    create_failure_probability: float = 0.0
    """Chance that a CreateImage ends in CREATEFAILED."""
    import_failure_probability: float = 0.0
    """Chance that an ImportImage ends in IMPORTFAILED."""
    image_quota: int = 500
    """Custom images per account and region (DescribeImageQuota's ImageNumQuota)."""
    share_quota: int = 500
    """Accounts one image can be shared with."""
    restrict_mainland_overseas_copy: bool = False
    """[U] Refuse SyncImages between mainland China and overseas regions (the 2019 rule)."""
    copy_tags_on_sync: bool = False
    """[U] Copy the source image's tags to the images SyncImages creates."""
    seed: int = 0
    """Seed of every random draw (IDs, failures, fault probabilities): runs are reproducible."""


def setting_names() -> tuple[str, ...]:
    """The names of every setting, in declaration order."""
    return tuple(f.name for f in fields(Settings))


def parse_setting(name: str, text: str) -> Any:
    """The typed value of setting `name` written as text (`3`, `0.5`, `true`); ValueError if bad."""
    kinds = {f.name: f.type for f in fields(Settings)}
    if name not in kinds:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(setting_names())}")
    kind = kinds[name]
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in {"true", "1", "yes", "on"}:
            return True
        if lowered in {"false", "0", "no", "off"}:
            return False
        raise ValueError(f"{name} must be true or false, not {text!r}")
    try:
        value: Any = int(text) if kind == "int" else float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {text!r}") from None
    check_setting(name, value)
    return value


def check_setting(name: str, value: Any) -> None:
    """Raise ValueError when `value` is not a valid value of setting `name`: of its type, finite
    (no NaN or infinity), probabilities in [0, 1], durations and quotas not negative."""
    kinds = {f.name: f.type for f in fields(Settings)}
    if name not in kinds:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(setting_names())}")
    kind = kinds[name]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or (kind == "int" and not isinstance(value, int)):
        expected = "a whole number" if kind == "int" else "a number"
        raise ValueError(f"{name} must be {expected}, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if name.endswith("_probability") and not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
    if name.endswith(("_seconds", "_quota")) and value < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    if kind == "int" and not -(2**63) <= value < 2**63:
        raise ValueError(f"{name} is too large: {value!r}")
    if name.endswith("_seconds") and value > MAX_SECONDS:
        raise ValueError(f"{name} must be at most {MAX_SECONDS:g} (a year), not {value!r}")


def load_settings(db: sqlite3.Connection) -> Settings:
    """The settings stored in the database (defaults for any not stored)."""
    stored = {row[0]: json.loads(row[1]) for row in db.execute("SELECT name, value FROM settings")}
    known = {name: stored[name] for name in setting_names() if name in stored}
    return Settings(**known)


def save_settings(db: sqlite3.Connection, settings: Settings) -> None:
    """Store every setting (inside the caller's transaction)."""
    for name, value in dataclasses.asdict(settings).items():
        db.execute(
            "INSERT INTO settings(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )
