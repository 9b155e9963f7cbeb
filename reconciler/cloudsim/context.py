"""What one API call runs with: the open transaction, the caller, the region, the time."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.cloudsim.params import Obj
from reconciler.cloudsim.settings import Settings


@dataclass(frozen=True, slots=True)
class CallContext:
    """One API call as one account in one region, inside its database transaction."""

    db: sqlite3.Connection
    account: str
    region: str
    now: float
    settings: Settings
    rng: random.Random


Handler = Callable[[CallContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Action:
    """One API action: the shape of its parameters and the function that answers it."""

    params: Obj
    handler: Handler
