"""A located problem in the manifests: what is wrong and exactly where."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"

_UNPRINTABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Unicode categories escaped in messages: controls, surrogates, line/paragraph separators."""


def _escape(char: str) -> str:
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
    if char in named:
        return named[char]
    if unicodedata.category(char) in _UNPRINTABLE:
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def printable(text: str) -> str:
    """`text` with control characters (newline included) escaped, so it prints on one line."""
    if all(unicodedata.category(c) not in _UNPRINTABLE for c in text):
        return text
    return "".join(c if unicodedata.category(c) not in _UNPRINTABLE else _escape(c) for c in text)


def quote(value: object) -> str:
    """A user value in a message: a string in double quotes with `\\n`, `\\x00`, `\\"` escaped."""
    if not isinstance(value, str):
        return str(value)
    return '"' + "".join(_escape(c) for c in value) + '"'


def pointer_of(path: Sequence[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a path."""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join("/" + part for part in parts)


def dotted(path: Sequence[str | int]) -> str:
    """`spec.regions[1]`: the path as users read it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return printable(text)


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
    severity: str = ERROR
    """`error` (the manifests are invalid) or `warning` (a `warn` policy rule: shown, not fatal)."""

    def __str__(self) -> str:
        location = printable(self.file)
        if self.line > 0:
            location += f":{self.line}:{self.column}"
        subject = f" {self.kind}/{printable(self.name) or '?'}:" if self.kind else ""
        label = " warning:" if self.severity == WARNING else ""
        return f"{location}:{subject}{label} {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity != WARNING

    def to_json(self) -> dict[str, str | int]:
        """The `--format json` shape: {file, line, column, kind, name, pointer, message,
        severity}."""
        return asdict(self)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.message)
