"""Fixtures: the simulated cloud served over HTTP on 127.0.0.1:<ephemeral>."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cloudsim.clock import ManualClock
from reconciler.cloudsim.server import serve

from .wire import Emulator


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    clock = ManualClock(start=time.time())
    server = serve("127.0.0.1", 0, tmp_path / "cloud.db", clock=clock)
    try:
        yield Emulator(server, clock)
    finally:
        server.stop()
