"""A manifest document after the envelope and schema checks: its kind, name, and located fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.manifests.problems import Problem
from reconciler.manifests.schema_messages import pointer_of
from reconciler.manifests.yaml_loader import LocatedDocument, PathKey


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedDocument:
    """A document of a known kind; `valid` when it passed its kind's schema."""

    kind: str
    name: str
    """`metadata.name` when it is a string, else empty."""
    document: LocatedDocument
    valid: bool

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.document.content.get("spec")
        return spec if isinstance(spec, dict) else {}

    def problem(self, path: PathKey, message: str, *, at_key: bool = False) -> Problem:
        """A problem about the field at `path` (its key or its value), located in the file."""
        return located_problem(self.document, self.kind, self.name, path, message, at_key=at_key)

    def where(self, path: PathKey) -> str:
        """`file:line` of a field, for messages that point at another declaration."""
        position = self.document.value_position(path)
        return f"{self.file}:{position.line}"


def located_problem(
    document: LocatedDocument,
    kind: str,
    name: str,
    path: PathKey,
    message: str,
    *,
    at_key: bool = False,
) -> Problem:
    """A problem at the key or value of `path` in `document`."""
    position = document.key_position(path) if at_key else document.value_position(path)
    return Problem(
        document.file, position.line, position.column, kind, name, pointer_of(path), message
    )
