"""Policy end to end: a share outside allowedAccounts fails plan and apply, or (warn) is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .cloud import instant_cloud, reconciler

STACK = """\
apiVersion: reconciler/v1
kind: Stack
metadata: {{name: prod}}
spec:
  regions: [ap-guangzhou]
  policy:
    allowedAccounts: ["100000000002"]
    enforcement: {enforcement}
"""
IMAGES = """\
apiVersion: reconciler/v1
kind: Image
metadata: {name: web}
spec:
  region: ap-guangzhou
  source:
    instance: {id: ins-demo0001}
---
apiVersion: reconciler/v1
kind: ImageShare
metadata: {name: web-partners}
spec:
  image: web
  accounts: ["100000000002", "100000000003"]
"""
SHARE_DOCUMENT_LINES = range(10, 17)
"""Lines of the ImageShare document in images.yaml: where the violation must point."""


def share_line(text: str) -> int:
    """The manifest line named on the line that reports the violation."""
    for line in text.splitlines():
        match = re.search(r"images\.yaml:(\d+)", line)
        if match and "allowedAccounts" in line and "100000000003" in line:
            return int(match.group(1))
    raise AssertionError(f"no allowedAccounts violation with a file:line in:\n{text}")


def stack(tmp_path: Path, enforcement: str) -> tuple[Path, Path]:
    root = tmp_path / "images"
    root.mkdir()
    (root / "stack.yaml").write_text(STACK.format(enforcement=enforcement), encoding="utf-8")
    (root / "images.yaml").write_text(IMAGES, encoding="utf-8")
    db = tmp_path / "cloud.db"
    instant_cloud(db).close()
    return root, db


def test_deny_fails_plan_and_apply_with_the_rule_and_file_line(tmp_path: Path) -> None:
    root, db = stack(tmp_path, "deny")
    plan = reconciler("plan", str(root), "--db", str(db))
    assert plan.exit_code == 1
    assert "allowedAccounts" in plan.stderr
    assert "share.web@ap-guangzhou:100000000003" in plan.stderr
    assert share_line(plan.stderr) in SHARE_DOCUMENT_LINES
    apply = reconciler("apply", str(root), "--db", str(db), "--auto-approve")
    assert apply.exit_code == 1
    assert "allowedAccounts" in apply.stderr
    assert share_line(apply.stderr) in SHARE_DOCUMENT_LINES
    markdown = reconciler("plan", str(root), "--db", str(db), "--format", "markdown")
    assert markdown.exit_code == 1
    assert "⛔ deny | `allowedAccounts`" in markdown.stdout


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_warn_passes_and_shows_the_violation(tmp_path: Path, output_format: str) -> None:
    root, db = stack(tmp_path, "warn")
    plan = reconciler("plan", str(root), "--db", str(db), "--format", output_format)
    assert plan.exit_code == 0, plan.stderr
    assert "allowedAccounts" in plan.stdout
    assert "100000000003" in plan.stdout
    assert share_line(plan.stdout) in SHARE_DOCUMENT_LINES


def test_warn_lets_apply_share_with_the_account(tmp_path: Path) -> None:
    root, db = stack(tmp_path, "warn")
    apply = reconciler("apply", str(root), "--db", str(db), "--auto-approve")
    assert apply.exit_code == 0, apply.stdout + apply.stderr
    again = reconciler("plan", str(root), "--db", str(db), "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
