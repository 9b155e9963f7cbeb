"""Every example in manifests/ plans, applies and converges on a fresh simulated cloud (CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.render.plan_json import plan_schema

from .conftest import EXAMPLES, copy_example
from .runner import run_cli

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "stack.yaml").exists())
PREPARE: dict[str, tuple[str, ...]] = {
    # Packer built img-pkrdemo1 outside the stack: the README's first step simulates that build.
    "packer-distribution": (
        "cloud",
        "add-image",
        "--region",
        "ap-guangzhou",
        "--image-id",
        "img-pkrdemo1",
        "--name",
        "packer-web-20261101",
    ),
}
"""The `reconciler ...` step an example's README runs (on the stack directory) before planning."""


def test_there_are_examples() -> None:
    assert {"quickstart", "multi-team", "import-from-cos", "packer-distribution"} <= set(
        EXAMPLE_NAMES
    )


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_plan_apply_then_no_changes(example: str, tmp_path: Path, cloud_db: Path) -> None:
    stack = copy_example(example, tmp_path)
    db = ("--db", str(cloud_db))
    planfile = tmp_path / "plan.json"
    if example in PREPARE:
        prepared = run_cli(*PREPARE[example], str(stack), *db)
        assert prepared.exit_code == 0, prepared.stdout + prepared.stderr

    first = run_cli("plan", str(stack), *db, "--detailed-exitcode", "--out", str(planfile))
    assert first.exit_code == 2, first.stdout + first.stderr
    assert "Plan: " in first.stdout
    jsonschema.Draft202012Validator(plan_schema()).validate(json.loads(planfile.read_text()))

    applied = run_cli("apply", str(stack), *db, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "Apply complete:" in applied.stdout
    assert "0 failed, 0 skipped" in applied.stdout
    assert ": started" in applied.stderr  # progress goes to stderr

    second = run_cli("plan", str(stack), *db, "--detailed-exitcode")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "No changes." in second.stdout

    listed = run_cli("output", str(stack), *db, "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    images = json.loads(listed.stdout)
    assert images
    assert all(i["image_id"].startswith("img-") and i["state"] == "NORMAL" for i in images)
    assert {i["address"] for i in images} >= {
        c["address"]
        for c in json.loads(planfile.read_text())["changes"]
        if c["address"].startswith("image.")
    }


@pytest.mark.parametrize("example", sorted(PREPARE))
def test_the_readme_shows_the_preparation_step(example: str) -> None:
    readme = (EXAMPLES / example / "README.md").read_text(encoding="utf-8")
    step = " ".join(("reconciler", *PREPARE[example], f"manifests/{example}"))
    assert step in readme.splitlines()
    assert readme.index(step) < readme.index(f"reconciler plan manifests/{example}")


def test_quickstart_json_plan_is_only_json(quickstart: Path, cloud_db: Path) -> None:
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--format", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    jsonschema.Draft202012Validator(plan_schema()).validate(plan)
    assert plan["summary"]["create"] == 3  # the home image and two copies
    assert plan["summary"]["share"] == 3  # one account in three regions
    assert {s["operation"] for s in plan["steps"]} >= {"CreateImage", "Wait", "SyncImages"}
