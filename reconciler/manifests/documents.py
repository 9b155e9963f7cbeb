"""A manifest document after the envelope and schema checks: its kind, name, and located fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.manifests.problems import Problem, pointer_of
from reconciler.manifests.yaml_loader import LocatedDocument, PathKey

_MISSING = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedDocument:
    """A document of a known kind; `valid` when it passed its kind's schema."""

    kind: str
    name: str
    """`metadata.name` when it is a string, else empty."""
    document: LocatedDocument
    valid: bool
    problem_paths: frozenset[PathKey] = frozenset()
    """Paths of the fields a problem was reported about (schema, loader, control characters)."""

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.document.content.get("spec")
        return spec if isinstance(spec, dict) else {}

    def value(self, path: PathKey) -> Any:
        """The value at `path`, or `_MISSING`."""
        value: Any = self.document.content
        for part in path:
            in_mapping = isinstance(part, str) and isinstance(value, dict) and part in value
            in_list = isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value)
            if not (in_mapping or in_list):
                return _MISSING
            value = value[part]
        return value

    def field_ok(self, path: PathKey, kind: type | tuple[type, ...] = object) -> bool:
        """The field at `path` exists, is a `kind`, and no problem was reported about it (or
        inside it): checks that need only this field may use it even in an invalid document."""
        value = self.value(path)
        if value is _MISSING or not isinstance(value, kind):
            return False
        return self.valid or not any(p[: len(path)] == path for p in self.problem_paths)

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
