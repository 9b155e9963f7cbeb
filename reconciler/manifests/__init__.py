"""Manifests: loading YAML with locations, schema and semantic validation, the DesiredState."""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import ManifestError
from reconciler.manifests.desired import build_desired
from reconciler.manifests.discovery import discover, read_manifest_file
from reconciler.manifests.documents import CheckedDocument
from reconciler.manifests.problems import Problem
from reconciler.manifests.semantic import check_semantics
from reconciler.manifests.validate import check_document
from reconciler.manifests.yaml_loader import LocatedDocument, load_manifest_bytes
from reconciler.model.desired import DesiredState

__all__ = ["Problem", "load_desired", "validate_documents", "validate_path"]


def validate_documents(
    documents: list[LocatedDocument], *, complete: bool = True, root: str = "."
) -> tuple[DesiredState | None, list[Problem]]:
    """Check loaded documents; the DesiredState when there is no problem at all."""
    checked: list[CheckedDocument] = []
    problems: list[Problem] = []
    for document in documents:
        result, found = check_document(document)
        problems.extend(found)
        if result is not None:
            checked.append(result)
    problems.extend(check_semantics(checked, complete=complete, root=root))
    if problems or not complete:
        return None, problems
    return build_desired(checked, len(documents)), problems


def validate_path(path: Path) -> tuple[DesiredState | None, list[Problem]]:
    """Load and validate a manifest directory (or one file): the state, or every problem."""
    discovery = discover(path)
    problems = list(discovery.problems)
    documents: list[LocatedDocument] = []
    for file in discovery.files:
        data = read_manifest_file(file)
        if isinstance(data, Problem):
            problems.append(data)
            continue
        loaded, found = load_manifest_bytes(file.relative, data)
        documents.extend(loaded)
        problems.extend(found)
    complete = not problems
    desired, found = validate_documents(documents, complete=complete, root=str(path))
    problems.extend(found)
    unique = sorted(set(problems), key=lambda p: p.sort_key)
    return (desired if not unique else None), unique


def load_desired(path: Path) -> DesiredState:
    """The validated DesiredState of `path`; raises ManifestError listing every problem."""
    desired, problems = validate_path(path)
    if desired is None:
        raise ManifestError(list(problems))
    return desired
