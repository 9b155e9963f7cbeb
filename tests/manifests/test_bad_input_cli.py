"""Every bad-input case through `reconciler validate`: exit 1, each problem on its own line with
its `file:line:column:` prefix (or `file:` for a whole-file problem), no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

from .helpers import locate
from .test_bad_input import CASES, Case

Tree = Callable[[dict[str, str | bytes]], Path]


def expected_lines(root: Path, case: Case) -> list[tuple[str, str]]:
    """(location prefix, message) of each expected problem."""
    lines = []
    for expected in case.expected:
        if expected.needle is None:
            file = str(root) if expected.file == "." else expected.file
            prefix = f"{file}: "
        else:
            text = (root / expected.file).read_text(encoding="utf-8")
            line, column = locate(text, expected.needle, expected.occurrence)
            prefix = f"{expected.file}:{line}:{column}: "
            if expected.kind and expected.name:
                prefix += f"{expected.kind}/{expected.name}: "
        lines.append((prefix, expected.message))
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_exits_1_with_located_lines(tree: Tree, case: Case) -> None:
    root = tree(case.files)
    result = CliRunner().invoke(cli, ["validate", str(root)], standalone_mode=False)
    assert result.exception is None
    assert result.return_value == 1
    assert "Traceback" not in result.output
    printed = result.stdout.splitlines()
    assert len(printed) == len(case.expected), printed
    for prefix, message in expected_lines(root, case):
        matching = [line for line in printed if message in line]
        assert matching, f"no line says {message!r}: {printed}"
        assert matching[0].startswith(prefix), (prefix, matching[0])
    assert f"{len(case.expected)} problem(s) in {root}" in result.stderr
