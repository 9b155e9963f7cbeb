"""The DesiredState built from valid manifests: defaults, names, addresses and source lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifests import load_desired
from reconciler.model.desired import (
    DeletionPolicy,
    Enforcement,
    ExistingSource,
    ImportSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.generation import generation_of

from .helpers import IMAGE, STACK, locate

Tree = Callable[[dict[str, str | bytes]], Path]
EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"


def test_quickstart_desired_state() -> None:
    desired = load_desired(EXAMPLES / "quickstart")
    assert desired.stack.name == "quickstart"
    assert desired.stack.regions == ("ap-guangzhou", "ap-shanghai", "ap-singapore")
    assert desired.stack.provider.type == "local"
    (image,) = desired.images
    assert image.address == "image.web-base"
    assert image.source == InstanceSource(instance_id="ins-demo0001")
    assert image.generation == generation_of(
        "quickstart", "image.web-base", "ap-guangzhou", image.source
    )
    assert image.cloud_name == f"web-base-{image.generation[:8]}"
    assert image.copy_name == image.cloud_name
    assert image.tags == {"owner": "web-team"}
    assert (image.description, image.family, image.deprecated) == (
        "Nginx + app runtime",
        "web",
        False,
    )
    assert image.lifecycle.deletion_policy is DeletionPolicy.DELETE
    assert image.lifecycle.delete_snapshots is True
    assert [c.address for c in desired.copies] == [
        "image.web-base@ap-shanghai",
        "image.web-base@ap-singapore",
    ]
    assert [s.address for s in desired.shares] == [
        "share.web-base@ap-guangzhou:100000000002",
        "share.web-base@ap-shanghai:100000000002",
        "share.web-base@ap-singapore:100000000002",
    ]
    assert desired.documents == 4


def test_source_refs_point_at_kind_region_item_and_account_item() -> None:
    desired = load_desired(EXAMPLES / "quickstart")
    text = (EXAMPLES / "quickstart" / "web-base.yaml").read_text()
    image = desired.images[0]
    assert (image.source_ref.file, image.source_ref.line) == (
        "web-base.yaml",
        locate(text, "kind: Image")[0],
    )
    singapore = desired.copies_of("web-base")[1]
    assert (singapore.source_ref.line, singapore.source_ref.column) == locate(text, "ap-singapore]")
    share = desired.shares[0]
    assert (share.source_ref.line, share.source_ref.column) == locate(text, '"100000000002"')
    assert str(share.source_ref) == f"web-base.yaml:{share.source_ref.line}"


def test_multi_team_policy_pricing_and_lifecycle() -> None:
    desired = load_desired(EXAMPLES / "multi-team")
    policy = desired.stack.policy
    assert policy.allowed_accounts == ("100000000002", "100000000003", "100000000004")
    assert policy.required_tags == ("owner", "team")
    assert policy.destroy is True
    assert policy.enforcement_of("allowedAccounts") is Enforcement.DENY
    assert policy.enforcement_of("requiredTags") is Enforcement.WARN
    assert policy.source_ref is not None
    assert policy.source_ref.file == "stack.yaml"
    assert desired.stack.pricing.free_tier_gb == {"ap-guangzhou": 50.0}
    web = desired.image("web-base")
    assert web.lifecycle.protect is True
    assert web.lifecycle.ignore_changes == ("tags.owner",)
    assert web.lifecycle.flags == "protect"
    assert web.source == InstanceSource(instance_id="ins-demo0001", force_poweroff=True)
    assert web.annotations == {"contact": "web-team@example.com"}
    data = desired.image("data-worker")
    assert data.source == SnapshotsSource(system="snap-demo0002")
    assert data.lifecycle.delete_snapshots is False
    assert data.lifecycle.deletion_policy is DeletionPolicy.DELETE
    assert [s.address for s in desired.shares_of("data-worker")] == [
        "share.data-worker@ap-guangzhou:100000000004",
        "share.data-worker@ap-shanghai:100000000004",
    ]
    assert len(desired.shares_of("web-base", "ap-singapore")) == 2


def test_packer_existing_image_names_and_defaults() -> None:
    desired = load_desired(EXAMPLES / "packer-distribution")
    image = desired.images[0]
    assert image.source == ExistingSource(image_id="img-pkrdemo1")
    assert image.cloud_name is None
    assert image.copy_name == f"packer-web-{image.generation[:8]}"
    assert image.lifecycle.deletion_policy is DeletionPolicy.RETAIN
    assert image.lifecycle.delete_snapshots is False
    assert image.lifecycle.flags == "retain"


def test_import_defaults() -> None:
    desired = load_desired(EXAMPLES / "import-from-cos")
    source = desired.images[0].source
    assert isinstance(source, ImportSource)
    assert (source.os_type, source.os_version, source.architecture) == ("CentOS", "7", "x86_64")
    assert (source.boot_mode, source.license_type, source.force) == (
        "Legacy BIOS",
        "TencentCloud",
        False,
    )


def test_existing_with_image_name_is_applied_exactly(tree: Tree) -> None:
    image = IMAGE.replace(
        "    instance: {id: ins-demo0001}", "    existing: {imageId: img-12345678}"
    )
    desired = load_desired(
        tree({"stack.yaml": STACK, "i.yaml": image + "  imageName: golden-web\n"})
    )
    assert desired.images[0].cloud_name == "golden-web"
    assert desired.images[0].copy_name == f"golden-web-{desired.images[0].generation[:8]}"


def test_explicit_lifecycle_and_enforcement_string(tree: Tree) -> None:
    stack = (
        STACK
        + "  policy:\n    enforcement: warn\n"
        + "  provider: {type: tencentcloud, endpoint: 127.0.0.1:9000, protocol: http}\n"
    )
    image = IMAGE + "  lifecycle: {deletionPolicy: Retain, deleteSnapshots: false, protect: true}\n"
    desired = load_desired(tree({"stack.yaml": stack, "i.yaml": image}))
    assert desired.stack.policy.enforcement == dict.fromkeys(
        ("allowedAccounts", "requiredTags", "destroy"), Enforcement.WARN
    )
    assert desired.stack.policy.allowed_accounts is None
    provider = desired.stack.provider
    assert (provider.type, provider.endpoint, provider.protocol) == (
        "tencentcloud",
        "127.0.0.1:9000",
        "http",
    )
    assert desired.images[0].lifecycle.flags == "protect,retain"
    assert desired.images[0].lifecycle.delete_snapshots is False


def test_same_share_declared_twice_is_one_share(tree: Tree) -> None:
    share = (
        "apiVersion: reconciler/v1\nkind: ImageShare\nmetadata: {name: NAME}\n"
        'spec: {image: web, accounts: ["100000000002"]}\n'
    )
    desired = load_desired(
        tree(
            {
                "stack.yaml": STACK,
                "i.yaml": IMAGE,
                "s.yaml": share.replace("NAME", "a") + "---\n" + share.replace("NAME", "b"),
            }
        )
    )
    assert [s.address for s in desired.shares] == ["share.web@ap-guangzhou:100000000002"]
    assert desired.shares[0].source_ref.line == 4


def test_single_file_path(tree: Tree) -> None:
    root = tree({"all.yaml": STACK + "---\n" + IMAGE})
    desired = load_desired(root / "all.yaml")
    assert desired.images[0].source_ref.file == "all.yaml"
    assert desired.documents == 2


def test_load_desired_raises_with_every_problem(tree: Tree) -> None:
    root = tree({"i.yaml": IMAGE + "  descripton: x\n"})
    with pytest.raises(ManifestError) as raised:
        load_desired(root)
    messages = sorted(str(p) for p in raised.value.problems)
    assert len(messages) == 2
    assert messages[0].startswith(f"{root}: no Stack document")
    assert messages[1].startswith("i.yaml:9:3: Image/web: unknown field")
