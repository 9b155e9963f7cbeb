"""Golden-file comparison; `RECONCILER_UPDATE_GOLDEN=1 pytest tests/cli` rewrites the files."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"


def assert_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/<name>; write it instead when the update variable is set."""
    path = GOLDEN_DIR / name
    if os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with RECONCILER_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")
