"""The pull-request comment as a reviewer reads it: what survives shortening, a graph without
loops, values shown exactly, links that work, money to the cent, and hostile text that can't
break the comment's structure.

Where markdown-it-py (a CommonMark parser) is installed, the comment is also parsed, as GitHub
would, to check tags, links, cells and code spans.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reconciler.render.markdown import GRAPH_GROUPS_MAX, _code, render_markdown
from reconciler.render.text import format_money, render_plan

from .test_markdown import (
    SOURCE_URL,
    assert_golden,
    change,
    large_plan,
    plan_json,
    region_cost,
    step,
)

EDGE = re.compile(r"^ {2}(g\d+) --> (g\d+)$", re.MULTILINE)


def parsed(text: str) -> list[Any]:
    """The comment's tokens as GitHub-flavoured CommonMark (tables, strikethrough)."""
    return list(MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text))


def inline_children(tokens: list[Any]) -> list[Any]:
    return [child for token in tokens if token.type == "inline" for child in token.children]


# -- 1. shortening keeps the riskiest changes' details ---------------------------------------------


def risky_plan() -> dict[str, Any]:
    """Creates first in address order; the risky changes come last alphabetically."""
    big = {"description": "x" * 300, "imageName": "n", "tags": {"owner": "o" * 100}}
    changes = [change(f"image.a{n:03d}", "create", "declared", after=dict(big)) for n in range(40)]
    changes += [
        change("image.m-forget", "forget", "no longer declared; deletionPolicy Retain"),
        change("image.u-plain", "update", "tags changed", diff=[("tags.a", "1", "2")]),
        change("image.u-shared", "update", "description", diff=[("d", 1, 2)], disruptive=True),
        change("image.z-delete", "delete", "no longer declared", source=None),
        change("image.z-replace", "replace", "source changed: forces replacement"),
        change("share.z@ap-guangzhou:100000000001", "unshare", "no longer declared"),
        change(
            "share.z@ap-guangzhou:100000000002",
            "share",
            "declared",
            after={"account": "100000000002"},
            new_recipient=True,
        ),
        change("share.z@ap-guangzhou:100000000003", "share", "declared"),
    ]
    return plan_json(changes)


def detailed_addresses(text: str) -> list[str]:
    return re.findall(r"<details><summary><code>\S+ (\S+)</code>", text)


def test_shortening_keeps_full_details_for_the_riskiest_changes_first() -> None:
    text = render_markdown(risky_plan(), limit=9000)
    assert "This comment is shortened" in text
    detailed = detailed_addresses(text)
    assert detailed[:4] == [
        "image.z-delete",
        "image.z-replace",
        "share.z@ap-guangzhou:100000000001",
        "share.z@ap-guangzhou:100000000002",
    ]
    assert detailed[4:6] == ["image.u-shared", "image.u-plain"]
    assert all(address.startswith("image.a") for address in detailed[6:])
    assert 6 < len(detailed) < 40  # not every create fits
    # The remaining creates and shares, then the rest, are listed on one line each.
    one_line = re.findall(r"^- `\S+ (\S+)` (\S+) —", text, re.MULTILINE)
    assert one_line[-2:] == [
        ("share.z@ap-guangzhou:100000000003", "share"),
        ("image.m-forget", "forget"),
    ]
    assert "Full details go first to deletions, replacements, unshares and new recipients" in text


def test_when_even_one_line_each_is_too_much_the_risky_changes_still_come_first() -> None:
    text = render_markdown(risky_plan(), limit=3500)
    assert len(text) <= 3500
    detailed = detailed_addresses(text)
    assert detailed, text
    assert detailed[0] == "image.z-delete"
    assert "image.a000" not in detailed


def test_a_comment_that_fits_keeps_the_plan_order() -> None:
    text = render_markdown(risky_plan())
    assert "shortened" not in text
    assert detailed_addresses(text)[0] == "image.a000"


# -- 2. the step graph -----------------------------------------------------------------------------


def crossing_copies_plan(images: int = 30, regions: int = 2) -> dict[str, Any]:
    """Images homed in one region and copied into the next: grouped by (operation, region),
    Wait → SyncImages → Wait would loop between the regions."""
    names = [f"ap-region-{r:02d}" for r in range(regions)]
    steps = []
    for n in range(images):
        home, other = names[n % regions], names[(n + 1) % regions]
        steps += [
            step(f"c{n}", "CreateImage", f"image.i{n}", home),
            step(f"w{n}", "Wait", f"image.i{n}", home, f"c{n}"),
            step(f"s{n}", "SyncImages", f"image.i{n}", home, f"w{n}"),
            step(f"x{n}", "Wait", f"image.i{n}@{other}", other, f"s{n}"),
            step(f"p{n}", "ModifyImageSharePermission", f"share.i{n}", other, f"x{n}"),
            step(f"u{n}", "ModifyImageSharePermission", f"share.i{n}", home, permission="CANCEL"),
        ]
    return plan_json([change("image.i0", "create", "declared")], steps=steps)


