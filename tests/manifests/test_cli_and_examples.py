"""`reconciler validate` and `reconciler schema` end to end, and every example validating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"
EXPECTED_OK = {
    "quickstart": "OK: 4 documents, 1 images, 2 copies, 3 shares",
    "multi-team": "OK: 8 documents, 2 images, 3 copies, 7 shares",
    "import-from-cos": "OK: 3 documents, 1 images, 1 copies, 0 shares",
    "packer-distribution": "OK: 4 documents, 1 images, 2 copies, 6 shares",
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) == sorted(EXPECTED_OK)


@pytest.mark.parametrize("example", sorted(EXPECTED_OK))
def test_example_validates(example: str) -> None:
    result = CliRunner().invoke(cli, ["validate", str(EXAMPLES / example)], standalone_mode=False)
    assert result.exception is None
    assert result.return_value == 0
    assert result.stdout.strip() == EXPECTED_OK[example]
    assert (EXAMPLES / example / "README.md").is_file()


def test_json_format_on_success_is_an_empty_list() -> None:
    result = CliRunner().invoke(
        cli, ["validate", str(EXAMPLES / "quickstart"), "--format", "json"], standalone_mode=False
    )
    assert result.return_value == 0
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("kind", ["Image", "image", "ImageShare", "stack"])
def test_schema_prints_one_kind(kind: str) -> None:
    result = CliRunner().invoke(cli, ["schema", kind], standalone_mode=False)
    assert result.return_value == 0
    schema = json.loads(result.stdout)
    assert schema["title"].lower() == kind.lower()
    assert "$defs" in schema


def test_schema_without_kind_prints_the_combined_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"], standalone_mode=False)
    schema = json.loads(result.stdout)
    assert schema["title"] == "reconciler manifest"
    assert {"Stack", "Image", "ImageCopy", "ImageShare"} <= set(schema["$defs"])


def test_schema_of_an_unknown_kind_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["schema", "Imag"])
    assert result.exit_code != 0
    assert 'unknown kind "Imag"' in result.output
