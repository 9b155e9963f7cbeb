"""The stack policy rules the manifests alone can break, as located validation problems.

`reconciler validate` runs `allowedAccounts` (over every declared share) and `requiredTags`
(SPEC §2, §8) with the rules' own implementation (`reconciler.model.policy`): a `deny` rule gives
an error, a `warn` rule a warning. Plan and apply check the plan itself (`reconciler.planner`).
"""

from __future__ import annotations

import dataclasses

from reconciler.manifests.documents import CheckedDocument
from reconciler.manifests.problems import ERROR, WARNING, Problem
from reconciler.manifests.yaml_loader import PathKey
from reconciler.model.desired import DesiredState, Enforcement
from reconciler.model.plan import PolicyViolation
from reconciler.model.policy import RULE_REQUIRED_TAGS, manifest_violations


def _located(
    violation: PolicyViolation,
    images: dict[str, CheckedDocument],
    accounts: dict[tuple[str, int, int], tuple[CheckedDocument, PathKey]],
) -> Problem:
    message = f"policy {violation.rule}: {violation.message}"
    if violation.rule == RULE_REQUIRED_TAGS:
        image = images.get(violation.address.removeprefix("image."))
        if image is not None:
            path: PathKey = ("spec", "tags") if "tags" in image.spec else ("spec",)
            return image.problem(path, message, at_key=True)
    source = violation.source
    if source is not None:
        found = accounts.get((source.file, source.line, source.column))
        if found is not None:
            document, path = found
            return document.problem(path, message)
        return Problem(source.file, source.line, source.column, "", "", "", message)
    return Problem("", 0, 0, "", "", "", message)


def policy_problems(desired: DesiredState, documents: list[CheckedDocument]) -> list[Problem]:
    """The manifest-only policy violations, located at the share's account or the image's tags;
    severity `error` for a `deny` rule, `warning` for a `warn` rule."""
    images = {d.name: d for d in documents if d.kind == "Image"}
    accounts: dict[tuple[str, int, int], tuple[CheckedDocument, PathKey]] = {}
    for document in documents:
        if document.kind != "ImageShare":
            continue
        for index in range(len(document.spec.get("accounts", ()))):
            path: PathKey = ("spec", "accounts", index)
            position = document.document.value_position(path)
            accounts.setdefault((document.file, position.line, position.column), (document, path))
    problems: list[Problem] = []
    for violation in manifest_violations(desired):
        severity = ERROR if violation.enforcement == Enforcement.DENY.value else WARNING
        problem = _located(violation, images, accounts)
        problems.append(dataclasses.replace(problem, severity=severity))
    return problems