def assert_acyclic(text: str) -> list[tuple[str, str]]:
    """The grouped graph's arrows, after checking they form no loop (Kahn's algorithm)."""
    edges = EDGE.findall(text)
    nodes = set(re.findall(r"^ {2}(g\d+)\[", text, re.MULTILINE))
    assert nodes
    assert {n for edge in edges for n in edge} <= nodes
    incoming = dict.fromkeys(nodes, 0)
    out: defaultdict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        assert a != b
        incoming[b] += 1
        out[a].append(b)
    ready = [n for n, count in incoming.items() if count == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for nxt in out[node]:
            incoming[nxt] -= 1
            if incoming[nxt] == 0:
                ready.append(nxt)
    assert seen == len(nodes), f"the grouped graph has a cycle: {edges}"
    return edges


def test_grouping_by_operation_and_region_alone_would_loop() -> None:
    """The plan of the next test really is one where the old grouping drew a cycle."""
    steps = crossing_copies_plan()["steps"]
    group = {s["id"]: (s["operation"], s["region"]) for s in steps}
    edges = {(group[d], group[s["id"]]) for s in steps for d in s["depends_on"]}
    assert (("Wait", "ap-region-00"), ("SyncImages", "ap-region-00")) in edges
    assert (("SyncImages", "ap-region-00"), ("Wait", "ap-region-01")) in edges
    assert (("Wait", "ap-region-01"), ("SyncImages", "ap-region-01")) in edges
    assert (("SyncImages", "ap-region-01"), ("Wait", "ap-region-00")) in edges


def test_the_grouped_graph_has_no_cycle_and_says_how_it_groups() -> None:
    text = render_markdown(crossing_copies_plan())
    assert "180 API operations, too many to draw one by one" in text
    assert "each box groups the steps of one operation in one region at one stage" in text
    assert "no loops" in text
    edges = assert_acyclic(text)
    assert edges
    assert '["Wait x15<br/>ap-region-00 · stage 2"]' in text
    assert '["Wait x15<br/>ap-region-00 · stage 4"]' in text  # the copies into it
    assert '["ModifyImageSharePermission CANCEL x15<br/>ap-region-00 · stage 1"]' in text
    assert '["ModifyImageSharePermission SHARE x15<br/>ap-region-01 · stage 5"]' in text


def test_past_the_box_limit_the_graph_groups_regions_and_stays_acyclic() -> None:
    text = render_markdown(crossing_copies_plan(images=80, regions=40))
    assert "one operation at one stage (all regions)" in text
    boxes = re.findall(r"^ {2}g\d+\[", text, re.MULTILINE)
    assert len(boxes) <= GRAPH_GROUPS_MAX
    assert '["Wait x80<br/>stage 2"]' in text
    assert_acyclic(text)


def test_the_500_image_graph_has_no_cycle() -> None:
    assert_acyclic(render_markdown(large_plan()))


def test_graph_labels_cannot_break_out_of_the_mermaid_block() -> None:
    steps = [
        step("s1", "CreateImage", 'image.x"]\n```\n<script>#quot;', "ap-guangzhou"),
        step("s2", "Wait", "image.y<br/>", "ap-guangzhou", "s1"),
    ]
    text = render_markdown(plan_json([change("image.x", "create", "declared")], steps=steps))
    graph = text.split("```mermaid\n", 1)[1].split("\n```\n", 1)[0]
    assert "<script" not in graph
    for line in graph.split("\n")[1:]:  # after "flowchart LR": one box or arrow a line
        assert re.fullmatch(r' {2}n\d+\["[^"`<>]*(<br/>[^"`<>]*)*"\]| {2}n\d+ --> n\d+', line)
    assert 'n0["CreateImage<br/>image.x#quot;] #96;#96;#96; #lt;script#gt;#35;quot;<br/>' in graph
    assert "image.y#lt;br/#gt;" in graph


# -- 3. values shown exactly ---------------------------------------------------------------------


def decode_code_span(span: str) -> str:
    """What a CommonMark renderer shows for a code span (without line breaks)."""
    fence = re.match(r"`+", span)
    assert fence is not None
    width = len(fence.group(0))
    assert span.endswith(fence.group(0))
    content = span[width:-width]
    assert re.search(rf"(?<!`)`{{{width}}}(?!`)", content) is None  # no closing run inside
    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
        content = content[1:-1]
    return content


@given(st.text(alphabet=st.sampled_from("`ab |\\*_<"), min_size=1, max_size=12))
def test_a_code_span_shows_any_text_exactly(value: str) -> None:
    span = _code(value)
    assert not span[len(span) - len(span.lstrip("`")) :].startswith("`")
    assert decode_code_span(span) == value


def test_values_with_backticks_are_shown_exactly() -> None:
    description = "run `make` then ``x`` ` done"
    updated = change(
        "image.web",
        "update",
        "description changed",
        diff=[("description", "plain", description), ("tags.`k`", None, "v|w")],
    )
    text = render_markdown(plan_json([updated]))
    assert "'" not in text.split("### Changes by resource", 1)[1]  # no backtick became a quote
    assert '| ``` "run `make` then ``x`` ` done" ``` |' in text
    assert '| `` tags.`k` `` | — | `"v\\|w"` |' in text
    codes = [t.content for t in inline_children(parsed(text)) if t.type == "code_inline"]
    assert f'"{description}"' in codes
    assert "tags.`k`" in codes
    assert '"v|w"' in codes


# -- 4. locations are the plan's -----------------------------------------------------------------


def test_a_change_is_traced_to_the_location_the_plan_gives() -> None:
    removed = change(
        "image.web@ap-singapore",
        "delete",
        "copy region removed: no longer declared: img-cp000001 is deleted",
        region="ap-singapore",
        source=("copies.yaml", 9),
        image_id="img-cp000001",
    )
    text = render_markdown(plan_json([removed]))
    assert "manifest `copies.yaml:9`" in text
    assert "> - `image.web@ap-singapore` — image `img-cp000001` (`copies.yaml:9`)" in text


# -- 5. money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "signed", "expected"),
    [
        (461.575, False, "461.58 USD"),
        (461.575, True, "+461.58 USD"),
        (1.3, True, "+1.30 USD"),
        (0.185, False, "0.19 USD"),
        (-2.005, True, "-2.01 USD"),
        (-0.004, True, "0.00 USD"),  # never "-0.00"
        (0.0, True, "0.00 USD"),
        (12, False, "12.00 USD"),
    ],
)
def test_money_is_shown_to_the_cent(value: float, signed: bool, expected: str) -> None:
    assert format_money(value, "USD", signed=signed) == expected


