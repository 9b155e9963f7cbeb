"""`Filters` and `Offset`/`Limit` of the Describe actions: limits and matching.

Several filters are ANDed, even two with the same `Name`; the values inside one filter are ORed
(the SDK's `Filter` docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from reconciler.cloudsim.errors import ApiError

T = TypeVar("T")
MAX_FILTERS = 10
MAX_VALUES = 5


Filter = tuple[str, list[str]]
"""One filter: its name and its values (any of which matches)."""


def check_filters(
    filters: Sequence[Mapping[str, Any]], accepts: Callable[[str], bool]
) -> list[Filter]:
    """The filters as (name, values) in request order, after the documented limits (≤10 filters,
    ≤5 values); every one must match (AND), one of its values each (OR)."""
    if len(filters) > MAX_FILTERS:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded",
            f"At most {MAX_FILTERS} filters are allowed; {len(filters)} were given.",
        )
    checked: list[Filter] = []
    for item in filters:
        name, values = item["Name"], item["Values"]
        if not accepts(name):
            raise ApiError("InvalidFilter", f"The filter `{name}` is not supported.")
        if len(values) > MAX_VALUES:
            raise ApiError(
                "InvalidFilterValue.LimitExceeded",
                f"The filter `{name}` takes at most {MAX_VALUES} values; {len(values)} were given.",
            )
        checked.append((name, list(values)))
    return checked


def values_of(filters: Sequence[Filter], name: str) -> list[str]:
    """Every value given to the filters called `name` (to check their format)."""
    return [value for filter_name, values in filters if filter_name == name for value in values]


def page(items: Sequence[T], params: Mapping[str, Any], *, default: int = 20) -> list[T]:
    """The `Offset`/`Limit` window of `items` (Limit 1-100)."""
    offset = params.get("Offset", 0)
    limit = params.get("Limit", default)
    if offset < 0:
        raise ApiError("InvalidParameterValue", f"Offset must not be negative, not {offset}.")
    if limit > 100:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"Limit is at most 100, not {limit}.")
    if limit < 1:
        raise ApiError("InvalidParameterValue", f"Limit must be at least 1, not {limit}.")
    return list(items[offset : offset + limit])
