"""The GitOps examples run: their reconciler commands, verbatim, against the embedded default.

Each CI file is parsed; its scripts run in bash in a workspace holding `images/` (a copy of
`manifests/quickstart`) with the simulated cloud. Tools that need the network (`pip`, `gh`,
`python3` posting notes or fetching artifacts) are stubs that log their arguments: the plan
file simply stays in the workspace between the plan and apply jobs, as the artifact would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cloud import instant_cloud

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "gitops" / "github-actions.yml"
GITLAB = ROOT / "docs" / "gitops" / "gitlab-ci.yml"
PRE_COMMIT = ROOT / ".pre-commit-hooks.yaml"
STUBBED = ("pip", "gh", "python3")
GITHUB_EXPRESSIONS = {
    "github.server_url": "https://github.com",
    "github.repository": "acme/images",
    "github.event.pull_request.head.sha": "0123abc",
    "github.token": "token",
    "secrets.TENCENTCLOUD_SECRET_ID": "",
    "secrets.TENCENTCLOUD_SECRET_KEY": "",
}
GITLAB_VARIABLES = {
    "CI_PROJECT_URL": "https://gitlab.example/acme/images",
    "CI_COMMIT_SHA": "0123abc",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(ROOT / "manifests" / "quickstart", work / "images")
    shutil.rmtree(work / "images" / ".reconciler", ignore_errors=True)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for tool in STUBBED:
        stub = stubs / tool
        stub.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> "{tmp_path}/stubs.log"\n', encoding="utf-8"
        )
        stub.chmod(0o755)
    instant_cloud(tmp_path / "cloud.db").close()
    return work


def environment(workspace: Path, extra: Mapping[str, str]) -> dict[str, str]:
    tmp = workspace.parent
    path = os.pathsep.join(
        [str(tmp / "stubs"), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    )
    return {
        "HOME": str(tmp),
        "PATH": path,
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "RECONCILER_CLOUD_DB": str(tmp / "cloud.db"),
        **extra,
    }


def run_script(
    script: str, workspace: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=workspace,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def github_value(text: Any) -> str:
    def expression(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        assert name in GITHUB_EXPRESSIONS, f"the test does not know the expression {name}"
        return GITHUB_EXPRESSIONS[name]

    return re.sub(r"\$\{\{(.*?)\}\}", expression, str(text))


def run_github_job(workflow: dict[str, Any], job: str, workspace: Path) -> list[str]:
    """Run the `run:` steps of one job; returns the scripts that ran."""
    base = {k: github_value(v) for k, v in workflow.get("env", {}).items()}
    ran = []
    for step in workflow["jobs"][job]["steps"]:
        if "run" not in step:
            continue
        step_env = {k: github_value(v) for k, v in step.get("env", {}).items()}
        env = environment(
            workspace,
            {**base, **step_env, "GITHUB_REPOSITORY": "acme/images", "GITHUB_SHA": "0123abc"},
        )
        result = run_script(github_value(step["run"]), workspace, env)
        assert result.returncode == 0, (step.get("name"), result.stdout, result.stderr)
        ran.append(step["run"])
    return ran


def gitlab_expand(value: str, variables: Mapping[str, str]) -> str:
    return re.sub(r"\$([A-Z_][A-Z0-9_]*)", lambda m: variables.get(m.group(1), m.group(0)), value)


def run_gitlab_job(pipeline: dict[str, Any], job: str, workspace: Path) -> list[str]:
    variables = {**GITLAB_VARIABLES, **pipeline.get("variables", {})}
    definition = pipeline[job]
    variables |= {
        k: gitlab_expand(str(v), variables) for k, v in definition.get("variables", {}).items()
    }
    lines = [*pipeline["default"]["before_script"], *definition["script"]]
    result = run_script("\n".join(lines), workspace, environment(workspace, variables))
    assert result.returncode == 0, (job, result.stdout, result.stderr)
    return list(definition["script"])


def assert_reviewed_and_applied(workspace: Path, ran: list[str], link_base: str) -> None:
    commands = " ".join(ran)
    for command in ("reconciler validate", "reconciler plan", "reconciler apply plan.json"):
        assert command in commands
    comment = (workspace / "plan.md").read_text(encoding="utf-8")
    assert comment.startswith("## Reconciler plan for stack `quickstart`")
    assert "**Plan: 3 to create" in comment
    assert f"]({link_base}/web-base.yaml#L" in comment
    plan = json.loads((workspace / "plan.json").read_text(encoding="utf-8"))
    assert plan["format_version"] == "1.0"
    # After the apply job, the cloud matches: a new plan has no changes (exit 0, not 2).
    after = run_script(
        'reconciler plan "$MANIFESTS" --detailed-exitcode',
        workspace,
        environment(workspace, {"MANIFESTS": "images"}),
    )
    assert after.returncode == 0, after.stdout + after.stderr


def assert_installed_from_the_repository(log: str) -> None:
    """reconciler is not on PyPI (a PyPI project of that name is unrelated): the pipelines install
    it from its Git repository, pinned to a commit the user fills in."""
    installs = [line for line in log.splitlines() if line.startswith("pip install")]
    assert installs
    for line in installs:
        assert "git+https://github.com/<org>/reconciler@<commit-sha>" in line, line
        assert "reconciler==" not in line


def test_github_actions_example_validates_plans_comments_and_applies(workspace: Path) -> None:
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    assert workflow["jobs"]["plan"]["if"] == "github.event_name == 'pull_request'"
    assert workflow["jobs"]["apply"]["if"] == "github.event_name == 'push'"
    uses = [s.get("uses", "") for s in workflow["jobs"]["plan"]["steps"]]
    assert any(u.startswith("marocchino/sticky-pull-request-comment") for u in uses)
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    ran = run_github_job(workflow, "plan", workspace)
    ran += run_github_job(workflow, "apply", workspace)
    assert_reviewed_and_applied(
        workspace, ran, "https://github.com/acme/images/blob/0123abc/images"
    )
    log = (workspace.parent / "stubs.log").read_text(encoding="utf-8")
    assert "gh run download" in log
    assert_installed_from_the_repository(log)


def test_gitlab_ci_example_validates_plans_notes_and_applies(workspace: Path) -> None:
    pipeline = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert pipeline["stages"] == ["validate", "plan", "apply"]
    assert "plan.json" in pipeline["plan"]["artifacts"]["paths"]
    ran = run_gitlab_job(pipeline, "validate", workspace)
    ran += run_gitlab_job(pipeline, "plan", workspace)
    ran += run_gitlab_job(pipeline, "apply", workspace)
    assert_reviewed_and_applied(
        workspace, ran, "https://gitlab.example/acme/images/-/blob/0123abc/images"
    )
    log = (workspace.parent / "stubs.log").read_text(encoding="utf-8")
    assert log.count("python3 -c") == 3  # the note, its body, the artifact download
    assert_installed_from_the_repository(log)


def test_a_plan_error_fails_the_plan_job_after_writing_the_comment(workspace: Path) -> None:
    stack = workspace / "images" / "stack.yaml"
    stack.write_text(
        stack.read_text(encoding="utf-8") + '  policy:\n    allowedAccounts: ["100000000009"]\n',
        encoding="utf-8",
    )
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    (plan_step,) = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("name") == "Plan"]
    env = environment(
        workspace,
        {"MANIFESTS": "images", **{k: github_value(v) for k, v in plan_step["env"].items()}},
    )
    result = run_script(github_value(plan_step["run"]), workspace, env)
    assert result.returncode == 1
    assert "allowedAccounts" in (workspace / "plan.md").read_text(encoding="utf-8")


def test_pre_commit_hook_runs_reconciler_validate(workspace: Path) -> None:
    (hook,) = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    assert hook["id"] == "reconciler-validate"
    assert hook["pass_filenames"] is False
    command = f"{hook['entry']} images"
    env = environment(workspace, {})
    ok = run_script(command, workspace, env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK:")
    (workspace / "images" / "broken.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Image\nmetadata: {name: Bad_Name}\nspec: {}\n",
        encoding="utf-8",
    )
    broken = run_script(command, workspace, env)
    assert broken.returncode == 1
    assert "broken.yaml:3" in broken.stdout + broken.stderr
