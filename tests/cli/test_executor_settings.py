"""Apply's executor settings by provider: the simulated cloud is polled every 1 s, others 5 s."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from reconciler import app
from reconciler.engine import executor
from reconciler.engine.result import ApplyResult
from reconciler.engine.settings import ExecutorSettings
from reconciler.model.plan import Step

from .runner import run_cli


def _with_provider(stack_dir: Path, provider_type: str) -> Path:
    manifest = stack_dir / "stack.yaml"
    text = manifest.read_text()
    assert "type: local" in text
    manifest.write_text(text.replace("type: local", f"type: {provider_type}"))
    return stack_dir


def test_local_polls_every_second(quickstart: Path) -> None:
    settings = app.executor_settings_for(app.load(quickstart).stack, parallelism=7)
    assert settings.poll_interval == 1.0
    assert settings.parallelism == 7


def test_tencentcloud_keeps_five_seconds(quickstart: Path) -> None:
    stack = app.load(_with_provider(quickstart, "tencentcloud")).stack
    assert stack.provider.type == "tencentcloud"
    settings = app.executor_settings_for(stack, parallelism=3)
    assert settings.poll_interval == 5.0 == ExecutorSettings().poll_interval
    assert settings.parallelism == 3


def test_default_parallelism_is_the_executors(quickstart: Path) -> None:
    settings = app.executor_settings_for(app.load(quickstart).stack)
    assert settings.parallelism == ExecutorSettings().parallelism == 10


@pytest.fixture
def executed_settings(monkeypatch: pytest.MonkeyPatch) -> list[ExecutorSettings]:
    """The settings every apply hands to the executor, recorded on the way through."""
    seen: list[ExecutorSettings] = []
    real_execute = executor.execute

    def recording_execute(
        steps: Sequence[Step],
        provider: executor.StepProvider,
        *,
        settings: ExecutorSettings | None = None,
        **kwargs: Any,
    ) -> ApplyResult:
        assert settings is not None
        seen.append(settings)
        return real_execute(steps, provider, settings=settings, **kwargs)

    monkeypatch.setattr(executor, "execute", recording_execute)
    return seen


def test_cli_apply_on_local_uses_one_second_and_parallelism(
    quickstart: Path, cloud_db: Path, executed_settings: list[ExecutorSettings]
) -> None:
    result = run_cli(
        "apply", str(quickstart), "--db", str(cloud_db), "--auto-approve", "--parallelism", "3"
    )
    assert result.exit_code == 0, result.stderr
    assert [(s.poll_interval, s.parallelism) for s in executed_settings] == [(1.0, 3)]


def test_cli_apply_of_a_planfile_uses_the_stack_dirs_provider(
    quickstart: Path,
    cloud_db: Path,
    tmp_path: Path,
    executed_settings: list[ExecutorSettings],
) -> None:
    planfile = tmp_path / "plan.json"
    made = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--out", str(planfile))
    assert made.exit_code == 0, made.stderr
    result = run_cli("apply", str(planfile), "--stack-dir", str(quickstart), "--db", str(cloud_db))
    assert result.exit_code == 0, result.stderr
    assert [(s.poll_interval, s.parallelism) for s in executed_settings] == [(1.0, 10)]
