"""The per-resource `<details>` of the pull-request comment, shortened to fit the limit."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.render.markdown_text import (
    FULL_PLAN_HINT,
    JSONObject,
    _code,
    _fit,
    _gb,
    _inline,
    _SourceLinks,
    _text,
    _value,
)
from reconciler.render.text import DISRUPTIVE_SYMBOL, SYMBOLS, VERBS

KNOWN_AFTER_APPLY = "_(known after apply)_"
NOTICE_ROOM = 700
"""Characters kept free for the shortening notice and the "not listed" line."""


def _risk(change: JSONObject) -> int:
    """Which changes keep their full details first when the comment is shortened."""
    action = change["action"]
    if action in {"delete", "replace", "unshare"} or change.get("new_recipient"):
        return 0
    if action == "update":
        return 1 if change.get("disruptive") else 2
    if action in {"create", "share"}:
        return 3
    return 4


def _with_details(head: str, changes: Sequence[JSONObject], links: _SourceLinks, limit: int) -> str:
    title = "### Changes by resource"
    full = [_details(c, links) for c in changes]
    document = "\n\n".join([head, title, *full]) + "\n"
    if len(document) <= limit:
        return document
    # Too long: the riskiest changes first (the sort is stable: address order within a rank),
    # then as many full details as fit while every other resource keeps one line.
    changes = sorted(changes, key=_risk)
    full = [_details(c, links) for c in changes]
    budget = limit - len(head) - len(title) - NOTICE_ROOM
    short = [_one_line(c, links) for c in changes]
    used = sum(len(line) + 1 for line in short)
    detailed = 0
    for block, line in zip(full, short, strict=True):
        grown = used - len(line) - 1 + len(block) + 2
        if grown > budget:
            break
        used = grown
        detailed += 1
    listed = short[detailed:]
    if used > budget:
        # Not even one line each fits: a quarter of the room for full details, then lines.
        detailed, used = 0, 0
        for block in full:
            if used + len(block) + 2 > budget // 4:
                break
            used += len(block) + 2
            detailed += 1
        listed = []
        for line in short[detailed:]:
            if used + len(line) + 1 > budget:
                break
            listed.append(line)
            used += len(line) + 1
    omitted = len(changes) - detailed - len(listed)
    notice = _shortened_notice(len(changes), detailed, len(listed), omitted, limit)
    parts = [head, notice, title, *full[:detailed]]
    if listed:
        parts.append("\n".join(listed))
    if omitted:
        parts.append(f"_… {omitted} more resource{'s' if omitted != 1 else ''} not listed._")
    return _fit("\n\n".join(parts) + "\n", limit)


def _shortened_notice(total: int, detailed: int, short: int, omitted: int, limit: int) -> str:
    parts = [f"{detailed} of {total} resources have their full details"]
    if short:
        parts.append(f"{short} are listed on one line without their field diffs")
    if omitted:
        parts.append(f"{omitted} are not listed")
    return (
        "> [!NOTE]\n"
        f"> **This comment is shortened to fit {limit:,} characters:** "
        + "; ".join(parts)
        + ". Full details go first to deletions, replacements, unshares and new recipients, "
        "then updates (disruptive ones first), then creates and shares, then the rest"
        '. The sections above are complete except where a list ends in "… and N more". '
        f"See the full plan with `{FULL_PLAN_HINT}` (the file from `plan --out`), "
        "or `plan --format json`."
    )


def _one_line(change: JSONObject, links: _SourceLinks) -> str:
    where = f" ({links.ref(change.get('source'))})" if change.get("source") else ""
    label = _code(f"{_symbol(change)} {change['address']}")
    return f"- {label} {change['action']} — {_text(change['reason'])}{where}"


def _symbol(change: JSONObject) -> str:
    if change.get("disruptive"):
        return DISRUPTIVE_SYMBOL
    return SYMBOLS.get(change["action"], "?")


def _details(change: JSONObject, links: _SourceLinks) -> str:
    action = change["action"]
    verb = VERBS.get(action, action)
    summary = (
        f"<code>{html.escape(_symbol(change))} {html.escape(_inline(change['address']))}</code> "
        f"{html.escape(verb)}"
    )
    if change.get("new_recipient"):
        summary += " — <b>new recipient</b>"
    if change.get("disruptive"):
        summary += " — <b>disruptive</b>"
    body = [f"**Reason:** {_text(change['reason'])}"]
    facts = []
    if change.get("region"):
        facts.append(f"region {_code(change['region'])}")
    if change.get("image_id"):
        facts.append(f"image {_code(change['image_id'])}")
    if _shared_outside(change):
        facts.append("not declared (shared outside the stack)")
        if change.get("source"):
            facts.append(f"image manifest {links.ref(change.get('source'))}")
    else:
        facts.append(
            f"manifest {links.ref(change.get('source'))}"
            if change.get("source")
            else "manifest: no longer declared"
        )
    body.append(" · ".join(facts))
    body.extend(f"> [!WARNING]\n> {_text(w, start=True)}" for w in change.get("warnings", []))
    table = _field_table(change)
    if table:
        body.append(table)
    inner = "\n\n".join(body)
    return f"<details><summary>{summary}</summary>\n\n{inner}\n\n</details>"


def _shared_outside(change: JSONObject) -> bool:
    """An unshare of a share made outside the stack: it was never declared."""
    return change["action"] == "unshare" and str(change["reason"]).startswith(
        "drift: shared outside the stack"
    )


def _field_table(change: JSONObject) -> str:
    diff: Sequence[JSONObject] = change.get("diff", [])
    if diff:
        rows = ["| Field | Before | After |", "|---|---|---|"]
        rows += [
            f"| {_code(path, cell=True)} | {_value(before)} | {_value(after)} |"
            for entry in diff
            for path, before, after in _leaf_diffs(entry["path"], entry["before"], entry["after"])
        ]
        return "\n".join(rows)
    if change["action"] == "delete":
        return _deleted_summary(change)
    if change["action"] == "update":
        # No field differs: only the image's tags are rewritten (record, ownership, lifecycle).
        return "Tags only; no attribute changes."
    view = change.get("after")
    if not view:
        return ""
    rows = ["| Field | Value |", "|---|---|"]
    rows += [
        f"| {_code(path, cell=True)} | {KNOWN_AFTER_APPLY if value is None else _value(value)} |"
        for path, value in _flatten(view)
    ]
    return "\n".join(rows)


def _deleted_summary(change: JSONObject) -> str:
    """What a deletion takes away, instead of every field of the image: its ID and name, its
    size when known, and the accounts that lose their share of it."""
    view = change.get("before")
    view = view if isinstance(view, Mapping) else {}
    image_id = view.get("imageId") or change.get("image_id")
    if not image_id:
        return ""
    parts = [f"Deletes image {_code(image_id)}"]
    if view.get("imageName"):
        parts[0] += f" ({_code(view['imageName'])})"
    if isinstance(view.get("sizeGb"), int | float):
        parts.append(f"{_gb(view['sizeGb'])} GiB")
    shares = view.get("shares") or []
    lost = ", ".join(_code(account) for account in shares) if shares else "none"
    parts.append(f"shares lost: {lost}")
    return " · ".join(parts) + "."


def _leaf_diffs(path: str, before: Any, after: Any) -> Iterable[tuple[str, Any, Any]]:
    """An object-valued diff entry (e.g. a whole new image, path "") as one row per field."""
    if (
        isinstance(before, Mapping | None)
        and isinstance(after, Mapping | None)
        and (before or after)
    ):
        old, new = before or {}, after or {}
        for key in sorted({*old, *new}):
            if old.get(key) != new.get(key):
                yield from _leaf_diffs(f"{path}.{key}" if path else key, old.get(key), new.get(key))
        return
    yield path or "(all)", before, after


def _flatten(view: JSONObject, prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key in sorted(view):
        value = view[key]
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
