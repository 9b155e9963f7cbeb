"""JSON-Schema errors rephrased for humans and located at the offending key or value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError

from reconciler.manifests.problems import dotted, pointer_of, quote
from reconciler.manifests.yaml_loader import PathKey

__all__ = ["did_you_mean", "dotted", "pointer_of", "quote", "rephrase", "type_name"]

JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def type_name(value: Any) -> str:
    """How a YAML value is described to users: `a string`, `a list`, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean "x"?)` for a close match, else empty."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {quote(matches[0])}?)" if matches else ""


class SchemaIssue:
    """One rephrased schema error: the path it is about, whether at the key, and the message."""

    __slots__ = ("at_key", "message", "path")

    def __init__(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.path = path
        self.message = message
        self.at_key = at_key


def _quoted(values: Iterable[Any]) -> str:
    return ", ".join(quote(v) for v in values)


def _best_branch(error: ValidationError) -> ValidationError | None:
    """The most telling error among a oneOf/anyOf's branches: one whose type matched."""
    candidates = [e for e in error.context or [] if e.validator != "type"]
    if not candidates:
        return None
    return max(candidates, key=lambda e: len(e.absolute_path))


def rephrase(error: ValidationError) -> list[SchemaIssue]:
    """Human messages for one jsonschema error (one per unknown field)."""
    path: PathKey = tuple(error.absolute_path)
    here = dotted(path) or "the document"
    validator = str(error.validator)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        key_path: PathKey = (*path, instance)
        detail = schema.get("patternErrorMessage") or _plain(validator, error)
        return [SchemaIssue(key_path, f"key {quote(instance)}: {detail}", at_key=True)]
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        issues = []
        for key in instance:
            if key in allowed:
                continue
            hint = did_you_mean(key, allowed) or f" (allowed: {', '.join(allowed)})"
            where = f" in {here}" if path else ""
            issues.append(
                SchemaIssue((*path, key), f"unknown field {quote(key)}{where}{hint}", at_key=True)
            )
        return issues
    if validator == "required":
        required: Any = error.validator_value
        missing = [f for f in required if isinstance(instance, dict) and f not in instance]
        where = f" in {here}" if path else ""
        return [
            SchemaIssue(path, f"missing required field {quote(field)}{where}", at_key=True)
            for field in missing
        ]
    if validator in {"oneOf", "anyOf"}:
        branch = _best_branch(error)
        if branch is not None:
            return rephrase(branch)
        branches: Any = error.validator_value
        expected = [
            JSON_TYPE_NAMES.get(str(b.get("type")), str(b.get("type")))
            for b in branches
            if isinstance(b, dict)
        ]
        return [
            SchemaIssue(
                path, f"{here}: expected {' or '.join(expected)}, got {type_name(instance)}"
            )
        ]
    return [SchemaIssue(path, f"{here}: {_plain(validator, error)}")]


def _plain(validator: str, error: ValidationError) -> str:
    """The message for a keyword error on a value (without the path)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    expected: Any = error.validator_value
    if validator == "type":
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(JSON_TYPE_NAMES.get(str(n), str(n)) for n in names)
        hint = ""
        if (
            "string" in names
            and isinstance(instance, int | float)
            and not isinstance(instance, bool)
        ):
            hint = " (quote it)"
        return f"expected {wanted}, got {type_name(instance)}{hint}"
    if validator == "enum":
        choices = [str(c) for c in expected]
        if len(choices) > 8:
            hint = did_you_mean(str(instance), choices) or " (see `reconciler schema` for the list)"
            return f"unknown value {quote(instance)}{hint}"
        return f"{quote(instance)} is not one of {_quoted(expected)}"
    if validator == "const":
        return f"must be {quote(expected)}, got {quote(instance)}"
    if validator == "pattern":
        custom = schema.get("patternErrorMessage")
        return (
            f"{quote(instance)} {custom}"
            if custom
            else f"{quote(instance)} does not match {expected}"
        )
    if validator == "maxLength":
        return f"must be at most {expected} characters (got {len(instance)})"
    if validator == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
    if validator == "minItems":
        return "must not be empty" if expected == 1 else f"needs at least {expected} items"
    if validator == "uniqueItems":
        duplicate = next(item for i, item in enumerate(instance) if item in instance[:i])
        return f"lists {_quoted([duplicate])} more than once"
    if validator == "minProperties":
        return "must not be empty" + _exactly_one(schema)
    if validator == "maxProperties":
        return f"has {len(instance)} entries, at most {expected} allowed" + _exactly_one(schema)
    if validator in {"minimum", "exclusiveMinimum"}:
        return f"must be at least {expected}, got {instance}"
    if validator in {"maximum", "exclusiveMaximum"}:
        return f"must be at most {expected}, got {instance}"
    return error.message


def _exactly_one(schema: dict[str, Any]) -> str:
    if schema.get("maxProperties") == 1 and "properties" in schema:
        return f": give exactly one of {', '.join(schema['properties'])}"
    return ""
