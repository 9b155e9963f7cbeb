"""The entry point: usage errors exit 1, bugs print one line (traceback only on request)."""

from __future__ import annotations

import pytest

from reconciler import app
from reconciler.cli import main


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    assert isinstance(code, int)
    return code


def test_usage_error_exits_1_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["plan", "--no-such-option"]) == 1
    assert "No such option '--no-such-option'" in capsys.readouterr().err


def test_unknown_command_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["frobnicate"]) == 1
    assert "No such command 'frobnicate'" in capsys.readouterr().err


def test_version_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert "reconciler, version" in capsys.readouterr().out


def test_a_bug_prints_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    monkeypatch.setattr(app, "load", broken)
    assert run(["plan", "manifests/quickstart"]) == 1
    err = capsys.readouterr().err
    assert "Internal error: RuntimeError: boom" in err
    assert "RECONCILER_DEBUG=1" in err
    assert "Traceback" not in err


def test_a_bug_shows_the_traceback_with_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setenv("RECONCILER_DEBUG", "1")
    monkeypatch.setattr(app, "load", broken)
    assert run(["plan", "manifests/quickstart"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_an_unknown_schema_kind_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["schema", "Nope"]) == 1
    assert "Nope" in capsys.readouterr().err
