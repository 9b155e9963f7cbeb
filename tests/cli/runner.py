"""Run the real entry point (`reconciler.cli.main`, with its exit-code mapping) in-process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from click.testing import CliRunner

from reconciler.cli import main


@dataclass(frozen=True, slots=True)
class CliResult:
    """What one command printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, input_text: str | None = None, env: Mapping[str, str | None] | None = None
) -> CliResult:
    """`reconciler ARGS...` through `main`, so usage errors exit 1 as they do for users."""
    runner = CliRunner()
    code: int = 0
    with runner.isolation(input=input_text, env=env) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        stdout = out.getvalue().decode()
        stderr = err.getvalue().decode()
    return CliResult(code, stdout, stderr)