def money_plan() -> dict[str, Any]:
    created = change("image.web", "create", "declared", after={"sizeGb": 10})
    regions = [
        region_cost("ap-guangzhou", 100, 24_999),  # 24,949 GB over the free tier
        region_cost("ap-singapore", 60, 10, share=-0.004),
    ]
    return plan_json([created], regions=regions)


def test_markdown_and_text_plans_show_every_amount_to_the_cent() -> None:
    plan = money_plan()
    markdown = render_markdown(plan)
    assert "**+459.33 USD per month**" in markdown
    assert (
        "| ap-guangzhou | 100 → 24999 | 50 | 0.0185 | 0.93 USD | 461.56 USD "
        "| +460.63 USD | +460.63 USD |"
    ) in markdown
    assert "| 1.56 USD | 0.26 USD | -1.30 USD | 0.00 USD |" in markdown
    amounts = re.findall(r"[-+]?\d+\.\d+ USD", markdown)
    assert amounts
    assert all(re.fullmatch(r"[-+]?\d+\.\d{2} USD", a) for a in amounts)
    text = render_plan(plan)
    assert "Cost: +459.33 USD/month (snapshot storage)" in text
    assert "ap-guangzhou: +460.63 USD/month" in text
    assert "stack's share 0.00 USD/month" in text
    assert "-0.00" not in text + markdown


# -- 6. links --------------------------------------------------------------------------------------


def test_source_links_are_percent_encoded() -> None:
    shared = change(
        "share.web@ap-guangzhou:100000000002",
        "share",
        "declared",
        source=("teams/our images/<web> #1 (old).yaml", 7),
        new_recipient=True,
    )
    text = render_markdown(plan_json([shared]), source_url=SOURCE_URL + "/")
    url = f"{SOURCE_URL}/teams/our%20images/%3Cweb%3E%20%231%20%28old%29.yaml#L7"
    assert f"[`teams/our images/<web> #1 (old).yaml:7`]({url})" in text
    links = [t.attrs["href"] for t in inline_children(parsed(text)) if t.type == "link_open"]
    assert links
    assert set(links) == {url}


