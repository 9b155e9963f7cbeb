"""The human plan (Terraform style), read from the JSON plan, plus apply summaries.

Symbols: `+` create, `~` update, `±` update of a shared image (disruptive: unshare → modify →
re-share), `-/+` replace, `-` delete, `>` forget (the stack lets go; the image stays), and for
shares `+` share, `-` unshare. No-op changes are not listed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TextIO

import click

SYMBOLS: Mapping[str, str] = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "forget": ">",
    "share": "+",
    "unshare": "-",
    "no-op": " ",
}
DISRUPTIVE_SYMBOL = "±"
KNOWN_AFTER_APPLY = "(known after apply)"

COLOURS: Mapping[str, str] = {
    "create": "green",
    "share": "green",
    "update": "yellow",
    "replace": "magenta",
    "delete": "red",
    "unshare": "red",
    "forget": "cyan",
    "no-op": "white",
}

VERBS: Mapping[str, str] = {
    "create": "will be created",
    "update": "will be updated in place",
    "replace": "will be replaced (create before destroy)",
    "delete": "will be deleted",
    "forget": "will no longer be managed (the image is kept)",
    "share": "will be shared",
    "unshare": "will be unshared",
}

SUMMARY_PARTS: tuple[tuple[str, str], ...] = (
    ("create", "to create"),
    ("update", "to update"),
    ("replace", "to replace"),
    ("delete", "to delete"),
    ("forget", "to forget"),
    ("share", "to share"),
    ("unshare", "to unshare"),
)

Styler = Callable[..., str]


def _styler(color: bool) -> Styler:
    def style(text: str, **kwargs: Any) -> str:
        return click.style(text, **kwargs) if color else text

    return style


def summary_line(summary: Mapping[str, int]) -> str:
    """`Plan: 2 to create, 1 to update, ... 0 to unshare.`"""
    parts = ", ".join(f"{summary.get(action, 0)} {words}" for action, words in SUMMARY_PARTS)
    return f"Plan: {parts}."


def format_value(value: Any) -> str:
    """A JSON value as the plan shows it: strings quoted, objects compact."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _flatten(attributes: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key in sorted(attributes):
        value = attributes[key]
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{path}.")
        else:
            yield path, value


def _leaf_diffs(path: str, before: Any, after: Any) -> Iterable[tuple[str, Any, Any]]:
    """Split a diff of two objects (e.g. the whole-spec diff of a create) into its fields."""
    objects = (before is None or isinstance(before, Mapping)) and (
        after is None or isinstance(after, Mapping)
    )
    if not objects or (before is None and after is None) or (not before and not after):
        yield path, before, after
        return
    old, new = before or {}, after or {}
    for key in sorted({*old, *new}):
        sub = f"{path}.{key}" if path else str(key)
        if old.get(key) != new.get(key):
            yield from _leaf_diffs(sub, old.get(key), new.get(key))


def _diff_lines(change: Mapping[str, Any], style: Styler) -> list[str]:
    lines: list[str] = []
    action = change["action"]
    if change["diff"]:
        for entry in change["diff"]:
            for path, before, after in _leaf_diffs(entry["path"], entry["before"], entry["after"]):
                if before is None:
                    shown = KNOWN_AFTER_APPLY if after is None else format_value(after)
                    lines.append(style("+", fg="green") + f" {path} = {shown}")
                elif after is None:
                    lines.append(style("-", fg="red") + f" {path} = {format_value(before)}")
                else:
                    lines.append(
                        style("~", fg="yellow")
                        + f" {path}: {format_value(before)} -> {format_value(after)}"
                    )
    elif action == "create" and change["after"]:
        lines.extend(
            style("+", fg="green")
            + f" {path} = {KNOWN_AFTER_APPLY if value is None else format_value(value)}"
            for path, value in _flatten(change["after"])
        )
    elif action == "delete" and change["before"]:
        lines.extend(
            style("-", fg="red") + f" {path} = {format_value(value)}"
            for path, value in _flatten(change["before"])
        )
    return lines


def _header(change: Mapping[str, Any], style: Styler) -> str:
    action = change["action"]
    symbol = DISRUPTIVE_SYMBOL if change["disruptive"] else SYMBOLS.get(action, "?")
    where = [change["region"]] if change["region"] else []
    if change["image_id"]:
        where.append(change["image_id"])
    location = f" ({', '.join(where)})" if where else ""
    source = change["source"]
    at = f"  {source['file']}:{source['line']}" if source else ""
    flags = ""
    if change["new_recipient"]:
        flags += style("  [new recipient]", fg="yellow", bold=True)
    if change["disruptive"]:
        flags += style("  [disruptive: unshare → modify → re-share]", fg="yellow", bold=True)
    head = style(f"{symbol} {change['address']}", fg=COLOURS.get(action, "white"), bold=True)
    return f"  {head}{location}{style(at, dim=True)}{flags}"


def render_change(change: Mapping[str, Any], *, color: bool = False, drift: bool = False) -> str:
    """One change (or drift entry) with its reason, field diffs and warnings."""
    style = _styler(color)
    lines = [_header(change, style)]
    if change["reason"]:
        lines.append(f"      {'drift' if drift else 'reason'}: {change['reason']}")
    lines.extend(f"      {line}" for line in _diff_lines(change, style))
    lines.extend("      " + style(f"! {warning}", fg="yellow") for warning in change["warnings"])
    return "\n".join(lines)


