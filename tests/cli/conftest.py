"""Fixtures for end-to-end tests: a copy of an example stack and a fresh simulated cloud."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from reconciler.app import Runtime
from reconciler.engine.clock import VirtualClock
from reconciler.engine.settings import ExecutorSettings

from .cloud import CloudProbe, zero_timings

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"


@pytest.fixture
def cloud_db(tmp_path: Path) -> Path:
    """A fresh simulated cloud (demo inventory) whose asynchronous states finish at once."""
    db = tmp_path / "cloud.db"
    zero_timings(db)
    return db


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A writable copy of manifests/quickstart."""
    return copy_example("quickstart", tmp_path)


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target


@pytest.fixture
def clock() -> VirtualClock:
    """Virtual time that starts now, so the CLI's real clock and the tests' agree on the past."""
    return VirtualClock(start=time.time())


@pytest.fixture
def runtime(cloud_db: Path, clock: VirtualClock) -> Runtime:
    """The pipeline against the test cloud, on virtual time."""
    return Runtime(db=str(cloud_db), clock=clock, settings=ExecutorSettings(poll_interval=1.0))


@pytest.fixture
def probe(cloud_db: Path) -> CloudProbe:
    """Reads and changes the simulated cloud directly (as another client would)."""
    return CloudProbe(cloud_db)
