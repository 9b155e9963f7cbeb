"""End to end: every example of `manifests/` planned and applied through the emulator over HTTP.

A Stack with `provider: {type: tencentcloud, endpoint: 127.0.0.1:PORT, protocol: http}` must
behave exactly as the embedded default (SPEC issue 5: the CLI tests of the examples run over both
transports; tests/cli runs them in-process); and no command prints the credentials in use. The
CLI runs in-process on one virtual timeline shared by the executor and both simulated clouds, so
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

from reconciler import app
from reconciler.cli import main
from reconciler.cloudsim.server import CloudServer, serve
from reconciler.engine.clock import VirtualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"
QUICKSTART = EXAMPLES / "quickstart"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "stack.yaml").exists())
PREPARE: dict[str, tuple[str, ...]] = {
    # The README's first step: simulate the Packer build of img-pkrdemo1 (tests/cli does too).
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
    server: CloudServer
    emulator_db: Path

    def example(self, name: str) -> tuple[Path, Path]:
        """Copies of example `name` on the embedded default and on the emulator, prepared as
        its README says (each in the cloud it will use)."""
        local = self.local.parent / f"{name}-local"
        remote = self.local.parent / f"{name}-remote"
        shutil.copytree(EXAMPLES / name, local)
        shutil.copytree(EXAMPLES / name, remote)
        _keep_local(local)
        _point_at(remote, self.server.endpoint)
        if name in PREPARE:
            for stack, db in ((local, self.local_db), (remote, self.emulator_db)):
                prepared = self.run(*PREPARE[name], str(stack), "--db", str(db))
                assert prepared.code == 0, prepared.out + prepared.err
        return local, remote

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


def _set_provider(stack_dir: Path, provider: str) -> None:
    """Make the Stack's `spec.provider` the one line `provider: <flow mapping>` (replacing the
    block there, if any), so the local and the remote copy, both given one, keep the same
    file:line for every document."""
    for path in sorted(stack_dir.glob("*.y*ml")):
        lines = path.read_text().splitlines(keepends=True)
        if not any(line.rstrip() == "kind: Stack" for line in lines):
            continue
        at = next(n for n, line in enumerate(lines) if line.rstrip() == "kind: Stack")
        spec = next(n for n in range(at, len(lines)) if lines[n].rstrip() == "spec:")
        end = next(
            (n for n in range(spec + 1, len(lines)) if not lines[n].startswith((" ", "\n"))),
            len(lines),
        )
        block = [n for n in range(spec + 1, end) if lines[n].startswith("  provider:")]
        if block:
            start = stop = block[0]
            while stop + 1 < end and lines[stop + 1].startswith("    "):
                stop += 1
            del lines[start : stop + 1]
        else:
            start = spec + 1
        lines.insert(start, f"  provider: {provider}\n")
        path.write_text("".join(lines))
        return
    raise AssertionError(f"no Stack in {stack_dir}")


def _point_at(stack_dir: Path, endpoint: str) -> None:
    _set_provider(stack_dir, f'{{type: tencentcloud, endpoint: "{endpoint}", protocol: http}}')


def _keep_local(stack_dir: Path) -> None:
    _set_provider(stack_dir, "{type: local}")


@pytest.fixture
def stacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Stacks]:
    clock = VirtualClock(start=time.time())
    monkeypatch.setattr(app, "Runtime", functools.partial(app.Runtime, clock=clock))
    emulator_db = tmp_path / "emulator.db"
    server: CloudServer = serve("127.0.0.1", 0, emulator_db, clock=clock)
    try:
        own = next(a for a in server.cloud.credentials() if a.uin == OWN_UIN)
        local = tmp_path / "local"
        remote = tmp_path / "remote"
        shutil.copytree(QUICKSTART, local)
        shutil.copytree(QUICKSTART, remote)
        _keep_local(local)
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
        yield Stacks(
            local,
            tmp_path / "local.db",
            remote,
            own.secret_id,
            own.secret_key,
            capsys,
            server,
            emulator_db,
        )
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


def test_every_example_is_covered() -> None:
    assert {"quickstart", "multi-team", "import-from-cos", "packer-distribution"} <= set(
        EXAMPLE_NAMES
    )


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_example_plans_applies_and_converges_over_http(stacks: Stacks, example: str) -> None:
    """Each example of manifests/: the same first plan over HTTP as in-process, then apply over
    HTTP, then a plan with no changes (tests/cli/test_examples.py does it all in-process)."""
    local, remote = stacks.example(example)
    db = ("--db", str(stacks.local_db))
    local_plan = stacks.run("plan", str(local), "--format", "json", *db)
    remote_plan = stacks.run("plan", str(remote), "--format", "json", "--detailed-exitcode")
    assert local_plan.code == 0, local_plan.err
    assert remote_plan.code == 2, remote_plan.out + remote_plan.err
    assert _comparable_plan(remote_plan.out) == _comparable_plan(local_plan.out)

    applied = stacks.run("apply", str(remote), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "0 failed, 0 skipped" in applied.out, applied.out

    settled = stacks.run("plan", str(remote), "--detailed-exitcode")
    assert settled.code == 0, settled.out + settled.err
    assert "No changes." in settled.out


def test_no_command_prints_the_credentials_in_use(stacks: Stacks, tmp_path: Path) -> None:
    remote = str(stacks.remote)
    plan_file = tmp_path / "plan.json"
    # An image made outside the stack, for `import --region R --image-id IMG`.
    handmade = stacks.run(
        "cloud",
        "add-image",
        "--region",
        "ap-guangzhou",
        "--image-id",
        "img-handmd01",
        "--name",
        "made-by-hand",
        "--db",
        str(stacks.emulator_db),
    )
    assert handmade.code == 0, handmade.err
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
        stacks.run("import", remote, "--region", "ap-guangzhou", "--image-id", "img-handmd01"),
    ]
    applied_again = stacks.run("apply", remote, "--auto-approve", "--format", "json")
    assert json.loads(applied_again.out), "apply --format json printed no JSON"
    runs.append(applied_again)
    assert [run.code for run in runs] == [0] * len(runs), [r.err for r in runs if r.code]
    assert "img-handmd01" in runs[-2].out, runs[-2].err  # import by ID printed its manifest
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


def test_a_token_with_a_trailing_newline_works_and_one_inside_is_refused_unprinted(
    stacks: Stacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`TENCENTCLOUD_SESSION_TOKEN=$'token\\n'` printed the token in the HTTP library's refusal."""
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", f"{SESSION_TOKEN}\n")
    stripped = stacks.run("plan", str(stacks.remote))
    assert stripped.code == 0, stripped.err
    half = len(SESSION_TOKEN) // 2
    monkeypatch.setenv(
        "TENCENTCLOUD_SESSION_TOKEN", f"{SESSION_TOKEN[:half]}\n{SESSION_TOKEN[half:]}"
    )
    refused = stacks.run("plan", str(stacks.remote))
    assert refused.code == 1
    assert "Error: credentials: TENCENTCLOUD_SESSION_TOKEN contains" in refused.err
    assert "Traceback" not in refused.err
    for text in (refused.out + refused.err, stripped.out + stripped.err):
        assert SESSION_TOKEN[:half] not in text
        assert SESSION_TOKEN[half:] not in text
