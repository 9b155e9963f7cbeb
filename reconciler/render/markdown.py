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
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.render.text import (
    DISRUPTIVE_SYMBOL,
    SYMBOLS,
    VERBS,
    format_money,
    summary_line,
)

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
    lines = [f"## Reconciler plan for stack {_code(plan['stack'])}", ""]
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
    elif options.get("destroy"):
        where = " at the targeted addresses" if options.get("targets") else ""
        lines.append(f"**No changes.** Nothing to destroy: the stack owns no images{where}.")
    else:
        lines.append("**No changes.** The cloud matches the manifests.")
    facts = [
        f"created {_text(plan.get('created_at', '?'))}",
        f"expires {_text(plan.get('expires_at', '?'))}",
    ]
    if options.get("destroy"):
        facts.append("`--destroy`")
    if options.get("allow_destroy"):
        facts.append("`--allow-destroy`")
    facts.extend(_code(f"--target {t}") for t in options.get("targets", []))
    facts.extend(_code(f"--replace {r}") for r in options.get("replace", []))
    lines.append("")
    lines.append("<sub>" + " · ".join(facts) + "</sub>")
    return "\n".join(lines)


def _errors(plan: JSONObject) -> str:
    errors: Sequence[str] = plan.get("errors", [])
    if not errors:
        return ""
    lines = ["> [!CAUTION]", "> **This plan can't be applied:**"]
    lines.extend(f"> - {_text(e, start=True)}" for e in _capped(errors, LIST_CAP))
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
            f"| {mark} | {_code(violation['rule'], cell=True)} "
            f"| {_code(violation['address'], cell=True)} "
            f"| {links.ref(violation.get('source'), cell=True)} | {_text(violation['message'])} |"
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
            lambda c: "; ".join(_text(w) for w in c.get("warnings", [])) or _text(c["reason"]),
        ),
        _callout(
            "will be unshared (the account loses access)",
            of("unshare"),
            links,
            lambda c: _text(c["reason"]),
        ),
        _callout(
            "will be briefly unshared to change attributes (unshare → modify → re-share)",
            [c for c in changes if c.get("disruptive")],
            links,
            lambda c: _text(c["reason"]),
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
            f"> - {_code(change['address'])}"
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
            f"{_code(c['address'])} ({links.ref(c.get('source'))})"
            if c.get("source")
            else _code(c["address"])
            for c in shares[:3]
        )
        more = f" and {len(shares) - 3} more" if len(shares) > 3 else ""
        lines.append(f"> - account **{_text(account)}**: {listed}{more}")
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
        address = _code(entry["address"], cell=True)
        where = links.ref(entry.get("source"), cell=True)
        if not entry.get("diff"):
            values = "".join(f" {value} |" if value else " |" for value in _share_states(entry))
            lines.append(f"| {address} | {_text(entry['reason'])} |{values} {where} |")
        lines.extend(
            f"| {address} | {_code(diff['path'], cell=True)} | {_value(diff['before'])} "
            f"| {_value(diff['after'])} | {where} |"
            for diff in entry.get("diff", [])
        )
    lines.extend(_more_line(drift, LIST_CAP, prefix="| ", suffix=" | | | | |", noun="drifted"))
    return "\n".join(lines)


def _share_states(entry: JSONObject) -> tuple[str, str]:
    """A share's drift as the stack's and the live state (`before`/`after`: the share, or
    none); other entries without field diffs have no values to show."""
    if not str(entry["address"]).startswith("share.") or not (
        entry.get("before") or entry.get("after")
    ):
        return "", ""

    def state(view: object) -> str:
        return _code("shared" if view else "not shared", cell=True)

    return state(entry.get("before")), state(entry.get("after"))


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
            f"| {_text(region['region'])} | {gb} | {_gb(region['free_tier_gb'])} "
            f"| {_text(region['price_per_gb_month'])} "
            f"| {_money(region['monthly_before'], currency)} "
            f"| {_money(region['monthly_after'], currency)} "
            f"| {_money(region['monthly_delta'], currency, signed=True)} "
            f"| {_money(region['stack_share_of_delta'], currency, signed=True)} |"
        )
        peak = region.get("account_gb_peak")
        if peak is not None and peak > max(region["account_gb_before"], region["account_gb_after"]):
            notes.append(
                f"{_text(region['region'])}: {_gb(peak)} GB while the apply runs (replacements "
                "create the new image before deleting the old one); billed hourly."
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
    """To the cent, as in the text plan; deltas (`signed`) carry their sign."""
    return _text(format_money(value, currency, signed=signed))


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
            f"of one {grouping} and counts them. A step's stage is the length of the longest "
            "chain of steps it waits for, plus one, so every arrow goes to a later stage and the "
            "graph has no loops; an arrow means some step of one box waits for some step of the "
            f"other. `{FULL_PLAN_HINT}` lists every step."
        )
    lines += ["", "```mermaid", "flowchart LR", *body, "```"]
    return "\n".join(lines)


def _operation(step: JSONObject) -> str:
    """The API operation, with the direction of a share change (SHARE or CANCEL)."""
    operation = str(step["operation"])
    params = step.get("params")
    permission = params.get("Permission") if isinstance(params, Mapping) else None
    if operation == "ModifyImageSharePermission" and isinstance(permission, str):
        return f"{operation} {permission}"
    return operation


