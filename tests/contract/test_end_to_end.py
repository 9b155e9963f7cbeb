"""End to end: `manifests/quickstart` planned and applied through the emulator over HTTP.

A Stack with `provider: {type: tencentcloud, endpoint: 127.0.0.1:PORT, protocol: http}` must
behave exactly as the embedded default; and no command prints the credentials in use. The CLI
runs in-process on one virtual timeline shared by the executor and both simulated clouds, so
waits take no wall time; signatures are still checked against real time.
"""

from __future__ import annotations

import functools
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import app
from reconciler.cli import main
from reconciler.cloudsim.server import CloudServer, serve
from reconciler.engine.clock import VirtualClock

QUICKSTART = Path(__file__).resolve().parents[2] / "manifests" / "quickstart"
OWN_UIN = "100000000001"
SESSION_TOKEN = "sessionTokenSentinelNeverToBePrinted"


@dataclass(frozen=True, slots=True)
class Ran:
    """One CLI run, in-process."""

    code: int
    out: str
    err: str


@dataclass
class Stacks:
    """The quickstart twice: on the embedded default, and over HTTP into the emulator."""

    local: Path
    local_db: Path
    remote: Path
    secret_id: str
    secret_key: str
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> Ran:
        self.capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        else:
            code = 0
        captured = self.capsys.readouterr()
        return Ran(code, captured.out, captured.err)


def _point_at(stack_dir: Path, endpoint: str) -> None:
    for path in sorted(stack_dir.glob("*.y*ml")):
        documents = list(yaml.safe_load_all(path.read_text()))
        if any(isinstance(doc, dict) and doc.get("kind") == "Stack" for doc in documents):
            for doc in documents:
                if isinstance(doc, dict) and doc.get("kind") == "Stack":
                    doc["spec"]["provider"] = {
                        "type": "tencentcloud",
                        "endpoint": endpoint,
                        "protocol": "http",
                    }
            path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
            return
    raise AssertionError(f"no Stack in {stack_dir}")


@pytest.fixture
def stacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Stacks]:
    clock = VirtualClock(start=time.time())
    monkeypatch.setattr(app, "Runtime", functools.partial(app.Runtime, clock=clock))
    server: CloudServer = serve("127.0.0.1", 0, tmp_path / "emulator.db", clock=clock)
    try:
        own = next(a for a in server.cloud.credentials() if a.uin == OWN_UIN)
        local = tmp_path / "local"
        remote = tmp_path / "remote"
        shutil.copytree(QUICKSTART, local)
        shutil.copytree(QUICKSTART, remote)
        _point_at(remote, server.endpoint)
        for name in ("RECONCILER_CLOUD_DB", "TENCENTCLOUD_UIN", "TCCLI_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", own.secret_id)
        monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", own.secret_key)
        monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", SESSION_TOKEN)
        monkeypatch.chdir(tmp_path)
        yield Stacks(local, tmp_path / "local.db", remote, own.secret_id, own.secret_key, capsys)
    finally:
        server.stop()


def _comparable_plan(text: str) -> dict[str, Any]:
    plan = json.loads(text)
    return {
        "summary": plan["summary"],
        "changes": [
            (c["address"], c["action"], c["reason"], c["region"], c["diff"], c["source"])
            for c in plan["changes"]
        ],
        "steps": [
            (s["id"], s["operation"], s["service"], s["address"], s["region"], s["depends_on"])
            for s in plan["steps"]
        ],
        "policy": plan["policy"],
        "errors": plan["errors"],
    }


def _comparable_output(text: str) -> list[tuple[str, ...]]:
    rows = json.loads(text)
    assert rows, "output listed nothing"
    return sorted(
        tuple(str(row[key]) for key in sorted(row) if key not in ("image_id", "ImageId"))
        for row in rows
    )


def test_quickstart_over_http_behaves_as_the_embedded_default(stacks: Stacks) -> None:
    db = ("--db", str(stacks.local_db))
    local_plan = stacks.run("plan", str(stacks.local), "--format", "json", *db)
    remote_plan = stacks.run("plan", str(stacks.remote), "--format", "json")
    assert (local_plan.code, remote_plan.code) == (0, 0), remote_plan.err
    assert _comparable_plan(remote_plan.out) == _comparable_plan(local_plan.out)
    assert json.loads(remote_plan.out)["summary"]["create"] == 3

    local_apply = stacks.run("apply", str(stacks.local), "--auto-approve", *db)
    remote_apply = stacks.run("apply", str(stacks.remote), "--auto-approve")
    assert local_apply.code == 0, local_apply.err
    assert remote_apply.code == 0, remote_apply.err

    for args in (
        ("plan", str(stacks.local), "--detailed-exitcode", *db),
        ("plan", str(stacks.remote), "--detailed-exitcode"),
    ):
        settled = stacks.run(*args)
        assert settled.code == 0, settled.out + settled.err

    local_output = stacks.run("output", str(stacks.local), "--format", "json", *db)
    remote_output = stacks.run("output", str(stacks.remote), "--format", "json")
    assert _comparable_output(remote_output.out) == _comparable_output(local_output.out)


def test_no_command_prints_the_credentials_in_use(stacks: Stacks, tmp_path: Path) -> None:
    remote = str(stacks.remote)
    plan_file = tmp_path / "plan.json"
    runs = [
        stacks.run("validate", remote),
        stacks.run("validate", remote, "--format", "json"),
        stacks.run("plan", remote),
        stacks.run("plan", remote, "--format", "json"),
        stacks.run("plan", remote, "--format", "markdown"),
        stacks.run("plan", remote, "--out", str(plan_file)),
        stacks.run("show", str(plan_file)),
        stacks.run("show", str(plan_file), "--format", "json"),
        stacks.run("show", str(plan_file), "--format", "markdown"),
        stacks.run("graph", remote),
        stacks.run("graph", remote, "--format", "dot"),
        stacks.run("apply", str(plan_file), "--auto-approve", "--stack-dir", remote),
        stacks.run("output", remote),
        stacks.run("output", remote, "--format", "json"),
        stacks.run("import", remote, "--all-unmanaged"),
    ]
    applied_again = stacks.run("apply", remote, "--auto-approve", "--format", "json")
    assert json.loads(applied_again.out), "apply --format json printed no JSON"
    runs.append(applied_again)
    assert [run.code for run in runs] == [0] * len(runs), [r.err for r in runs if r.code]
    texts = [run.out for run in runs] + [run.err for run in runs] + [plan_file.read_text()]
    for secret in (stacks.secret_key, SESSION_TOKEN, stacks.secret_id):
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"a credential appeared in {len(leaks)} output(s)"


def test_a_refused_credential_is_a_clear_error_without_secrets(
    stacks: Stacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_key = "wrongSecretKeyThatMustNotBePrinted"
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", wrong_key)
    refused = stacks.run("plan", str(stacks.remote))
    assert refused.code == 1
    assert "AuthFailure.SignatureFailure" in refused.err
    assert "Traceback" not in refused.err
    assert wrong_key not in refused.out + refused.err


def test_missing_credentials_stop_before_any_call(
    stacks: Stacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENCENTCLOUD_SECRET_ID")
    monkeypatch.delenv("TENCENTCLOUD_SECRET_KEY")
    monkeypatch.delenv("TENCENTCLOUD_SESSION_TOKEN")
    monkeypatch.setattr(
        "reconciler.provider.sdk_transport.probe_cvm_role", lambda timeout=1.0: None
    )
    refused = stacks.run("plan", str(stacks.remote))
    assert refused.code == 1
    assert "no Tencent Cloud credentials found" in refused.err
    assert "Traceback" not in refused.err
