"""The step DAG of a plan as Mermaid (for markdown and `graph`) or Graphviz DOT."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

GRAPH_FORMATS = ("mermaid", "dot")


def _label_parts(step: Mapping[str, Any]) -> tuple[str, str, str]:
    return f"{step['id']} {step['operation']}", str(step["address"]), str(step["region"])


def _mermaid_text(text: str) -> str:
    # Mermaid labels are quoted strings; quotes and angle brackets need entity codes.
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def render_mermaid(steps: Sequence[Mapping[str, Any]]) -> str:
    """A `flowchart TD` with one node per step and an edge from each dependency."""
    lines = ["flowchart TD"]
    if not steps:
        lines.append('  empty["no steps"]')
    for step in steps:
        label = "<br/>".join(_mermaid_text(part) for part in _label_parts(step))
        lines.append(f'  {step["id"]}["{label}"]')
    for step in steps:
        arrow = "-.->" if step["always_run"] else "-->"
        lines.extend(f"  {dep} {arrow} {step['id']}" for dep in step["depends_on"])
    return "\n".join(lines) + "\n"


def render_dot(steps: Sequence[Mapping[str, Any]]) -> str:
    """A Graphviz digraph; always-run steps (re-shares) hang on dashed edges."""
    lines = ["digraph plan {", "  rankdir=TB;", "  node [shape=box, fontname=monospace];"]
    for step in steps:
        label = "\n".join(_label_parts(step))
        lines.append(f"  {json.dumps(step['id'])} [label={json.dumps(label)}];")
    for step in steps:
        style = " [style=dashed]" if step["always_run"] else ""
        lines.extend(
            f"  {json.dumps(dep)} -> {json.dumps(step['id'])}{style};" for dep in step["depends_on"]
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_graph(plan: Mapping[str, Any], graph_format: str) -> str:
    """The plan's steps in `mermaid` or `dot`."""
    steps = plan["steps"]
    return render_dot(steps) if graph_format == "dot" else render_mermaid(steps)
