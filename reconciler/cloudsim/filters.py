"""`Filters` and `Offset`/`Limit` of the Describe actions: limits and matching."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from reconciler.cloudsim.errors import ApiError

T = TypeVar("T")
MAX_FILTERS = 10
MAX_VALUES = 5


def check_filters(
    filters: Sequence[Mapping[str, Any]], accepts: Callable[[str], bool]
) -> dict[str, list[str]]:
    """The filters as name → values, after the documented limits (≤10 filters, ≤5 values)."""
    if len(filters) > MAX_FILTERS:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded",
            f"At most {MAX_FILTERS} filters are allowed; {len(filters)} were given.",
        )
    by_name: dict[str, list[str]] = {}
    for item in filters:
        name, values = item["Name"], item["Values"]
        if not accepts(name):
            raise ApiError("InvalidFilter", f"The filter `{name}` is not supported.")
        if len(values) > MAX_VALUES:
            raise ApiError(
                "InvalidFilterValue.LimitExceeded",
                f"The filter `{name}` takes at most {MAX_VALUES} values; {len(values)} were given.",
            )
        by_name.setdefault(name, []).extend(values)
    return by_name


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
