"""The manifest JSON Schemas: where they are, loading them, validators, self-contained bundles."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

COMMON = "common.schema.json"
MANIFEST = "manifest.schema.json"
KIND_SCHEMAS: dict[str, str] = {
    "Stack": "stack.schema.json",
    "Image": "image.schema.json",
    "ImageCopy": "imagecopy.schema.json",
    "ImageShare": "imageshare.schema.json",
}
"""Manifest kind → schema file name."""
NAME_MAX = 40
"""The length limit of `metadata.name` (the `$defs.name` pattern of common.schema.json)."""


def schema_directory() -> Traversable:
    """`reconciler/schemas/` of an installed wheel, else the repository's top-level `schemas/`."""
    packaged = resources.files("reconciler") / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def load_schema(file_name: str) -> dict[str, Any]:
    """One schema file, parsed."""
    document: dict[str, Any] = json.loads((schema_directory() / file_name).read_text("utf-8"))
    return document


@cache
def name_pattern() -> re.Pattern[str]:
    """The `metadata.name` rule (`$defs.name.pattern` of common.schema.json), compiled."""
    return re.compile(str(load_schema(COMMON)["$defs"]["name"]["pattern"]))


@cache
def _registry() -> Registry[Any]:
    names = [COMMON, MANIFEST, *KIND_SCHEMAS.values()]
    return Registry().with_resources(
        (name, Resource.from_contents(load_schema(name), default_specification=DRAFT202012))
        for name in names
    )


@cache
def kind_validator(kind: str) -> Draft202012Validator:
    """A validator for documents of one kind (its relative `$ref`s resolved)."""
    return Draft202012Validator(load_schema(KIND_SCHEMAS[kind]), registry=_registry())


@cache
def manifest_validator() -> Draft202012Validator:
    """A validator for the combined schema that dispatches on `kind` (what editors use)."""
    return Draft202012Validator(load_schema(MANIFEST), registry=_registry())


def _rewrite_refs(node: Any, rewrite: dict[str, str]) -> Any:
    if isinstance(node, dict):
        result = {key: _rewrite_refs(value, rewrite) for key, value in node.items()}
        reference = result.get("$ref")
        if isinstance(reference, str):
            file_name, _, fragment = reference.partition("#")
            if file_name:
                result["$ref"] = rewrite[file_name] + fragment.removeprefix("/$defs")
            elif fragment.startswith("/$defs/"):
                result["$ref"] = "#" + fragment  # inside common: its defs move to the root
        return result
    if isinstance(node, list):
        return [_rewrite_refs(item, rewrite) for item in node]
    return node


def bundled_schema(kind: str | None = None) -> dict[str, Any]:
    """A self-contained schema (no external `$ref`) for one kind, or for any manifest."""
    common_defs = load_schema(COMMON)["$defs"]
    rewrite = {COMMON: "#/$defs"} | {f: f"#/$defs/{k}" for k, f in KIND_SCHEMAS.items()}
    root_file = MANIFEST if kind is None else KIND_SCHEMAS[kind]
    root: dict[str, Any] = _rewrite_refs(load_schema(root_file), rewrite)
    defs: dict[str, Any] = dict(_rewrite_refs(common_defs, rewrite))
    if kind is None:
        for name, file_name in KIND_SCHEMAS.items():
            kind_schema = _rewrite_refs(load_schema(file_name), rewrite)
            kind_schema.pop("$schema", None)
            defs[name] = kind_schema
    root["$defs"] = defs
    return root
