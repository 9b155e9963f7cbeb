"""Markdown text of the pull-request comment: escaping, code spans, source links, money, cuts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.render.text import format_money

FULL_PLAN_HINT = "reconciler show PLANFILE"

JSONObject = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _SourceLinks:
    """Manifest locations as `file:line`, linked to `<base>/<file>#L<line>` when a base is set
    (the file's path percent-encoded: spaces, `#`, `<`, `>`, parentheses...)."""

    base: str | None

    def ref(self, source: JSONObject | None, *, cell: bool = False) -> str:
        if not source:
            return "—"
        text = _code(f"{source['file']}:{source['line']}", cell=cell)
        if not self.base:
            return text
        return f"[{text}]({self.url(str(source['file']), source['line'])})"

    def url(self, file: str, line: object) -> str:
        # The base is already a URL: encode only what is not allowed in one (or ends a
        # markdown link destination), keeping its own %-escapes.
        base = quote(self.base.rstrip("/") if self.base else "", safe=_URL_SAFE)
        return f"{base}/{quote(file.lstrip('/'), safe='/')}#L{quote(str(line), safe='')}"


_URL_SAFE = ":/?#[]@!$&'*+,;=%~"
"""RFC 3986 reserved characters and `%`, minus the parentheses a markdown link would read."""


def _capped(items: Sequence[Any], cap: int) -> Sequence[Any]:
    return items[:cap]


def _more_line(
    items: Sequence[Any], cap: int, *, prefix: str, suffix: str = "", noun: str = ""
) -> list[str]:
    if len(items) <= cap:
        return []
    more = len(items) - cap
    what = f" {noun}" if noun else ""
    return [f"{prefix}_… and {more} more{what} ({FULL_PLAN_HINT} lists all)_{suffix}"]


def _value(value: Any) -> str:
    """A JSON value in a table cell, as inline code."""
    if value is None:
        return "—"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) > 200:
        text = text[:197] + "…"
    return _code(text, cell=True)


def _code(text: object, *, cell: bool = False) -> str:
    """A code span showing `text` exactly (CommonMark): fenced by one backtick more than its
    longest run of backticks, padded with a space when it has a backtick or starts and ends
    with a space (the renderer strips one from each side). Line breaks become spaces, as in
    any code span. In a table cell (`cell`), `|` is escaped: GitHub reads `\\|` as `|` there."""
    content = re.sub(r"[\r\n]+", " ", str(text)) or " "
    runs = [len(run) for run in re.findall(r"`+", content)]
    fence = "`" * (max(runs, default=0) + 1)
    if runs or (content.startswith(" ") and content.endswith(" ") and content.strip()):
        content = f" {content} "
    if cell:
        content = content.replace("|", "\\|")
    return f"{fence}{content}{fence}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")
"""Characters that open emphasis, code, links, HTML, cells, strikethrough or math anywhere."""
_LINE_START = re.compile(r"^(\d{1,9}(?=[.)])|(?=[#=+-]))")
"""Where a backslash goes when text begins a line: before `#`, `=`, `+`, `-` or after the
digits of `1.`/`1)` (a heading, a setext underline or a list)."""


def _text(text: object, *, start: bool = False) -> str:
    """User-controlled text (reasons, messages, names) shown as plain text on one line: every
    character markdown, HTML or a table would read is escaped, so it can't open a tag, a link,
    emphasis or a cell. `start`: the text begins a line, where `#`, `-`, `1.` would open a
    heading or a list."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _inline(text)).replace("&", "&amp;")
    if start:
        escaped = _LINE_START.sub(lambda m: m.group(1) + "\\", escaped, count=1)
    return escaped


def _inline(text: object) -> str:
    """Text on one markdown line."""
    return " ".join(str(text).split())


def _fence_open(document: str) -> bool:
    """Whether a fenced block (the Mermaid graph) is open at the end of `document`."""
    return sum(1 for line in document.split("\n") if line.startswith("```")) % 2 == 1


def _fit(document: str, limit: int) -> str:
    """The last resort when even the capped sections are too long: cut at a line boundary."""
    if len(document) <= limit:
        return document
    note = f"\n\n_… cut to fit {limit:,} characters: see `{FULL_PLAN_HINT}`._\n"
    cut = document[: max(0, limit - len(note))]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if _fence_open(cut):
        cut += "\n```"
    return (cut + note)[:limit]


def _money(value: float, currency: str, *, signed: bool = False) -> str:
    """To the cent, as in the text plan; deltas (`signed`) carry their sign."""
    return _text(format_money(value, currency, signed=signed))


def _gb(value: float) -> str:
    return f"{value:g}"
