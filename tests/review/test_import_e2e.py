"""`reconciler import` end to end: import → plan shows only the adoption → apply → no changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .cloud import call, instant_cloud, reconciler

STACK = """\
apiVersion: reconciler/v1
kind: Stack
metadata: {name: prod}
spec:
  regions: [ap-guangzhou, ap-singapore]
"""


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "stack.yaml").write_text(STACK, encoding="utf-8")
    return root


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cloud.db"


def make_outside_image(db: Path, name: str, *, share_with: str | None = None) -> str:
    """Create an image by hand (as Packer would), tagged and optionally shared."""
    sim = instant_cloud(db)
    try:
        image_id = call(
            sim,
            "CreateImage",
            "ap-guangzhou",
            {
                "InstanceId": "ins-demo0004",
                "ImageName": name,
                "ImageDescription": "built by packer",
                "TagSpecification": [
                    {"ResourceType": "image", "Tags": [{"Key": "owner", "Value": "web-team"}]}
                ],
            },
        )["ImageId"]
        assert isinstance(image_id, str)
        if share_with:
            call(
                sim,
                "ModifyImageSharePermission",
                "ap-guangzhou",
                {"ImageId": image_id, "AccountIds": [share_with], "Permission": "SHARE"},
            )
        return image_id
    finally:
        sim.close()


def plan_json(stack_dir: Path, db: Path) -> dict[str, object]:
    run = reconciler("plan", str(stack_dir), "--db", str(db), "--format", "json")
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert isinstance(data, dict)
    return data


def test_import_then_plan_adopts_only_then_apply_leaves_no_changes(
    stack_dir: Path, db: Path
) -> None:
    image_id = make_outside_image(db, "Packer Web 2024", share_with="100000000002")
    run = reconciler(
        "import",
        str(stack_dir),
        "--db",
        str(db),
        "--region",
        "ap-guangzhou",
        "--image-id",
        image_id,
    )
    assert run.exit_code == 0, run.stderr
    documents = list(yaml.safe_load_all(run.stdout))
    assert [d["kind"] for d in documents] == ["Image", "ImageShare"]
    assert documents[0]["metadata"]["name"] == "packer-web-2024"
    assert documents[0]["spec"]["imageName"] == "Packer Web 2024"
    assert documents[1]["spec"]["accounts"] == ["100000000002"]
    (stack_dir / "imported.yaml").write_text(run.stdout, encoding="utf-8")

    plan = plan_json(stack_dir, db)
    acting = [c for c in plan["changes"] if c["action"] != "no-op"]  # type: ignore[attr-defined]
    assert [(c["address"], c["action"]) for c in acting] == [("image.packer-web-2024", "update")]
    assert "adopt" in acting[0]["reason"]
    assert acting[0]["image_id"] == image_id
    # Adoption only tags the image: no rename, no attribute change, no share change.
    operations = {s["operation"] for s in plan["steps"]}  # type: ignore[attr-defined]
    assert operations <= {"ModifyResourceTags"}, operations

    applied = reconciler("apply", str(stack_dir), "--db", str(db), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    again = reconciler("plan", str(stack_dir), "--db", str(db), "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr


def test_import_all_unmanaged_lists_every_unowned_image(stack_dir: Path, db: Path) -> None:
    first = make_outside_image(db, "web")
    second = make_outside_image(db, "web!", share_with="100000000003")
    run = reconciler("import", str(stack_dir), "--db", str(db), "--all-unmanaged")
    assert run.exit_code == 0, run.stderr
    documents = list(yaml.safe_load_all(run.stdout))
    images = {
        d["spec"]["source"]["existing"]["imageId"]: d for d in documents if d["kind"] == "Image"
    }
    assert set(images) == {first, second}
    names = sorted(d["metadata"]["name"] for d in images.values())
    assert names == ["web", "web-2"]  # sanitised and unique
    assert sum(1 for d in documents if d["kind"] == "ImageShare") == 1
    (stack_dir / "imported.yaml").write_text(run.stdout, encoding="utf-8")
    assert reconciler("validate", str(stack_dir)).exit_code == 0


def test_import_refuses_unknown_and_managed_images_with_a_message(
    stack_dir: Path, db: Path
) -> None:
    make_outside_image(db, "web")
    missing = reconciler(
        "import",
        str(stack_dir),
        "--db",
        str(db),
        "--region",
        "ap-guangzhou",
        "--image-id",
        "img-nope0000",
    )
    assert missing.exit_code == 1
    assert "img-nope0000: no custom image with this ID in ap-guangzhou" in missing.stderr
    usage = reconciler("import", str(stack_dir), "--db", str(db), "--image-id", "img-1")
    assert usage.exit_code == 1
    assert "--image-id needs --region" in usage.stderr
    both = reconciler("import", str(stack_dir), "--db", str(db))
    assert both.exit_code == 1
    assert "--all-unmanaged" in both.stderr
    bad_region = reconciler(
        "import", str(stack_dir), "--db", str(db), "--region", "mars-1", "--image-id", "img-1"
    )
    assert bad_region.exit_code == 1
    assert "not a Tencent Cloud region" in bad_region.stderr