def _full_graph(steps: Sequence[JSONObject]) -> list[str]:
    """Every step; an arrow implied by a longer path is left out (transitive reduction)."""
    ids = {s["id"]: f"n{i}" for i, s in enumerate(steps)}
    direct = {s["id"]: [d for d in s.get("depends_on", []) if d in ids] for s in steps}
    lines = []
    for step in steps:
        label = _mermaid(_operation(step), step["address"], step["region"])
        lines.append(f'  {ids[step["id"]]}["{label}"]')
    always_run = {s["id"] for s in steps if s.get("always_run")}
    lines.extend(
        f"  {ids[dependency]} {'-.->' if step_id in always_run else '-->'} {ids[step_id]}"
        for dependency, step_id in _reduced_edges(direct)
    )
    return lines


def _reduced_edges(direct: Mapping[Any, Sequence[Any]]) -> list[tuple[Any, Any]]:
    """The edges `(dependency, node)` of `direct` (node → what it waits for) not implied by a
    longer path, in the order of `direct`."""
    ancestors: dict[Any, set[Any]] = {}

    def ancestors_of(node: Any) -> set[Any]:
        if node not in ancestors:
            ancestors[node] = set()  # guards a (malformed) cycle
            found: set[Any] = set()
            for dependency in direct[node]:
                found |= {dependency, *ancestors_of(dependency)}
            ancestors[node] = found
        return ancestors[node]

    edges: list[tuple[Any, Any]] = []
    for node, needed in direct.items():
        implied = {a for d in needed for a in ancestors_of(d)}
        edges.extend((d, node) for d in needed if d not in implied)
    return edges


def _stages(steps: Sequence[JSONObject]) -> dict[str, int]:
    """Each step's stage: 1 + the longest chain of steps it waits for (Kahn's algorithm).
    Steps caught in a (malformed) cycle get the stage after the last one."""
    known = {s["id"] for s in steps}
    needs = {s["id"]: {d for d in s.get("depends_on", []) if d in known} for s in steps}
    waiting = {step_id: len(deps) for step_id, deps in needs.items()}
    dependents: defaultdict[str, list[str]] = defaultdict(list)
    for step_id, deps in needs.items():
        for dependency in deps:
            dependents[dependency].append(step_id)
    stage = {step_id: 1 for step_id, count in waiting.items() if count == 0}
    ready = list(stage)
    while ready:
        current = ready.pop()
        for dependent in dependents[current]:
            stage[dependent] = max(stage.get(dependent, 1), stage[current] + 1)
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    last = max(stage.values(), default=0) + 1
    return {s["id"]: stage.get(s["id"], last) for s in steps}


_GroupKey = tuple[int, str, str]
"""(stage, operation, region); "" when the grouping leaves the part out."""


def _grouped_graph(steps: Sequence[JSONObject]) -> tuple[list[str], str]:
    """One box per (operation, region, stage); fewer parts past GRAPH_GROUPS_MAX boxes. Every
    key holds the stage, so an arrow always goes to a later stage: the boxes never form a loop
    (grouping by operation alone would draw e.g. Wait → SyncImages → Wait as a cycle)."""
    stage = _stages(steps)
    groupings: list[tuple[str, Callable[[JSONObject], _GroupKey]]] = [
        (
            "operation in one region at one stage",
            lambda s: (stage[s["id"]], _operation(s), str(s["region"])),
        ),
        ("operation at one stage (all regions)", lambda s: (stage[s["id"]], _operation(s), "")),
        ("stage (all operations and regions)", lambda s: (stage[s["id"]], "", "")),
    ]
    grouping, key = next(
        ((g, k) for g, k in groupings if len({k(s) for s in steps}) <= GRAPH_GROUPS_MAX),
        groupings[-1],
    )
    group_of = {s["id"]: key(s) for s in steps}
    counts = Counter(group_of.values())
    index = {group: i for i, group in enumerate(sorted(counts))}
    operations: defaultdict[_GroupKey, Counter[str]] = defaultdict(Counter)
    for s in steps:
        operations[group_of[s["id"]]][_operation(s)] += 1
    lines = []
    for group, i in index.items():
        at, operation, region = group
        if operation:
            head = f"{operation} x{counts[group]}"
        else:
            top = ", ".join(op for op, _ in operations[group].most_common(3))
            head = f"{counts[group]} steps: {top}" + (", …" if len(operations[group]) > 3 else "")
        where = f"{region} · stage {at}" if region else f"stage {at}"
        lines.append(f'  g{i}["{_mermaid(head, where)}"]')
    waits: dict[int, set[int]] = {i: set() for i in index.values()}
    for s in steps:
        own = group_of[s["id"]]
        waits[index[own]] |= {
            index[group_of[d]]
            for d in s.get("depends_on", [])
            if d in group_of and group_of[d] != own
        }
    edges = _reduced_edges({i: sorted(needed) for i, needed in waits.items()})
    lines.extend(f"  g{a} --> g{b}" for a, b in sorted(edges))
    return lines, grouping


def _mermaid(*parts: object) -> str:
    """A quoted Mermaid label, one part a line: each part on one line, with Mermaid's entity
    codes for the characters Mermaid or HTML would read (`#` first: it starts a code)."""
    lines = []
    for part in parts:
        text = " ".join(str(part).split())
        for char, code in (
            ("#", "#35;"),
            ("&", "#amp;"),
            ('"', "#quot;"),
            ("<", "#lt;"),
            (">", "#gt;"),
            ("`", "#96;"),
        ):
            text = text.replace(char, code)
        lines.append(text)
    return "<br/>".join(lines)


# -- per-resource details --------------------------------------------------------------------------


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


# -- text helpers ----------------------------------------------------------------------------------


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
