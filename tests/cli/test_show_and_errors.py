"""Commands that need no cloud: `show PLANFILE`, plan-file errors, exit-code rules, error output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.commands.errors import error_lines
from reconciler.commands.plan import plan_exit_code, write_plan_file
from reconciler.errors import (
    LockError,
    LockNotFoundError,
    ManifestError,
    PlanError,
    StalePlanError,
)
from reconciler.manifests.problems import Problem
from reconciler.model.plan import Action, Change, Plan, PlanOptions, PolicyViolation
from reconciler.render.plan_json import plan_schema

from .runner import run_cli
from .sample_plans import empty_plan, full_plan


@pytest.fixture
def planfile(tmp_path: Path) -> Path:
    path = tmp_path / "plans" / "plan.json"
    path.parent.mkdir()
    write_plan_file(full_plan(), path)
    return path


def test_plan_file_is_schema_valid_json(planfile: Path) -> None:
    data = json.loads(planfile.read_text())
    jsonschema.Draft202012Validator(plan_schema()).validate(data)
    assert not list(planfile.parent.glob(".*.tmp"))  # atomic write leaves no temp file


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_show_prints_a_saved_plan(planfile: Path, fmt: str) -> None:
    result = run_cli("show", str(planfile), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        assert json.loads(result.stdout) == json.loads(planfile.read_text())
    else:
        assert "image.web-base" in result.stdout
    if fmt == "text":
        assert "Plan: 2 to create, 1 to update" in result.stdout
        assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_show_refuses_a_file_that_is_not_a_plan(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text('{"hello": 1}')
    result = run_cli("show", str(other))
    assert result.exit_code == 1
    assert "not a plan file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["show", "apply", "plan", "output", "graph"])
def test_a_path_that_does_not_exist_is_named_as_missing(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nonexist.json"
    result = run_cli(command, str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"Error: no such file or directory: {missing}\n"


def test_unlock_in_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    result = run_cli("unlock", "abc", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: no such file or directory: {tmp_path / 'nope'}\n"


def test_show_of_a_directory_says_it_is_a_directory(tmp_path: Path) -> None:
    result = run_cli("show", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path}: a directory, not a plan file (a JSON object with format_version)\n"
    )


def test_show_reports_a_schema_violation_with_its_location(planfile: Path) -> None:
    data = json.loads(planfile.read_text())
    data["changes"][0]["action"] = "explode"
    planfile.write_text(json.dumps(data))
    result = run_cli("show", str(planfile))
    assert result.exit_code == 1
    assert "invalid plan at changes/0/action" in result.stderr


def test_usage_errors_exit_1_not_2(planfile: Path) -> None:
    result = run_cli("show", str(planfile), "--format", "yaml")
    assert result.exit_code == 1
    result = run_cli("plan", "--no-such-option")
    assert result.exit_code == 1


def _with(plan: Plan, **changes: object) -> Plan:
    import dataclasses

    return dataclasses.replace(plan, **changes)  # type: ignore[arg-type]


DRIFT = (Change(address="image.a", action=Action.UPDATE, reason="drift"),)
DENY = (PolicyViolation(rule="destroy", enforcement="deny", address="image.a", message="no"),)
WARN = (PolicyViolation(rule="destroy", enforcement="warn", address="image.a", message="no"),)


@pytest.mark.parametrize(
    ("plan", "detailed", "code"),
    [
        (empty_plan(), False, 0),
        (empty_plan(), True, 0),
        (_with(full_plan(), errors=()), False, 0),
        (_with(full_plan(), errors=(), policy=WARN), True, 2),
        (full_plan(), True, 1),  # errors win over 2
        (_with(empty_plan(), policy=DENY), True, 1),
        (_with(empty_plan(), drift=DRIFT), True, 0),  # drift alone is not a change ...
        (_with(empty_plan(), drift=DRIFT, options=PlanOptions(refresh_only=True)), True, 2),
        (_with(empty_plan(), options=PlanOptions(refresh_only=True)), True, 0),
    ],
)
def test_plan_exit_codes(plan: Plan, detailed: bool, code: int) -> None:
    assert plan_exit_code(plan, detailed=detailed) == code


def test_error_lines_list_every_manifest_problem() -> None:
    problems = [
        Problem("a.yaml", 3, 5, "Image", "web", "/spec/region", "unknown region 'mars-1'"),
        Problem("b.yaml", 1, 1, "", "", "", "malformed YAML"),
    ]
    lines = error_lines(ManifestError(problems))
    assert lines[0] == "a.yaml:3:5: Image/web: unknown region 'mars-1'"
    assert lines[1] == "b.yaml:1:1: malformed YAML"
    assert lines[-1] == "Error: 2 problem(s) in the manifests"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (StalePlanError("image.a changed"), "Error: the plan is stale: image.a changed"),
        (LockError("held by ci@host"), "Error: the stack is locked: held by ci@host"),
        (
            LockNotFoundError("no apply lock with ID abc in cloud.db"),
            "Error: no apply lock with ID abc in cloud.db (nothing to unlock)",
        ),
        (PlanError("boom"), "Error: boom"),
    ],
)
def test_error_lines(error: Exception, text: str) -> None:
    assert error_lines(error) == [text]  # type: ignore[arg-type]
