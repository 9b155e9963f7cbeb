"""The step graph of the pull-request comment: Mermaid, every step or grouped by stage."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.render.markdown_text import FULL_PLAN_HINT, JSONObject

GRAPH_FULL_MAX_STEPS = 40
"""Up to this many steps the graph shows every step; beyond, steps are grouped."""
GRAPH_GROUPS_MAX = 60
"""Most boxes a grouped graph may have before it groups by operation alone."""


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