def test_a_base_url_keeps_its_own_escapes_and_loses_what_breaks_a_link() -> None:
    located = change("image.web", "create", "declared", source=("a.yaml", 2))
    text = render_markdown(
        plan_json([located]), source_url="https://git.example/my repo/blob/v1%2Fx (1)"
    )
    assert "(https://git.example/my%20repo/blob/v1%2Fx%20%281%29/a.yaml#L2)" in text


# -- 7. hostile text -------------------------------------------------------------------------------

HOSTILE = "</details><script>alert(1)</script> | col | [x](javascript:alert(1)) *b* <b>"


def hostile_plan() -> dict[str, Any]:
    changes = [
        change(
            "image.web",
            "update",
            f"description changed: {HOSTILE}",
            source=("images.yaml", 3),
            diff=[("description", "ok", HOSTILE), ("tags.team", "a", "| b | [l](http://x)")],
            warnings=["# not a heading [x](javascript:alert(1))"],
            disruptive=True,
            image_id="img-web00001",
        ),
        change(
            "image.old",
            "delete",
            "no longer declared",
            source=None,
            before={"description": HOSTILE, "tags": {"<k>": "</details>"}},
            image_id="img-old00001",
        ),
        change(
            "share.web@ap-guangzhou:100000000002",
            "share",
            "declared",
            source=("shares.yaml", 4),
            new_recipient=True,
        ),
    ]
    drift = [
        change(
            "image.web",
            "update",
            f"drift: {HOSTILE}",
            source=("images.yaml", 3),
        )
    ]
    policy = [
        {
            "rule": "requiredTags",
            "enforcement": "warn",
            "address": "image.web",
            "message": f'tag "owner" is {HOSTILE}',
            "source": {"file": "images.yaml", "line": 3},
        }
    ]
    errors = [f"- {HOSTILE}", f"1. {HOSTILE}"]
    return plan_json(changes, drift=drift, policy=policy, errors=errors)


def test_hostile_text_cannot_break_the_comment_golden() -> None:
    text = render_markdown(hostile_plan(), source_url=SOURCE_URL)
    assert_golden("hostile_values", text)
    # Structure: one <details> and one </details> per resource, nothing else.
    assert len(re.findall(r"^<details>", text, re.MULTILINE)) == 3
    assert len(re.findall(r"^</details>$", text, re.MULTILINE)) == 3
    # Raw HTML outside code spans is escaped (`\<`): only the folds start a line with a tag.
    tags = re.findall(r"^[ \t]*(?:>[ \t]*)*(?:[-*+][ \t]+)?<.*$", text, re.MULTILINE)
    ours = ("<sub>created ", "<details><summary><code>", "</details>")
    assert all(t.startswith(ours) for t in tags), tags
    assert "\\<script\\>" in text
    tokens = parsed(text)
    children = inline_children(tokens)
    # No raw HTML and no link but the manifest links.
    html = [t for t in [*tokens, *children] if t.type in {"html_block", "html_inline"}]
    assert {t.content.strip() for t in html} <= {
        "<details><summary><code>± image.web</code> will be updated in place — "
        "<b>disruptive</b></summary>",
        "<details><summary><code>- image.old</code> will be deleted</summary>",
        "<details><summary><code>+ share.web@ap-guangzhou:100000000002</code> will be "
        "shared — <b>new recipient</b></summary>",
        "</details>",
        "<sub>",
        "</sub>",
    }
    links = {t.attrs["href"] for t in children if t.type == "link_open"}
    assert links == {f"{SOURCE_URL}/images.yaml#L3", f"{SOURCE_URL}/shares.yaml#L4"}
    assert not [t for t in children if t.type in {"em_open", "s_open"}]  # only our own bold
    assert {t.tag for t in tokens if t.type == "heading_open"} == {"h2", "h3"}
    # Every table row has as many cells as its header.
    cells, header, in_head = 0, 0, False
    for token in tokens:
        if token.type in {"thead_open", "thead_close"}:
            in_head = token.type == "thead_open"
        elif token.type == "tr_open":
            cells = 0
        elif token.type in {"th_open", "td_open"}:
            cells += 1
        elif token.type == "tr_close":
            header = cells if in_head else header
            assert cells == header
    # The hostile text is shown as it is.
    plain = "".join(t.content for t in children if t.type in {"text", "code_inline"})
    assert "</details><script>alert(1)</script> | col | [x](javascript:alert(1))" in plain
