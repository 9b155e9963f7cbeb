"""Fixtures of the manifests tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import write_tree


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """`tree(files)` writes a manifest directory and returns its path."""

    def make(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path / "stack", files)

    return make
