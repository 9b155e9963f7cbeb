"""The JSON Schemas: strict, documented, self-contained when bundled, usable by editors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconciler.manifests import schemas
from reconciler.manifests.schemas import (
    KIND_SCHEMAS,
    bundled_schema,
    load_schema,
    manifest_validator,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"
FILES = ["common.schema.json", "manifest.schema.json", *KIND_SCHEMAS.values()]


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


@pytest.mark.parametrize("file_name", FILES)
def test_schema_is_valid_draft_2020_12(file_name: str) -> None:
    schema = load_schema(file_name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("file_name", FILES)
def test_every_property_has_title_and_description(file_name: str) -> None:
    for node in _objects(load_schema(file_name)):
        for name, prop in node.get("properties", {}).items():
            if prop == {"const": prop.get("const")} or "if" in node:
                continue
            assert prop.get("title"), f"{file_name}: {name}"
            assert prop.get("description"), f"{file_name}: {name}"


@pytest.mark.parametrize("file_name", list(KIND_SCHEMAS.values()))
def test_objects_are_strict(file_name: str) -> None:
    for node in _objects(load_schema(file_name)):
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, node.get("title")


@pytest.mark.parametrize("kind", [None, *KIND_SCHEMAS])
def test_bundles_are_self_contained(kind: str | None) -> None:
    bundle = bundled_schema(kind)
    Draft202012Validator.check_schema(bundle)
    refs = [n["$ref"] for n in _objects(bundle) if "$ref" in n]
    assert refs
    assert all(ref.startswith("#/$defs/") for ref in refs)
    validator = Draft202012Validator(bundle)  # no registry: must resolve on its own
    good = yaml.safe_load((EXAMPLES / "quickstart" / "stack.yaml").read_text())
    if kind in {None, "Stack"}:
        assert list(validator.iter_errors(good)) == []
    bad = {**good, "spec": {"regions": ["ap-nowhere"]}}
    assert list(validator.iter_errors(bad)) != []


def test_combined_schema_dispatches_on_kind() -> None:
    validator = manifest_validator()
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert list(validator.iter_errors(document)) == [], path
    wrong = {
        "apiVersion": "reconciler/v1",
        "kind": "ImageCopy",
        "metadata": {"name": "x"},
        "spec": {"image": "a", "regions": ["ap-x"]},
    }
    assert len(list(validator.iter_errors(wrong))) == 1
    assert list(validator.iter_errors({"apiVersion": "reconciler/v1", "kind": "Nope"}))


def test_examples_carry_the_editor_schema_comment() -> None:
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target == SCHEMA_DIR / "manifest.schema.json", path


def test_packaged_schemas_are_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Path(str(schemas.schema_directory())) == SCHEMA_DIR
    packaged = tmp_path / "reconciler" / "schemas"
    packaged.mkdir(parents=True)
    (packaged / "common.schema.json").write_text(json.dumps({"title": "packaged"}))
    monkeypatch.setattr(schemas.resources, "files", lambda _package: tmp_path / "reconciler")
    assert Path(str(schemas.schema_directory())) == packaged


def test_region_enum_is_the_region_list() -> None:
    from reconciler.model.regions import REGIONS

    assert load_schema("common.schema.json")["$defs"]["region"]["enum"] == list(REGIONS)
