"""A located problem in the manifests: what is wrong and exactly where."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem; `file` is relative to the manifest directory, line/column 1-based (0: none)."""

    file: str
    line: int
    column: int
    kind: str
    """The document's kind (`Image`, ...), empty when the problem is not in a document."""
    name: str
    """The document's `metadata.name`, empty when unknown."""
    pointer: str
    """JSON pointer of the offending field inside the document (`/spec/region`), or empty."""
    message: str

    def __str__(self) -> str:
        location = self.file
        if self.line > 0:
            location += f":{self.line}:{self.column}"
        subject = f" {self.kind}/{self.name or '?'}:" if self.kind else ""
        return f"{location}:{subject} {self.message}"

    def to_json(self) -> dict[str, str | int]:
        """The `--format json` shape: {file, line, column, kind, name, pointer, message}."""
        return asdict(self)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.message)
