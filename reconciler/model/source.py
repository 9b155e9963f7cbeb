"""Where a desired value came from: a manifest file (relative to PATH) and line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A location in the manifests; `file` is relative to the manifest directory."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"
