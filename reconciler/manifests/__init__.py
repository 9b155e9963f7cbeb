"""Manifests: loading YAML with locations, schema and semantic validation, the DesiredState."""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import ManifestError
from reconciler.manifests.desired import build_desired
from reconciler.manifests.discovery import discover, read_manifest_file
from reconciler.manifests.documents import CheckedDocument
from reconciler.manifests.policy import policy_problems
from reconciler.manifests.problems import Problem
from reconciler.manifests.semantic import check_semantics
from reconciler.manifests.validate import check_document
from reconciler.manifests.yaml_loader import LocatedDocument, load_manifest_file_bytes
from reconciler.model.desired import DesiredState

__all__ = ["Problem", "load_desired", "validate_documents", "validate_path"]


def validate_documents(
    documents: list[LocatedDocument],
    *,
    complete: bool = True,
    root: str = ".",
    policy: bool = False,
) -> tuple[DesiredState | None, list[Problem]]:
    """Check loaded documents; the DesiredState when there is no error at all.

    `complete` is False when some file or folder could not be read: no state is built then.
    `policy`: also check the policy rules the manifests alone can break (`validate` does; plan
    and apply check the plan instead). Their `warn` findings are warnings, not errors.
    """
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
    desired = build_desired(checked, len(documents))
    if policy:
        problems.extend(policy_problems(desired, checked))
    if any(p.is_error for p in problems):
        return None, problems
    return desired, problems


def validate_path(path: Path, *, policy: bool = False) -> tuple[DesiredState | None, list[Problem]]:
    """Load and validate a manifest directory (or one file): the state, or every problem.

    The state is given only when no problem is an error (warnings come from `warn` policy rules
    when `policy` is true); an unreadable file or folder is an error, so plan and apply never
    run on a partial view of the manifests.
    """
    discovery = discover(path)
    problems = list(discovery.problems)
    # A problem met while finding or reading files (an unreadable folder or file, a symlink
    # loop, broken YAML) may hide a document: checks about absence (no Stack, a dangling
    # `image:`) can't be trusted then, and no state is built.
    complete = discovery.complete and not problems
    documents: list[LocatedDocument] = []
    for file in discovery.files:
        data = read_manifest_file(file)
        if isinstance(data, Problem):
            problems.append(data)
            complete = False
            continue
        loaded = load_manifest_file_bytes(file.relative, data)
        documents.extend(loaded.documents)
        problems.extend(loaded.problems)
        complete = complete and loaded.complete
    desired, found = validate_documents(documents, complete=complete, root=str(path), policy=policy)
    problems.extend(found)
    unique = sorted(set(problems), key=lambda p: p.sort_key)
    if not complete or any(p.is_error for p in unique):
        return None, unique
    return desired, unique


def load_desired(path: Path) -> DesiredState:
    """The validated DesiredState of `path`; raises ManifestError listing every problem."""
    desired, problems = validate_path(path)
    if desired is None:
        raise ManifestError(list(problems))
    return desired