def _policy_lines(policy: list[Mapping[str, Any]], style: Styler) -> list[str]:
    lines = []
    for violation in policy:
        source = violation["source"]
        at = f" ({source['file']}:{source['line']})" if source else ""
        colour = "red" if violation["enforcement"] == "deny" else "yellow"
        tag = style(f"{violation['enforcement']}", fg=colour, bold=True)
        lines.append(
            f"  {tag} {violation['rule']}: {violation['address']}: {violation['message']}{at}"
        )
    return lines


def format_money(value: float, currency: str, *, signed: bool = False) -> str:
    """An amount to the cent (half up), e.g. `461.58 USD`; a delta (`signed`) carries `+` or
    `-` unless it rounds to `0.00`. The one money format of the text and markdown plans."""
    cents = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents == 0:
        return f"0.00 {currency}"
    return f"{cents:+.2f} {currency}" if signed else f"{cents:.2f} {currency}"


def _money(value: float, currency: str) -> str:
    return f"{format_money(value, currency, signed=True)}/month"


def _cost_lines(cost: Mapping[str, Any]) -> list[str]:
    regions = [r for r in cost["regions"] if r["monthly_delta"] or r["stack_share_of_delta"]]
    if not regions:
        return []
    currency = cost["currency"]
    lines = [f"Cost: {_money(cost['monthly_delta'], currency)} (snapshot storage)"]
    for region in regions:
        lines.append(
            f"  {region['region']}: {_money(region['monthly_delta'], currency)}"
            f" ({region['account_gb_before']:g} GB → {region['account_gb_after']:g} GB,"
            f" free tier {region['free_tier_gb']:g} GB,"
            f" stack's share {_money(region['stack_share_of_delta'], currency)})"
        )
    return lines


def render_plan(plan: Mapping[str, Any], *, color: bool = False) -> str:
    """The whole human plan: drift, actions, summary line, policy, cost and errors."""
    style = _styler(color)
    blocks: list[str] = []
    refresh_only = plan["options"]["refresh_only"]
    if plan["drift"]:
        drift = [render_change(c, color=color, drift=True) for c in plan["drift"]]
        title = style("Changes made outside the stack (drift):", bold=True)
        blocks.append(title + "\n\n" + "\n\n".join(drift))
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    if refresh_only:
        blocks.append(
            "Refresh-only plan: the drift above is reported, not corrected."
            if plan["drift"]
            else "No drift. The cloud matches what the stack last applied."
        )
    elif changes:
        rendered = [render_change(c, color=color) for c in changes]
        blocks.append(
            style("Reconciler will perform the following actions:", bold=True)
            + "\n\n"
            + "\n\n".join(rendered)
        )
        blocks.append(style(summary_line(plan["summary"]), bold=True))
    elif not plan["errors"]:
        no_changes = style("No changes.", fg="green", bold=True)
        options = plan["options"]
        if options.get("destroy"):
            where = " at the targeted addresses" if options.get("targets") else ""
            blocks.append(f"{no_changes} Nothing to destroy: the stack owns no images{where}.")
        else:
            blocks.append(f"{no_changes} The cloud matches the manifests.")
    if plan["policy"]:
        blocks.append(
            style("Policy:", bold=True) + "\n" + "\n".join(_policy_lines(plan["policy"], style))
        )
    cost_lines = _cost_lines(plan["cost"])
    if cost_lines and not refresh_only:
        blocks.append("\n".join(cost_lines))
    if plan["errors"]:
        errors = "\n".join(f"  {error}" for error in plan["errors"])
        title = style("Errors (the plan can't be applied):", fg="red", bold=True)
        blocks.append(f"{title}\n{errors}")
    return "\n\n".join(blocks) + "\n"


def apply_summary_line(counts: Mapping[str, int], *, interrupted: bool) -> str:
    """`Apply complete: 7 done, 0 failed, 0 skipped.` (or failed / interrupted)."""
    body = (
        f"{counts.get('done', 0)} done, {counts.get('failed', 0)} failed, "
        f"{counts.get('skipped', 0)} skipped"
    )
    if counts.get("not-run", 0):
        body += f", {counts['not-run']} not run"
    if interrupted:
        return f"Apply interrupted: {body}. Run plan again to continue from the cloud's state."
    if counts.get("failed", 0) or counts.get("skipped", 0):
        return f"Apply failed: {body}."
    return f"Apply complete: {body}."


def render_apply_result(result: Mapping[str, Any], *, color: bool = False) -> str:
    """The apply summary from `apply_json.apply_result_to_json`: failures, skips, counts."""
    style = _styler(color)
    lines: list[str] = []
    for outcome in result["steps"]:
        if outcome["status"] == "failed":
            error = outcome["error"] or {}
            lines.append(
                style("  failed ", fg="red", bold=True)
                + f"{outcome['id']} {outcome['operation']} {outcome['address']}"
                f" ({outcome['region']}): {error.get('code', '')}: {error.get('message', '')}"
            )
        elif outcome["status"] == "skipped":
            lines.append(
                style(f"  {outcome['status']} ", fg="yellow")
                + f"{outcome['id']} {outcome['operation']} {outcome['address']}"
                f" ({outcome['region']})"
            )
    head = apply_summary_line(result["counts"], interrupted=result["interrupted"])
    colour = "green" if result["ok"] else "red"
    return "\n".join([*lines, style(head, fg=colour, bold=True)]) + "\n"


def format_elapsed(seconds: float) -> str:
    """`3m10s`, `42s`, `1h02m`."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{(total % 3600) // 60:02d}m"


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
