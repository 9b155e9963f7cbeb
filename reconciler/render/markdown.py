"""The plan as a pull-request comment (SPEC §8): GitHub markdown read from the JSON plan.

Sections, in order: title, summary line, plan errors, policy violations, warnings (deletions,
replacements, unshares, disruptive updates, new recipients), drift, cost, the step graph
(Mermaid), then one folded `<details>` per resource. The whole comment fits `limit` characters
(GitHub's 65,536): long lists are capped, a big step graph is grouped, and past the limit the
per-resource details are shortened, saying so and how to see the full plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.render.markdown_details import _with_details
from reconciler.render.markdown_graph import GRAPH_GROUPS_MAX, _graph
from reconciler.render.markdown_text import (
    JSONObject,
    _capped,
    _code,
    _fit,
    _gb,
    _money,
    _more_line,
    _SourceLinks,
    _text,
    _value,
)
from reconciler.render.text import summary_line

__all__ = ["GITHUB_COMMENT_LIMIT", "GRAPH_GROUPS_MAX", "render_markdown"]

GITHUB_COMMENT_LIMIT = 65536
LIST_CAP = 25
"""Entries shown per warning list, policy table and drift table before "… and N more"."""


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
