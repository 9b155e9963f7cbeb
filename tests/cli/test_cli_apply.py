"""The command line around apply: confirmation, JSON, signals, lock, output, graph, secrets."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from reconciler.cloudsim import CloudSim
from reconciler.commands import apply as apply_command
from reconciler.engine.result import StepOutcome
from reconciler.model.plan import Step
from reconciler.render.progress import LineProgress

from .cloud import CloudProbe
from .runner import run_cli


def test_no_terminal_and_no_auto_approve_refuses(
    quickstart: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    result = run_cli("apply", str(quickstart), "--db", str(cloud_db))
    assert result.exit_code == 1
    assert "--auto-approve" in result.stderr
    assert not probe.owned("quickstart")


@pytest.mark.parametrize("case", [("no\n", 1, 0), ("yes\n", 0, 3)])
def test_confirmation_on_a_terminal(
    case: tuple[str, int, int],
    quickstart: Path,
    cloud_db: Path,
    probe: CloudProbe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer, code, owned = case
    monkeypatch.setattr(apply_command, "stdin_is_interactive", lambda: True)
    result = run_cli("apply", str(quickstart), "--db", str(cloud_db), input_text=answer)
    assert result.exit_code == code, result.stdout + result.stderr
    assert "Only 'yes' will be accepted" in result.stderr
    assert len(probe.owned("quickstart")) == owned


def test_apply_json_prints_only_json(quickstart: Path, cloud_db: Path) -> None:
    result = run_cli(
        "apply", str(quickstart), "--db", str(cloud_db), "--auto-approve", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["exit_code"] == 0
    assert report["counts"]["done"] == len(report["steps"]) > 0
    assert all(s["status"] == "done" for s in report["steps"])
    again = run_cli(
        "apply", str(quickstart), "--db", str(cloud_db), "--auto-approve", "--format", "json"
    )
    assert json.loads(again.stdout)["steps"] == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_apply(
    signum: int,
    code: int,
    quickstart: Path,
    cloud_db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []

    class SignalAfterFirstStep(LineProgress):
        def step_finished(self, step: Step, outcome: StepOutcome) -> None:
            super().step_finished(step, outcome)
            if not sent:
                sent.append(signum)
                os.kill(os.getpid(), signum)

    monkeypatch.setattr(apply_command, "LineProgress", SignalAfterFirstStep)
    result = run_cli(
        "apply", str(quickstart), "--db", str(cloud_db), "--auto-approve", "--parallelism", "1"
    )
    assert result.exit_code == code, result.stdout + result.stderr
    assert "Apply interrupted" in result.stdout
    assert "Stopping" in result.stderr
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    resumed = run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
    final = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--detailed-exitcode")
    assert final.exit_code == 0, final.stdout


def test_lock_refuses_a_second_apply_until_unlocked(quickstart: Path, cloud_db: Path) -> None:
    from reconciler.engine.lock import SqliteLockStore

    held = SqliteLockStore(cloud_db).acquire("quickstart", owner="ci", host="runner-7")
    refused = run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    assert refused.exit_code == 1
    assert "ci@runner-7" in refused.stderr
    assert held.id in refused.stderr
    # The refusal prints the command that removes the lock, with the PATH and --db used.
    hint = f"`reconciler unlock {held.id} {quickstart} --db {cloud_db}`"
    assert hint in refused.stderr
    unlocked = run_cli("unlock", held.id, str(quickstart), "--db", str(cloud_db))
    assert unlocked.exit_code == 0, unlocked.stderr
    again = run_cli("unlock", held.id, str(quickstart), "--db", str(cloud_db))
    assert again.exit_code == 1
    assert again.stderr == (
        f"Error: no apply lock with ID {held.id} in {cloud_db} (nothing to unlock)\n"
    )
    applied = run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr


def test_output_lists_image_ids_per_address_and_region(quickstart: Path, cloud_db: Path) -> None:
    assert "owns no images" in run_cli("output", str(quickstart), "--db", str(cloud_db)).stdout
    run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    text = run_cli("output", str(quickstart), "--db", str(cloud_db)).stdout
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:2] == ["image.web-base", "ap-guangzhou"]
    assert lines[1].split()[:2] == ["image.web-base@ap-shanghai", "ap-shanghai"]
    assert all(line.split()[2].startswith("img-") for line in lines)


@pytest.mark.parametrize(("fmt", "start"), [("mermaid", "flowchart TD"), ("dot", "digraph plan {")])
def test_graph(fmt: str, start: str, quickstart: Path, cloud_db: Path) -> None:
    result = run_cli("graph", str(quickstart), "--db", str(cloud_db), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(start)
    assert "CreateImage" in result.stdout
    assert "SyncImages" in result.stdout


def test_manifest_problems_exit_1_with_locations(quickstart: Path, cloud_db: Path) -> None:
    (quickstart / "web-base.yaml").write_text(
        (quickstart / "web-base.yaml").read_text().replace("region: ap-guangzhou", "region: mars")
    )
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--detailed-exitcode")
    assert result.exit_code == 1
    assert "web-base.yaml:" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_policy_and_plan_errors_win_over_detailed_exitcode(
    quickstart: Path, cloud_db: Path
) -> None:
    stack = quickstart / "stack.yaml"
    stack.write_text(stack.read_text() + "  policy:\n    allowedAccounts: ['100000000003']\n")
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--detailed-exitcode")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "allowedAccounts" in result.stderr
    applied = run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    assert applied.exit_code == 1
    assert "policy" in applied.stderr


def test_secrets_are_never_printed(quickstart: Path, cloud_db: Path, tmp_path: Path) -> None:
    sim = CloudSim(cloud_db)
    secrets = [a.secret_key for a in sim.credentials()]
    sim.close()
    assert secrets
    planfile = tmp_path / "plan.json"
    db = ("--db", str(cloud_db))
    outputs = [
        run_cli("plan", str(quickstart), *db, "--out", str(planfile)),
        run_cli("plan", str(quickstart), *db, "--format", "json"),
        run_cli("show", str(planfile), "--format", "markdown"),
        run_cli("apply", str(quickstart), *db, "--auto-approve"),
        run_cli("output", str(quickstart), *db, "--format", "json"),
        run_cli("graph", str(quickstart), *db),
    ]
    everything = "".join(r.stdout + r.stderr for r in outputs) + planfile.read_text()
    for secret in secrets:
        assert secret not in everything


def test_a_failed_step_fails_the_apply_and_skips_only_its_dependents(
    quickstart: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    sim = CloudSim(cloud_db)
    sim.set_fault("SyncImages", "InvalidParameterValue.InvalidImageId", count=1)
    sim.close()
    result = run_cli(
        "apply", str(quickstart), "--db", str(cloud_db), "--auto-approve", "--format", "json"
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    failed = [s for s in report["steps"] if s["status"] == "failed"]
    assert [s["operation"] for s in failed] == ["SyncImages"]
    assert failed[0]["error"]["code"] == "InvalidParameterValue.InvalidImageId"
    assert report["counts"]["skipped"] > 0
    status = {s["operation"]: s["status"] for s in report["steps"] if s["region"] == "ap-guangzhou"}
    assert status["CreateImage"] == "done"  # steps before the failure (not its dependents) ran
    assert [i.region for i in probe.owned("quickstart")] == ["ap-guangzhou"]
    text = run_cli("apply", str(quickstart), "--db", str(cloud_db), "--auto-approve")
    assert text.exit_code == 0, text.stdout + text.stderr
