"""`app.import_images`: the reading and selection behind `reconciler import`."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import app
from reconciler.errors import UsageError

from .test_import_e2e import db, make_outside_image, stack_dir

__all__ = ["db", "stack_dir"]


def test_all_unmanaged_selects_every_outside_image_with_its_shares(
    stack_dir: Path, db: Path
) -> None:
    image_id = make_outside_image(db, "Web Base", share_with="100000000002")
    found = app.import_images(stack_dir, all_unmanaged=True, runtime=app.Runtime(db=str(db)))
    assert found.regions == ("ap-guangzhou", "ap-singapore")
    assert found.outside_regions == ()
    (only,) = [entry for entry in found.images if entry.image.image_id == image_id]
    assert only.name == "web-base"
    assert only.shares == ("100000000002",)


def test_one_image_by_id(stack_dir: Path, db: Path) -> None:
    image_id = make_outside_image(db, "web-base")
    found = app.import_images(
        stack_dir, region="ap-guangzhou", image_id=image_id, runtime=app.Runtime(db=str(db))
    )
    assert [entry.image.image_id for entry in found.images] == [image_id]
    assert found.regions == ("ap-guangzhou",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "give either"),
        ({"image_id": "img-00000001"}, "--image-id needs --region"),
        ({"all_unmanaged": True, "region": "ap-guangzou"}, "not a Tencent Cloud region"),
    ],
)
def test_option_mistakes_are_usage_errors(
    stack_dir: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        app.import_images(stack_dir, **options)  # type: ignore[arg-type]


def test_plan_takes_db_or_runtime_not_both(stack_dir: Path) -> None:
    from reconciler.model.plan import PlanOptions

    with pytest.raises(ValueError, match="not both"):
        app.plan(stack_dir, PlanOptions(), db="x.db", runtime=app.Runtime())
