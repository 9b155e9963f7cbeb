"""Per-document checks: the envelope (mapping, apiVersion, kind) and the kind's JSON Schema."""

from __future__ import annotations

from reconciler.manifests.documents import CheckedDocument, located_problem
from reconciler.manifests.problems import Problem
from reconciler.manifests.schema_messages import did_you_mean, rephrase, type_name
from reconciler.manifests.schemas import KIND_SCHEMAS, kind_validator
from reconciler.manifests.yaml_loader import LocatedDocument, PathKey

API_VERSION = "reconciler/v1"


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
                ("apiVersion",), f'unknown apiVersion "{api_version}" (expected "{API_VERSION}")'
            )
        )
    if "kind" not in content:
        kinds = ", ".join(KIND_SCHEMAS)
        problems.append(problem((), f"missing kind (one of {kinds})"))
        return None, problems
    if not known_kind:
        hint = did_you_mean(str(kind), KIND_SCHEMAS) or f" (one of {', '.join(KIND_SCHEMAS)})"
        problems.append(problem(("kind",), f'unknown kind "{kind}"{hint}'))
        return None, problems
    # apiVersion and kind were checked above, in plainer words than the schema's.
    enveloped = {**content, "apiVersion": API_VERSION, "kind": known_kind}
    for error in kind_validator(known_kind).iter_errors(enveloped):
        for issue in rephrase(error):
            problems.append(problem(issue.path, issue.message, at_key=issue.at_key))
    checked = CheckedDocument(kind=known_kind, name=name, document=document, valid=not problems)
    return checked, problems
