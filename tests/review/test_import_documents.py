"""The manifests `reconciler import` prints: names, attributes, shares, and that they validate."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.manifests import load_desired
from reconciler.manifests.export import (
    ImportedImage,
    image_documents,
    manifest_name,
    render_documents,
)
from reconciler.model.desired import DeletionPolicy, ExistingSource
from reconciler.model.observed import ObservedImage

STACK = """\
apiVersion: reconciler/v1
kind: Stack
metadata: {name: prod}
spec:
  regions: [ap-guangzhou, ap-singapore]
"""


def live_image(name: str, **fields: object) -> ObservedImage:
    return ObservedImage(
        image_id=str(fields.pop("image_id", "img-packer01")),
        region=str(fields.pop("region", "ap-guangzhou")),
        name=name,
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "taken", "expected"),
    [
        ("web-base", set(), "web-base"),
        ("Web_Base 2024.01", set(), "web-base-2024-01"),
        ("--nginx--", set(), "nginx"),
        ("web-base", {"web-base"}, "web-base-2"),
        ("web-base", {"web-base", "web-base-2"}, "web-base-3"),
        ("中文", set(), "image"),
        ("x" * 60, set(), "x" * 40),
        ("a" * 39 + "-b", set(), "a" * 39),  # cut to 40, then no trailing "-"
    ],
)
def test_manifest_names_are_valid_and_unique(text: str, taken: set[str], expected: str) -> None:
    before = set(taken)
    name = manifest_name(text, taken)
    assert name == expected
    assert name not in before
    assert name in taken
    assert len(name) <= 40


def test_a_long_clashing_name_keeps_its_suffix_within_40_characters() -> None:
    taken: set[str] = set()
    first = manifest_name("y" * 50, taken)
    second = manifest_name("y" * 50, taken)
    assert first == "y" * 40
    assert second == "y" * 38 + "-2"


def test_documents_carry_the_live_attributes_and_shares() -> None:
    image = live_image(
        "Packer Web 2024",
        description="built by packer",
        family="web",
        deprecated=True,
        tags={"owner": "web-team", "reconciler:stack": "x"},
    )
    image_doc, share_doc = image_documents(
        ImportedImage(image=image, shares=("100000000002", "100000000003"), name="packer-web-2024")
    )
    assert image_doc == {
        "apiVersion": "reconciler/v1",
        "kind": "Image",
        "metadata": {"name": "packer-web-2024"},
        "spec": {
            "region": "ap-guangzhou",
            "imageName": "Packer Web 2024",
            "description": "built by packer",
            "family": "web",
            "deprecated": True,
            "tags": {"owner": "web-team"},
            "source": {"existing": {"imageId": "img-packer01"}},
        },
    }
    assert share_doc["kind"] == "ImageShare"
    assert share_doc["metadata"] == {"name": "packer-web-2024-shares"}
    assert share_doc["spec"] == {
        "image": "packer-web-2024",
        "accounts": ["100000000002", "100000000003"],
        "regions": ["ap-guangzhou"],
    }


def test_an_unshared_image_gets_no_share_document_and_a_long_name_stays_unmanaged() -> None:
    image = live_image("n" * 55)
    (only,) = image_documents(ImportedImage(image=image, shares=(), name="n"))
    assert "imageName" not in only["spec"]
    assert "longer than 51 characters" in render_documents(
        [ImportedImage(image=image, shares=(), name="n")]
    )


def test_the_printed_yaml_validates_and_describes_the_live_image(tmp_path: Path) -> None:
    images = [
        ImportedImage(
            image=live_image(
                "Packer Web", description="d: with colon", tags={"owner": "a", "n": "007"}
            ),
            shares=("100000000002",),
            name="packer-web",
        ),
        ImportedImage(
            image=live_image("legacy", image_id="img-legacy01", region="ap-singapore"),
            shares=(),
            name="legacy",
        ),
    ]
    text = render_documents(images)
    # Account IDs and numeric-looking tag values stay strings.
    assert all(isinstance(d, dict) for d in yaml.safe_load_all(text))
    (tmp_path / "stack.yaml").write_text(STACK, encoding="utf-8")
    (tmp_path / "imported.yaml").write_text(text, encoding="utf-8")
    desired = load_desired(tmp_path)
    web = desired.image("packer-web")
    assert web.source == ExistingSource(image_id="img-packer01")
    assert web.cloud_name == "Packer Web"
    assert web.description == "d: with colon"
    assert dict(web.tags) == {"owner": "a", "n": "007"}
    assert web.lifecycle.deletion_policy is DeletionPolicy.RETAIN
    assert [s.address for s in desired.shares] == ["share.packer-web@ap-guangzhou:100000000002"]
    assert desired.image("legacy").region == "ap-singapore"
