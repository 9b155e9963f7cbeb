"""The human plan and apply renderers: golden files, symbols, summary line, colour."""

from __future__ import annotations

import pytest

from reconciler.render.graph import render_graph
from reconciler.render.plan_json import plan_to_json
from reconciler.render.text import (
    apply_summary_line,
    format_elapsed,
    render_apply_result,
    render_plan,
    summary_line,
)

from .golden import assert_golden
from .sample_plans import empty_plan, full_plan


def test_full_plan_golden() -> None:
    assert_golden("plan_full.txt", render_plan(plan_to_json(full_plan())))


def test_empty_plan_says_no_changes() -> None:
    text = render_plan(plan_to_json(empty_plan()))
    assert text == "No changes. The cloud matches the manifests.\n"


def test_summary_line_wording() -> None:
    summary = {"create": 2, "update": 1, "replace": 0, "delete": 1, "forget": 0, "share": 3}
    assert summary_line(summary) == (
        "Plan: 2 to create, 1 to update, 0 to replace, 1 to delete, 0 to forget, "
        "3 to share, 0 to unshare."
    )


def test_symbols_and_details() -> None:
    text = render_plan(plan_to_json(full_plan()))
    assert "  + image.web-base (ap-guangzhou)  images/web.yaml:4" in text
    assert "  ± image.api (ap-shanghai, img-api00001)  api.yaml:2" in text
    assert "  -/+ image.db (ap-guangzhou, img-db000001)  db.yaml:7" in text
    assert "  - image.old (ap-guangzhou, img-old00001)" in text
    assert "  > image.kept (ap-guangzhou, img-kept0001)" in text
    assert "[new recipient]" in text
    assert '~ description: "old" -> "new"' in text
    assert '+ tags.team = "api"' in text
    assert '- tags.legacy = "yes"' in text
    assert "! the old image ID img-db000001 will stop existing" in text
    assert "image.same" not in text  # no-op changes are not listed
    assert text.index("drift") < text.index("will perform the following actions")
    assert "warn allowedAccounts: share.web-base@ap-guangzhou:100000000002" in text
    assert "Cost: +1.30 USD/month" in text
    assert "image.prot is protected" in text


def test_colour_only_when_asked() -> None:
    plain = render_plan(plan_to_json(full_plan()), color=False)
    coloured = render_plan(plan_to_json(full_plan()), color=True)
    assert "\x1b[" not in plain
    assert "\x1b[32m" in coloured


def test_refresh_only_plan_reports_drift_not_actions() -> None:
    encoded = plan_to_json(full_plan())
    encoded["options"]["refresh_only"] = True
    text = render_plan(encoded)
    assert "tags.owner changed outside the stack" in text
    assert "Refresh-only plan" in text
    assert "Plan:" not in text
    encoded["drift"] = []
    assert "No drift." in render_plan(encoded)


@pytest.mark.parametrize(
    ("counts", "interrupted", "expected"),
    [
        ({"done": 3}, False, "Apply complete: 3 done, 0 failed, 0 skipped."),
        (
            {"done": 1, "failed": 1, "skipped": 2},
            False,
            "Apply failed: 1 done, 1 failed, 2 skipped.",
        ),
        (
            {"done": 1, "not-run": 4},
            True,
            "Apply interrupted: 1 done, 0 failed, 0 skipped, 4 not run. "
            "Run plan again to continue from the cloud's state.",
        ),
    ],
)
def test_apply_summary_line(counts, interrupted, expected) -> None:  # type: ignore[no-untyped-def]
    assert apply_summary_line(counts, interrupted=interrupted) == expected


def test_apply_result_lists_failures_and_skips() -> None:
    result = {
        "ok": False,
        "interrupted": False,
        "counts": {"done": 1, "failed": 1, "skipped": 1, "not-run": 0},
        "steps": [
            {"id": "s1", "operation": "CreateImage", "address": "image.a", "region": "r",
             "status": "done", "error": None},
            {"id": "s2", "operation": "Wait", "address": "image.a", "region": "r",
             "status": "failed", "error": {"code": "ImageStateFailed", "message": "CREATEFAILED"}},
            {"id": "s3", "operation": "SyncImages", "address": "image.a", "region": "r",
             "status": "skipped", "error": None},
        ],
    }  # fmt: skip
    text = render_apply_result(result)
    assert "failed s2 Wait image.a (r): ImageStateFailed: CREATEFAILED" in text
    assert "skipped s3 SyncImages image.a (r)" in text
    assert "s1" not in text
    assert text.endswith("Apply failed: 1 done, 1 failed, 1 skipped.\n")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (42.9, "42s"), (190, "3m10s"), (3725, "1h02m")]
)
def test_format_elapsed(seconds, text) -> None:  # type: ignore[no-untyped-def]
    assert format_elapsed(seconds) == text


@pytest.mark.parametrize("graph_format", ["mermaid", "dot"])
def test_graph_golden(graph_format) -> None:  # type: ignore[no-untyped-def]
    rendered = render_graph(plan_to_json(full_plan()), graph_format)
    assert_golden(f"graph_full.{graph_format}", rendered)


def test_mermaid_edges_and_escaping() -> None:
    steps = [
        {"id": "s1", "operation": "CreateImage", "address": 'image."x"', "region": "r",
         "depends_on": [], "always_run": False},
        {"id": "s2", "operation": "Wait", "address": "image.x", "region": "r",
         "depends_on": ["s1"], "always_run": True},
    ]  # fmt: skip
    text = render_graph({"steps": steps}, "mermaid")
    assert "#quot;x#quot;" in text
    assert "  s1 -.-> s2" in text
    assert render_graph({"steps": []}, "mermaid") == 'flowchart TD\n  empty["no steps"]\n'
    dot = render_graph({"steps": steps}, "dot")
    assert '"s1" -> "s2" [style=dashed];' in dot


def test_a_whole_object_diff_is_split_into_fields() -> None:
    encoded = plan_to_json(empty_plan())
    encoded["changes"] = [
        {
            "address": "image.web",
            "action": "update",
            "reason": "r",
            "region": "ap-guangzhou",
            "diff": [
                {"path": "", "before": {"a": 1, "tags": {"x": "1"}}, "after": {"a": 2, "tags": {}}}
            ],
            "source": None,
            "before": None,
            "after": None,
            "warnings": [],
            "disruptive": False,
            "new_recipient": False,
            "image_id": None,
        }
    ]
    text = render_plan(encoded)
    assert "      ~ a: 1 -> 2\n" in text
    assert '      - tags.x = "1"\n' in text
