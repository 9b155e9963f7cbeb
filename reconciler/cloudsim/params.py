"""Request parameters per action: declared shapes, checked as the API gateway does.

Missing → `MissingParameter`, undeclared → `UnknownParameter`, wrong JSON type →
`InvalidParameter`. Integers and booleans also accept their text form (`"10"`, `"true"`), as
GET requests carry them; strings never accept booleans or numbers (ForcePoweroff is `"true"`).
A string that is not valid Unicode (a lone surrogate such as JSON `"\\ud800"`) is
`InvalidParameterValue`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.cloudsim.errors import ApiError


class Scalar(StrEnum):
    """A JSON scalar type of a parameter."""

    STR = "str"
    INT = "int"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class ListOf:
    """A JSON array whose items all have one shape."""

    item: Spec


@dataclass(frozen=True, slots=True)
class Obj:
    """A JSON object with declared members; `required` must be present."""

    members: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)


Spec = Scalar | ListOf | Obj

STR, INT, BOOL = Scalar.STR, Scalar.INT, Scalar.BOOL
STRS = ListOf(STR)
FILTERS = ListOf(Obj({"Name": STR, "Values": STRS}, frozenset({"Name", "Values"})))


def obj(required: tuple[str, ...] = (), **members: Spec) -> Obj:
    """An object spec: `obj(("ImageId",), ImageId=STR, ImageName=STR)`."""
    return Obj(members, frozenset(required))


def validate(spec: Obj, params: Mapping[str, Any]) -> dict[str, Any]:
    """The request parameters checked against `spec` and coerced to their declared types."""
    if not isinstance(params, Mapping):
        raise ApiError("InvalidParameter", "The request parameters must be a JSON object.")
    return _object(spec, params, "")


def _object(spec: Obj, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    for name in value:
        if name not in spec.members:
            shown = f"{path}{name}".encode("utf-8", "backslashreplace").decode("utf-8")
            raise ApiError("UnknownParameter", f"The parameter `{shown}` is not recognized.")
    for name in sorted(spec.required):
        if value.get(name) is None:
            raise ApiError(
                "MissingParameter", f"The request is missing a required parameter `{path}{name}`."
            )
    return {
        name: _value(spec.members[name], item, f"{path}{name}")
        for name, item in value.items()
        if item is not None
    }


def _value(spec: Spec, value: Any, path: str) -> Any:
    if isinstance(spec, Obj):
        if not isinstance(value, Mapping):
            raise _ill_typed(path, "an object")
        return _object(spec, value, f"{path}.")
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise _ill_typed(path, "an array")
        return [_value(spec.item, item, f"{path}.{n}") for n, item in enumerate(value)]
    if spec is Scalar.STR:
        if not isinstance(value, str):
            raise _ill_typed(path, "a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ApiError(
                "InvalidParameterValue",
                f"The value of parameter `{path}` is not valid Unicode "
                f"(character {exc.start + 1} is a lone surrogate).",
            ) from None
        return value
    if spec is Scalar.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        raise _ill_typed(path, "an integer")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise _ill_typed(path, "a boolean")


def _ill_typed(path: str, expected: str) -> ApiError:
    return ApiError("InvalidParameter", f"The value of parameter `{path}` must be {expected}.")
