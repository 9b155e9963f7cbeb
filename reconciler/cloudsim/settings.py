"""Timings, failure probabilities, quotas and optional rules of the simulated cloud (in its DB)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass, fields
from typing import Any


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
    """Raise ValueError when `value` is out of range for setting `name`."""
    if name.endswith("_probability") and not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1")
    if name.endswith("_seconds") and float(value) < 0:
        raise ValueError(f"{name} must not be negative")
    if name.endswith("_quota") and int(value) < 0:
        raise ValueError(f"{name} must not be negative")


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
