"""The plan as a pull-request comment (SPEC §8): GitHub markdown read from the JSON plan.

Sections, in order: title, summary line, plan errors, policy violations, warnings (deletions,
replacements, unshares, disruptive updates, new recipients), drift, cost, the step graph
(Mermaid), then one folded `<details>` per resource. The whole comment fits `limit` characters
(GitHub's 65,536): long lists are capped, a big step graph is grouped, and past the limit the
per-resource details are shortened, saying so and how to see the full plan.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.render.text import DISRUPTIVE_SYMBOL, SYMBOLS, VERBS, summary_line

GITHUB_COMMENT_LIMIT = 65536
LIST_CAP = 25
"""Entries shown per warning list, policy table and drift table before "… and N more"."""
GRAPH_FULL_MAX_STEPS = 40
"""Up to this many steps the graph shows every step; beyond, steps are grouped."""
GRAPH_GROUPS_MAX = 60
"""Most boxes a grouped graph may have before it groups by operation alone."""
FULL_PLAN_HINT = "reconciler show PLANFILE"
KNOWN_AFTER_APPLY = "_(known after apply)_"
NOTICE_ROOM = 700
"""Characters kept free for the shortening notice and the "not listed" line."""

JSONObject = Mapping[str, Any]


def render_markdown(
    plan_json: JSONObject, source_url: str | None = None, *, limit: int = GITHUB_COMMENT_LIMIT
) -> str:
    """The pull-request comment for a JSON plan (`reconciler plan --format markdown`)."""
    links = _SourceLinks(source_url)
    head = "\n\n".join(
        part
        for part in (
            _title(plan_json),
            _errors(plan_json),
            _policy(plan_json, links),
            _warnings(plan_json, links),
            _drift(plan_json, links),
            _cost(plan_json),
            _graph(plan_json),
        )
        if part
    )
    changes = [c for c in plan_json.get("changes", []) if c["action"] != "no-op"]
    if not changes:
        return _fit(head + "\n", limit)
    return _with_details(head, changes, links, limit)


# -- title and summary ---------------------------------------------------------------------------


def _title(plan: JSONObject) -> str:
    options = plan.get("options", {})
    lines = [f"## Reconciler plan for stack `{_code(plan['stack'])}`", ""]
    changes = [c for c in plan.get("changes", []) if c["action"] != "no-op"]
    if options.get("refresh_only"):
        drifted = len(plan.get("drift", []))
        lines.append(
            f"**Refresh only: {drifted} resource{'s' if drifted != 1 else ''} drifted.**"
            if drifted
            else "**Refresh only: no drift. The cloud matches what the stack last applied.**"
        )
    elif changes or plan.get("steps"):
        lines.append(f"**{summary_line(plan.get('summary', {}))}**")
    else:
        lines.append("**No changes.** The cloud matches the manifests.")
    facts = [f"created {plan.get('created_at', '?')}", f"expires {plan.get('expires_at', '?')}"]
    if options.get("destroy"):
        facts.append("`--destroy`")
    if options.get("allow_destroy"):
        facts.append("`--allow-destroy`")
    facts.extend(f"`--target {_code(t)}`" for t in options.get("targets", []))
    facts.extend(f"`--replace {_code(r)}`" for r in options.get("replace", []))
    lines.append("")
    lines.append("<sub>" + " · ".join(facts) + "</sub>")
    return "\n".join(lines)


def _errors(plan: JSONObject) -> str:
    errors: Sequence[str] = plan.get("errors", [])
    if not errors:
        return ""
    lines = ["> [!CAUTION]", "> **This plan can't be applied:**"]
    lines.extend(f"> - {_inline(e)}" for e in _capped(errors, LIST_CAP))
    lines.extend(_more_line(errors, LIST_CAP, prefix="> - "))
    return "\n".join(lines)


# -- policy ----------------------------------------------------------------------------------------


def _policy(plan: JSONObject, links: _SourceLinks) -> str:
    violations: Sequence[JSONObject] = plan.get("policy", [])
    if not violations:
        return ""
    denied = sum(1 for v in violations if v["enforcement"] == "deny")
    lines = []
    if denied:
        lines += [
            "> [!CAUTION]",
            f"> **{denied} policy violation{'s' if denied != 1 else ''} with `deny`:** "
            "`plan` and `apply` fail until the manifests or the policy change.",
            "",
        ]
    lines += [
        "### Policy",
        "",
        "| | Rule | Address | Manifest | Violation |",
        "|---|---|---|---|---|",
    ]
    ordered = sorted(violations, key=lambda v: (v["enforcement"] != "deny", v["rule"]))
    for violation in _capped(ordered, LIST_CAP):
        mark = "⛔ deny" if violation["enforcement"] == "deny" else "⚠️ warn"
        lines.append(
            f"| {mark} | `{violation['rule']}` | `{_cell(violation['address'])}` "
            f"| {links.ref(violation.get('source'))} | {_cell(violation['message'])} |"
        )
    lines.extend(_more_line(ordered, LIST_CAP, prefix="| | | ", suffix=" | | |"))
    return "\n".join(lines)


# -- warnings --------------------------------------------------------------------------------------


def _warnings(plan: JSONObject, links: _SourceLinks) -> str:
    changes: Sequence[JSONObject] = plan.get("changes", [])

    def of(action: str) -> list[JSONObject]:
        return [c for c in changes if c["action"] == action]

    blocks = [
        _callout(
            "will be deleted",
            of("delete"),
            links,
            lambda c: f"image {_code(c['image_id'])}" if c.get("image_id") else "",
        ),
        _callout(
            "will be replaced (a new image, then the old one is deleted)",
            of("replace"),
            links,
            lambda c: "; ".join(c.get("warnings", [])) or _inline(c["reason"]),
        ),
        _callout(
            "will be unshared (the account loses access)",
            of("unshare"),
            links,
            lambda c: _inline(c["reason"]),
        ),
        _callout(
            "will be briefly unshared to change attributes (unshare → modify → re-share)",
            [c for c in changes if c.get("disruptive")],
            links,
            lambda c: _inline(c["reason"]),
        ),
        _recipients_callout([c for c in changes if c.get("new_recipient")], links),
    ]
    return "\n\n".join(b for b in blocks if b)


def _callout(
    what: str,
    changes: Sequence[JSONObject],
    links: _SourceLinks,
    detail: Callable[[JSONObject], str],
) -> str:
    if not changes:
        return ""
    count = len(changes)
    lines = ["> [!WARNING]", f"> **{count} resource{'s' if count != 1 else ''} {what}:**"]
    for change in _capped(changes, LIST_CAP):
        extra = detail(change)
        where = links.ref(change.get("source"))
        lines.append(
            f"> - `{_code(change['address'])}`"
            + (f" — {extra}" if extra else "")
            + (f" ({where})" if change.get("source") else "")
        )
    lines.extend(_more_line(changes, LIST_CAP, prefix="> - "))
    return "\n".join(lines)


def _recipients_callout(changes: Sequence[JSONObject], links: _SourceLinks) -> str:
    """Every account that receives an image it had no share of: it gets the disk contents."""
    if not changes:
        return ""
    by_account: defaultdict[str, list[JSONObject]] = defaultdict(list)
    for change in changes:
        by_account[_share_account(change)].append(change)
    count = len(by_account)
    lines = [
        "> [!WARNING]",
        f"> **{count} account{'s' if count != 1 else ''} will receive an image for the first "
        "time** (a share gives the account the image's disk contents):",
    ]
    accounts = sorted(by_account)
    for account in _capped(accounts, LIST_CAP):
        shares = by_account[account]
        listed = ", ".join(
            f"`{_code(c['address'])}` ({links.ref(c.get('source'))})"
            if c.get("source")
            else f"`{_code(c['address'])}`"
            for c in shares[:3]
        )
        more = f" and {len(shares) - 3} more" if len(shares) > 3 else ""
        lines.append(f"> - account **{_code(account)}**: {listed}{more}")
    lines.extend(_more_line(accounts, LIST_CAP, prefix="> - ", noun="accounts"))
    return "\n".join(lines)


def _share_account(change: JSONObject) -> str:
    for view in (change.get("after"), change.get("before")):
        if isinstance(view, Mapping) and isinstance(view.get("account"), str):
            return str(view["account"])
    return str(change["address"]).rpartition(":")[2]


# -- drift -----------------------------------------------------------------------------------------


def _drift(plan: JSONObject, links: _SourceLinks) -> str:
    drift: Sequence[JSONObject] = plan.get("drift", [])
    lines = ["### Drift (changed outside the stack)", ""]
    if not drift:
        lines.append("No drift: the cloud matches what the stack last applied.")
        return "\n".join(lines)
    corrected = (
        "Reported only (`--refresh-only`)."
        if plan.get("options", {}).get("refresh_only")
        else "Apply sets these back to the manifests (except `ignoreChanges` paths)."
    )
    lines += [corrected, "", "| Address | Field | Stack's value | Live value | Manifest |"]
    lines.append("|---|---|---|---|---|")
    for entry in _capped(drift, LIST_CAP):
        address = f"`{_code(entry['address'])}`"
        where = links.ref(entry.get("source"))
        if not entry.get("diff"):
            lines.append(f"| {address} | {_cell(entry['reason'])} | | | {where} |")
        lines.extend(
            f"| {address} | `{_cell(diff['path'])}` | {_value(diff['before'])} "
            f"| {_value(diff['after'])} | {where} |"
            for diff in entry.get("diff", [])
        )
    lines.extend(_more_line(drift, LIST_CAP, prefix="| ", suffix=" | | | | |", noun="drifted"))
    return "\n".join(lines)


# -- cost ------------------------------------------------------------------------------------------


def _cost(plan: JSONObject) -> str:
    cost = plan.get("cost") or {}
    regions: Sequence[JSONObject] = cost.get("regions", [])
    if not regions:
        return ""
    currency = cost.get("currency", "USD")
    shown = [r for r in regions if _region_changes(r)] or []
    lines = ["### Estimated monthly storage cost", ""]
    total = float(cost.get("monthly_delta", 0.0))
    lines.append(
        f"Snapshot storage of custom images: **{_money(total, currency, signed=True)} per month** "
        "for the account (the free tier applies to the account's total in each region)."
    )
    unsized = [
        c
        for c in plan.get("changes", [])
        if c["action"] in {"create", "replace"} and not _has_size(c.get("after"))
    ]
    if unsized:
        count = len(unsized)
        lines += [
            "",
            f"_{count} image{'s' if count != 1 else ''} to create without a known size "
            "(counted as the image they copy or replace, else 0 GB): the estimate may be low._",
        ]
    if not shown:
        lines += ["", "No region's storage changes."]
        return "\n".join(lines)
    lines += [
        "",
        "| Region | Account GB (before → after) | Free tier GB | Price/GB-month "
        "| Monthly before | Monthly after | Δ monthly | Stack's share of Δ |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    notes = []
    for region in shown:
        gb = f"{_gb(region['account_gb_before'])} → {_gb(region['account_gb_after'])}"
        lines.append(
            f"| {region['region']} | {gb} | {_gb(region['free_tier_gb'])} "
            f"| {region['price_per_gb_month']} | {_money(region['monthly_before'], currency)} "
            f"| {_money(region['monthly_after'], currency)} "
            f"| {_money(region['monthly_delta'], currency, signed=True)} "
            f"| {_money(region['stack_share_of_delta'], currency, signed=True)} |"
        )
        peak = region.get("account_gb_peak")
        if peak is not None and peak > max(region["account_gb_before"], region["account_gb_after"]):
            notes.append(
                f"{region['region']}: {_gb(peak)} GB while the apply runs (replacements create "
                "the new image before deleting the old one); billed hourly."
            )
    if notes:
        lines += ["", "Temporarily higher: " + " ".join(notes)]
    return "\n".join(lines)


def _has_size(view: Any) -> bool:
    return isinstance(view, Mapping) and isinstance(view.get("sizeGb"), int | float)


def _region_changes(region: JSONObject) -> bool:
    return bool(
        region["account_gb_before"] != region["account_gb_after"]
        or region["stack_gb_before"] != region["stack_gb_after"]
        or (region.get("account_gb_peak") or 0) > region["account_gb_after"]
    )


def _money(value: float, currency: str, *, signed: bool = False) -> str:
    """Money with 2 to 4 decimals (storage deltas are often cents or less)."""
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    whole, _, decimals = f"{abs(value):.4f}".partition(".")
    decimals = decimals.rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{decimals} {currency}"


def _gb(value: float) -> str:
    return f"{value:g}"


# -- step graph ------------------------------------------------------------------------------------


def _graph(plan: JSONObject) -> str:
    steps: Sequence[JSONObject] = plan.get("steps", [])
    if not steps:
        return ""
    count = len(steps)
    lines = ["### Steps", ""]
    if count <= GRAPH_FULL_MAX_STEPS:
        lines.append(f"{count} API operation{'s' if count != 1 else ''}, in dependency order.")
        if any(s.get("always_run") for s in steps):
            lines[-1] += " A dotted arrow: the step runs even if the one before it fails."
        body = _full_graph(steps)
    else:
        body, grouping = _grouped_graph(steps)
        lines.append(
            f"{count} API operations, too many to draw one by one: each box groups the steps "
            f"of one {grouping} and counts them; an arrow means some step of one box waits for "
            f"some step of the other. `{FULL_PLAN_HINT}` lists every step."
        )
    lines += ["", "```mermaid", "flowchart LR", *body, "```"]
    return "\n".join(lines)


def _full_graph(steps: Sequence[JSONObject]) -> list[str]:
    """Every step; an arrow implied by a longer path is left out (transitive reduction)."""
    ids = {s["id"]: f"n{i}" for i, s in enumerate(steps)}
    direct = {s["id"]: [d for d in s.get("depends_on", []) if d in ids] for s in steps}
    ancestors: dict[str, set[str]] = {}

    def ancestors_of(step_id: str) -> set[str]:
        if step_id not in ancestors:
            ancestors[step_id] = set()  # guards a (malformed) cycle
            found: set[str] = set()
            for dependency in direct[step_id]:
                found |= {dependency, *ancestors_of(dependency)}
            ancestors[step_id] = found
        return ancestors[step_id]

    lines = []
    for step in steps:
        label = f"{step['operation']}<br/>{step['address']}<br/>{step['region']}"
        lines.append(f'  {ids[step["id"]]}["{_mermaid(label)}"]')
    for step in steps:
        needed = direct[step["id"]]
        implied = {a for d in needed for a in ancestors_of(d)}
        arrow = "-.->" if step.get("always_run") else "-->"
        lines.extend(
            f"  {ids[dependency]} {arrow} {ids[step['id']]}"
            for dependency in needed
            if dependency not in implied
        )
    return lines


def _grouped_graph(steps: Sequence[JSONObject]) -> tuple[list[str], str]:
    def by_operation_and_region(step: JSONObject) -> tuple[str, str]:
        return (step["operation"], step["region"])

    def by_operation(step: JSONObject) -> tuple[str, str]:
        return (step["operation"], "")

    key = by_operation_and_region
    grouping = "operation in one region"
    if len({key(s) for s in steps}) > GRAPH_GROUPS_MAX:
        key, grouping = by_operation, "operation (all regions)"
    group_of = {s["id"]: key(s) for s in steps}
    counts = Counter(group_of.values())
    names = {group: f"g{i}" for i, group in enumerate(sorted(counts))}
    lines = []
    for (operation, region), name in names.items():
        count = counts[(operation, region)]
        label = f"{operation} x{count}" + (f"<br/>{region}" if region else "")
        lines.append(f'  {name}["{_mermaid(label)}"]')
    edges = sorted(
        {
            (names[group_of[d]], names[group_of[s["id"]]])
            for s in steps
            for d in s.get("depends_on", [])
            if d in group_of and group_of[d] != group_of[s["id"]]
        }
    )
    lines.extend(f"  {a} --> {b}" for a, b in edges)
    return lines, grouping


def _mermaid(text: str) -> str:
    return text.replace('"', "#quot;")


# -- per-resource details --------------------------------------------------------------------------


def _with_details(head: str, changes: Sequence[JSONObject], links: _SourceLinks, limit: int) -> str:
    title = "### Changes by resource"
    full = [_details(c, links) for c in changes]
    document = "\n\n".join([head, title, *full]) + "\n"
    if len(document) <= limit:
        return document
    # Too long: as many full details as fit while every other resource keeps one line.
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
        + '. The sections above are complete except where a list ends in "… and N more". '
        f"See the full plan with `{FULL_PLAN_HINT}` (the file from `plan --out`), "
        "or `plan --format json`."
    )


def _one_line(change: JSONObject, links: _SourceLinks) -> str:
    where = f" ({links.ref(change.get('source'))})" if change.get("source") else ""
    return (
        f"- `{_symbol(change)} {_code(change['address'])}` {change['action']} — "
        f"{_inline(change['reason'])}{where}"
    )


def _symbol(change: JSONObject) -> str:
    if change.get("disruptive"):
        return DISRUPTIVE_SYMBOL
    return SYMBOLS.get(change["action"], "?")


def _details(change: JSONObject, links: _SourceLinks) -> str:
    action = change["action"]
    verb = VERBS.get(action, action)
    summary = (
        f"<code>{html.escape(_symbol(change))} {html.escape(change['address'])}</code> "
        f"{html.escape(verb)}"
    )
    if change.get("new_recipient"):
        summary += " — <b>new recipient</b>"
    if change.get("disruptive"):
        summary += " — <b>disruptive</b>"
    body = [f"**Reason:** {_inline(change['reason'])}"]
    facts = []
    if change.get("region"):
        facts.append(f"region `{change['region']}`")
    if change.get("image_id"):
        facts.append(f"image `{_code(change['image_id'])}`")
    facts.append(
        f"manifest {links.ref(change.get('source'))}"
        if change.get("source")
        else "manifest: no longer declared"
    )
    body.append(" · ".join(facts))
    body.extend(f"> [!WARNING]\n> {_inline(w)}" for w in change.get("warnings", []))
    table = _field_table(change)
    if table:
        body.append(table)
    inner = "\n\n".join(body)
    return f"<details><summary>{summary}</summary>\n\n{inner}\n\n</details>"


def _field_table(change: JSONObject) -> str:
    diff: Sequence[JSONObject] = change.get("diff", [])
    if diff:
        rows = ["| Field | Before | After |", "|---|---|---|"]
        rows += [
            f"| `{_cell(path)}` | {_value(before)} | {_value(after)} |"
            for entry in diff
            for path, before, after in _leaf_diffs(entry["path"], entry["before"], entry["after"])
        ]
        return "\n".join(rows)
    view = change.get("after") if change["action"] != "delete" else change.get("before")
    if not view:
        return ""
    rows = ["| Field | Value |", "|---|---|"]
    rows += [
        f"| `{_cell(path)}` | {KNOWN_AFTER_APPLY if value is None else _value(value)} |"
        for path, value in _flatten(view)
    ]
    return "\n".join(rows)


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


# -- text helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SourceLinks:
    """Manifest locations as `file:line`, linked to `<base>/<file>#L<line>` when a base is set."""

    base: str | None

    def ref(self, source: JSONObject | None) -> str:
        if not source:
            return "—"
        text = f"{source['file']}:{source['line']}"
        if not self.base:
            return f"`{_code(text)}`"
        url = f"{self.base.rstrip('/')}/{source['file']}#L{source['line']}"
        return f"[`{_code(text)}`]({url.replace(' ', '%20').replace(')', '%29')})"


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
    return f"`{_cell(_code(text))}`"


def _code(text: object) -> str:
    """Text safe inside a backtick code span."""
    return str(text).replace("`", "'")


def _cell(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return _inline(text).replace("|", "\\|")


def _inline(text: object) -> str:
    """Text on one markdown line."""
    return " ".join(str(text).split())


def _fit(document: str, limit: int) -> str:
    """The last resort when even the capped sections are too long: cut at a line boundary."""
    if len(document) <= limit:
        return document
    note = f"\n\n_… cut to fit {limit:,} characters: see `{FULL_PLAN_HINT}`._\n"
    cut = document[: max(0, limit - len(note))]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("```") % 2:
        cut += "\n```"
    return (cut + note)[:limit]
