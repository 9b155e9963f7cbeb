"""The `metadata.name` rule exported from common.schema.json (`name_pattern`, `NAME_MAX`)."""

from __future__ import annotations

import pytest

from reconciler.manifests.schemas import NAME_MAX, name_pattern


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("web", True),
        ("a", True),
        ("a" * NAME_MAX, True),
        ("a" * (NAME_MAX + 1), False),
        ("-web", False),
        ("web-", False),
        ("Web", False),
        ("web\n", False),
    ],
)
def test_the_name_pattern_is_the_schemas(name: str, valid: bool) -> None:
    assert bool(name_pattern().match(name)) is valid
