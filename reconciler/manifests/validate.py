"""Per-document checks: the envelope (mapping, apiVersion, kind) and the kind's JSON Schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.manifests.documents import CheckedDocument, located_problem
from reconciler.manifests.problems import Problem, dotted, quote
from reconciler.manifests.schema_messages import did_you_mean, rephrase, type_name
from reconciler.manifests.schemas import KIND_SCHEMAS, kind_validator
from reconciler.manifests.yaml_loader import LocatedDocument, PathKey

API_VERSION = "reconciler/v1"

MULTILINE_TEXT: frozenset[str] = frozenset({"\t", "\n", "\r"})
"""The control characters free text may hold (`spec.description`, annotation values)."""


def _is_control(char: str) -> bool:
    """C0 controls, DEL and C1 controls (Unicode category Cc)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _allows_multiline(path: PathKey) -> bool:
    return path == ("spec", "description") or (
        len(path) == 3 and path[:2] == ("metadata", "annotations")
    )


def _first_control(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
    return next((c for c in text if _is_control(c) and c not in allowed), None)


def _strings(value: Any, path: PathKey) -> Iterator[tuple[PathKey, str, bool]]:
    """Every (path, text, is_key) of the mapping keys and string values under `path`."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), key, True
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def control_character_issues(content: dict[str, Any]) -> list[tuple[PathKey, str, bool]]:
    """(path, message, at_key) for each key or string value holding a control character.

    Names, IDs, tag keys and values go to the cloud API or into tags, and a newline or NUL in
    them is never meant; free text (`spec.description`, annotation values) may hold tab, line
    feed and carriage return only.
    """
    issues: list[tuple[PathKey, str, bool]] = []
    for path, text, is_key in _strings(content, ()):
        allowed = MULTILINE_TEXT if not is_key and _allows_multiline(path) else frozenset()
        char = _first_control(text, allowed)
        if char is None:
            continue
        what = f"control character U+{ord(char):04X}"
        if is_key:
            where = f" in {dotted(path[:-1])}" if path[:-1] else ""
            issues.append((path, f"key {quote(text)}{where} contains a {what}", True))
        else:
            rule = " (only tab and line breaks are allowed here)" if allowed else ""
            issues.append((path, f"{dotted(path)}: {quote(text)} contains a {what}{rule}", False))
    return issues


def _name_of(content: dict[str, object]) -> str:
    metadata = content.get("metadata")
    if isinstance(metadata, dict):
        name = metadata.get("name")
        if isinstance(name, str):
            return name
    return ""


def check_document(document: LocatedDocument) -> tuple[CheckedDocument | None, list[Problem]]:
    """The document with its kind and name, or None when its kind can't be known."""
    content = document.content
    if not isinstance(content, dict):
        return None, [
            located_problem(
                document,
                "",
                "",
                (),
                f"a manifest document must be a mapping (apiVersion, kind, metadata, spec), "
                f"got {type_name(content)}",
            )
        ]
    name = _name_of(content)
    kind = content.get("kind")
    known_kind = kind if isinstance(kind, str) and kind in KIND_SCHEMAS else ""
    problems: list[Problem] = []

    def problem(path: PathKey, message: str, *, at_key: bool = False) -> Problem:
        return located_problem(document, known_kind, name, path, message, at_key=at_key)

    api_version = content.get("apiVersion")
    if "apiVersion" not in content:
        problems.append(problem((), f'missing apiVersion (expected "{API_VERSION}")'))
    elif api_version != API_VERSION:
        problems.append(
            problem(
                ("apiVersion",),
                f'unknown apiVersion {quote(str(api_version))} (expected "{API_VERSION}")',
            )
        )
    if "kind" not in content:
        kinds = ", ".join(KIND_SCHEMAS)
        problems.append(problem((), f"missing kind (one of {kinds})"))
        return None, problems
    if not known_kind:
        hint = did_you_mean(str(kind), KIND_SCHEMAS) or f" (one of {', '.join(KIND_SCHEMAS)})"
        problems.append(problem(("kind",), f"unknown kind {quote(str(kind))}{hint}"))
        return None, problems
    # apiVersion and kind were checked above, in plainer words than the schema's.
    enveloped = {**content, "apiVersion": API_VERSION, "kind": known_kind}
    reported: set[PathKey] = set(document.invalid)
    for error in kind_validator(known_kind).iter_errors(enveloped):
        for issue in rephrase(error):
            if any(issue.path[: len(p)] == p for p in document.invalid):
                continue  # the loader said what is wrong with this value already
            reported.add(issue.path)
            problems.append(problem(issue.path, issue.message, at_key=issue.at_key))
    found: set[PathKey] = set()
    for path, message, at_key in control_character_issues(content):
        if path in reported:
            continue  # a pattern or type error at the same field says enough
        found.add(path)
        problems.append(problem(path, message, at_key=at_key))
    reported |= found
    checked = CheckedDocument(
        kind=known_kind,
        name=name,
        document=document,
        valid=not problems and not document.invalid,
        problem_paths=frozenset(reported),
    )
    return checked, problems
