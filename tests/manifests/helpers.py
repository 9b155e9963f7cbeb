"""Helpers for the manifests tests: a valid Stack and Image, writing trees, locating text."""

from __future__ import annotations

from pathlib import Path

STACK = """\
apiVersion: reconciler/v1
kind: Stack
metadata:
  name: prod
spec:
  regions: [ap-guangzhou, ap-shanghai, ap-singapore]
"""

IMAGE = """\
apiVersion: reconciler/v1
kind: Image
metadata:
  name: web
spec:
  region: ap-guangzhou
  source:
    instance: {id: ins-demo0001}
"""


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative name → text or bytes) under `root`; return `root`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def locate(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the `occurrence`-th `needle` in `text`."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
