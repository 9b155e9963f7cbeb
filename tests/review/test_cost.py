"""The monthly cost estimate (SPEC §9) against hand-computed cases."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.desired import (
    DesiredStack,
    DesiredState,
    ExistingSource,
    ImportSource,
    InstanceSource,
    PricingConfig,
    SnapshotsSource,
)
from reconciler.model.observed import ObservedCloud, ObservedImage, ObservedSnapshot
from reconciler.model.plan import Action, Change, Plan, RegionCost
from reconciler.model.prices import SHIPPED_PRICES, PriceTable, RegionPrice
from reconciler.model.source import SourceRef
from reconciler.planner.cost import (
    estimate_cost,
    image_size_gb,
    source_size_gb,
)

from .cloud import instant_cloud, reconciler

QUICKSTART = Path(__file__).resolve().parents[2] / "manifests" / "quickstart"

STACK = "prod"


def desired(
    regions: tuple[str, ...] = ("ap-guangzhou", "ap-shanghai", "ap-singapore"),
    pricing: PricingConfig | None = None,
) -> DesiredState:
    stack = DesiredStack(
        name=STACK,
        regions=regions,
        pricing=pricing or PricingConfig(),
        source_ref=SourceRef("stack.yaml", 1),
    )
    return DesiredState(stack=stack)


def observed_image(
    image_id: str, region: str, gb: int, *, address: str | None = None
) -> ObservedImage:
    tags: Mapping[str, str] = (
        {"reconciler:stack": STACK, "reconciler:address": address} if address else {}
    )
    return ObservedImage(
        image_id=image_id,
        region=region,
        name=image_id,
        size_gb=gb,
        snapshots=(ObservedSnapshot(f"snap-{image_id[4:]}", "SYSTEM_DISK", gb),),
        tags=tags,
    )


def cloud(*images: ObservedImage) -> ObservedCloud:
    return ObservedCloud(account="100000000001", images=images)


def plan(*changes: Change) -> Plan:
    return Plan(stack=STACK, created_at="", expires_at="", changes=changes)


def region_cost(estimate_regions: tuple[RegionCost, ...], region: str) -> RegionCost:
    return next(r for r in estimate_regions if r.region == region)


def test_the_shipped_price_table_matches_the_billing_reference() -> None:
    table = SHIPPED_PRICES
    assert table.currency == "USD"
    assert table.price("ap-guangzhou").per_gb_month == 0.0185
    assert table.price("ap-guangzhou").free_tier_gb == 50
    assert table.price("na-siliconvalley").per_gb_month == 0.0185
    assert table.price("na-ashburn").free_tier_gb == 0
    assert table.price("ap-singapore").per_gb_month == 0.026
    assert table.price("ap-hongkong").per_gb_month == 0.026
    assert table.price("ap-hongkong").free_tier_gb == 0


def test_an_image_is_as_big_as_its_snapshots_else_its_image_size() -> None:
    two_disks = ObservedImage(
        image_id="img-1",
        region="ap-guangzhou",
        name="x",
        size_gb=50,
        snapshots=(
            ObservedSnapshot("snap-1", "SYSTEM_DISK", 50),
            ObservedSnapshot("snap-2", "DATA_DISK", 100),
        ),
    )
    assert image_size_gb(two_disks) == 150
    assert image_size_gb(ObservedImage(image_id="img-2", region="r", name="y", size_gb=20)) == 20


def test_a_new_image_is_as_big_as_the_source_disks_it_takes() -> None:
    sizes = {"ins-1": 50, "disk-1": 100, "disk-2": 10, "snap-s": 20, "snap-d": 30}
    assert source_size_gb(InstanceSource(instance_id="ins-1"), sizes) == 50
    listed = InstanceSource(instance_id="ins-1", data_disk_ids=("disk-2", "disk-2"))
    assert source_size_gb(listed, sizes) == 60  # a disk listed twice is one disk
    assert source_size_gb(SnapshotsSource(system="snap-s", data=("snap-d",)), sizes) == 50
    # One disk unknown: the whole size is unknown (never a partial sum).
    missing = InstanceSource(instance_id="ins-1", data_disk_ids=("disk-9",))
    assert source_size_gb(missing, sizes) is None
    imported = ImportSource(
        url="https://b.cos.ap-guangzhou.myqcloud.com/x", os_type="CentOS", os_version="7"
    )
    assert source_size_gb(imported, sizes) is None
    assert source_size_gb(ExistingSource(image_id="img-1"), sizes) is None


def copy_change(region: str) -> Change:
    return Change(address=f"image.web@{region}", action=Action.CREATE, reason="new", region=region)


HOME = observed_image("img-home0001", "ap-guangzhou", 20, address="image.web")


def test_copy_into_a_free_tier_region_that_stays_under_the_tier_costs_nothing() -> None:
    # ap-shanghai: 10 GB of other images + a 20 GB copy = 30 GB ≤ 50 GB free.
    observed = cloud(HOME, observed_image("img-other001", "ap-shanghai", 10))
    estimate = estimate_cost(desired(), observed, plan(copy_change("ap-shanghai")))
    shanghai = region_cost(estimate.regions, "ap-shanghai")
    assert (shanghai.account_gb_before, shanghai.account_gb_after) == (10, 30)
    assert (shanghai.stack_gb_before, shanghai.stack_gb_after) == (0, 20)
    assert (shanghai.monthly_before, shanghai.monthly_after, shanghai.monthly_delta) == (0, 0, 0)
    assert shanghai.stack_share_of_delta == 0
    assert estimate.monthly_delta == 0


def test_copy_into_a_free_tier_region_over_the_tier_pays_for_the_excess() -> None:
    # ap-shanghai: 40 GB other + 20 GB copy = 60 GB; 10 GB over the tier * 0.0185 = 0.185.
    observed = cloud(HOME, observed_image("img-other001", "ap-shanghai", 40))
    estimate = estimate_cost(desired(), observed, plan(copy_change("ap-shanghai")))
    shanghai = region_cost(estimate.regions, "ap-shanghai")
    assert shanghai.account_gb_after == 60
    assert shanghai.free_tier_gb == 50
    assert shanghai.monthly_before == 0
    assert shanghai.monthly_after == pytest.approx(0.185)
    assert shanghai.monthly_delta == pytest.approx(0.185)
    assert shanghai.stack_share_of_delta == pytest.approx(0.185)
    assert estimate.monthly_delta == pytest.approx(0.185)
    # The home region is untouched.
    guangzhou = region_cost(estimate.regions, "ap-guangzhou")
    assert guangzhou.account_gb_before == guangzhou.account_gb_after == 20
    assert guangzhou.monthly_delta == 0


def test_a_recorded_size_wins_over_the_home_image() -> None:
    change = Change(
        address="image.web@ap-singapore",
        action=Action.CREATE,
        reason="new",
        region="ap-singapore",
        after={"sizeGb": 8},
    )
    estimate = estimate_cost(desired(), cloud(HOME), plan(change))
    singapore = region_cost(estimate.regions, "ap-singapore")
    assert singapore.account_gb_after == 8
    assert singapore.monthly_after == pytest.approx(8 * 0.026)


def test_a_deletion_outside_the_free_tier_saves_its_whole_size() -> None:
    # ap-singapore: 30 GB ours + 10 GB other; 0.026/GB: 1.04 → 0.26.
    ours = observed_image("img-sg000001", "ap-singapore", 30, address="image.web@ap-singapore")
    observed = cloud(HOME, ours, observed_image("img-other002", "ap-singapore", 10))
    delete = Change(
        address="image.web@ap-singapore",
        action=Action.DELETE,
        reason="no longer declared",
        region="ap-singapore",
        image_id="img-sg000001",
    )
    singapore = region_cost(
        estimate_cost(desired(), observed, plan(delete)).regions, "ap-singapore"
    )
    assert (singapore.account_gb_before, singapore.account_gb_after) == (40, 10)
    assert singapore.monthly_before == pytest.approx(1.04)
    assert singapore.monthly_after == pytest.approx(0.26)
    assert singapore.monthly_delta == pytest.approx(-0.78)
    assert (singapore.stack_gb_before, singapore.stack_gb_after) == (30, 0)
    assert singapore.stack_share_of_delta == pytest.approx(-0.78)


def test_a_replacement_briefly_doubles_then_returns_to_the_same_steady_state() -> None:
    # ap-guangzhou: 40 GB ours + 30 GB other = 70 GB; the new image (40 GB) exists beside the
    # old one until the old is deleted: 110 GB at the peak, 70 GB after. (70 - 50) * 0.0185 = 0.37.
    ours = observed_image("img-home0002", "ap-guangzhou", 40, address="image.web")
    observed = cloud(ours, observed_image("img-other003", "ap-guangzhou", 30))
    replace = Change(
        address="image.web",
        action=Action.REPLACE,
        reason="source.instance.id changed: forces replacement",
        region="ap-guangzhou",
        image_id="img-home0002",
        after={"sizeGb": 40},
    )
    guangzhou = region_cost(
        estimate_cost(desired(), observed, plan(replace)).regions, "ap-guangzhou"
    )
    assert guangzhou.account_gb_before == guangzhou.account_gb_after == 70
    assert guangzhou.account_gb_peak == 110
    assert guangzhou.monthly_before == guangzhou.monthly_after == pytest.approx(0.37)
    assert guangzhou.monthly_delta == 0
    assert guangzhou.stack_gb_after == 40


def test_a_replacement_without_a_recorded_size_assumes_the_old_size() -> None:
    ours = observed_image("img-home0003", "ap-guangzhou", 60, address="image.web")
    replace = Change(
        address="image.web",
        action=Action.REPLACE,
        reason="--replace",
        region="ap-guangzhou",
        image_id="img-home0003",
    )
    guangzhou = region_cost(
        estimate_cost(desired(), cloud(ours), plan(replace)).regions, "ap-guangzhou"
    )
    assert guangzhou.account_gb_peak == 120
    assert guangzhou.account_gb_after == 60


def test_forgetting_moves_cost_out_of_the_stack_but_not_out_of_the_account() -> None:
    ours = observed_image("img-sg000002", "ap-singapore", 10, address="image.old@ap-singapore")
    forget = Change(
        address="image.old@ap-singapore",
        action=Action.FORGET,
        reason="deletionPolicy Retain",
        region="ap-singapore",
        image_id="img-sg000002",
    )
    singapore = region_cost(
        estimate_cost(desired(), cloud(ours), plan(forget)).regions, "ap-singapore"
    )
    assert singapore.monthly_delta == 0
    assert (singapore.stack_gb_before, singapore.stack_gb_after) == (10, 0)
    # The bill does not change: no part of it is the stack's share of the delta.
    assert singapore.stack_share_of_delta == 0


def test_adoption_brings_an_existing_image_into_the_stack_at_no_account_cost() -> None:
    packer = observed_image("img-packer01", "ap-singapore", 10)
    adopt = Change(
        address="image.packer",
        action=Action.UPDATE,
        reason="adopting existing image img-packer01",
        region="ap-singapore",
        image_id="img-packer01",
    )
    singapore = region_cost(
        estimate_cost(desired(), cloud(packer), plan(adopt)).regions, "ap-singapore"
    )
    assert singapore.monthly_delta == 0
    assert (singapore.stack_gb_before, singapore.stack_gb_after) == (0, 10)
    # The image was billed before too: its adoption is no part of the stack's share of the delta.
    assert singapore.stack_share_of_delta == 0


def test_stack_pricing_overrides_price_free_tier_default_and_currency() -> None:
    pricing = PricingConfig(
        per_gb_month={"ap-singapore": 0.03},
        free_tier_gb={"ap-singapore": 5, "ap-guangzhou": 0},
        default_per_gb_month=0.05,
        currency="EUR",
    )
    observed = cloud(
        observed_image("img-sg000003", "ap-singapore", 15),
        observed_image("img-gz000003", "ap-guangzhou", 10),
        observed_image("img-tk000003", "ap-tokyo", 10, address="image.x@ap-tokyo"),
    )
    estimate = estimate_cost(desired(pricing=pricing), observed, plan())
    assert estimate.currency == "EUR"
    singapore = region_cost(estimate.regions, "ap-singapore")
    assert (singapore.free_tier_gb, singapore.monthly_before) == (5, pytest.approx(0.3))
    guangzhou = region_cost(estimate.regions, "ap-guangzhou")
    assert guangzhou.price_per_gb_month == 0.0185
    assert guangzhou.monthly_before == pytest.approx(0.185)
    # ap-tokyo is not a stack region, but the stack has an image there; it is not in the table.
    tokyo = region_cost(estimate.regions, "ap-tokyo")
    assert tokyo.price_per_gb_month == 0.05
    assert [r.region for r in estimate.regions] == [
        "ap-guangzhou",
        "ap-shanghai",
        "ap-singapore",
        "ap-tokyo",
    ]


IMPORT_SOURCE = (
    "import:\n"
    "      url: https://images-1250000000.cos.ap-guangzhou.myqcloud.com/web.qcow2\n"
    "      osType: CentOS\n"
    '      osVersion: "7"'
)


def quickstart_plan(tmp_path: Path, source: str | None = None) -> tuple[dict[str, Any], str]:
    """`reconciler plan` of manifests/quickstart on a fresh simulated cloud: (JSON, markdown).

    `source` replaces the Image's `instance:` source block.
    """
    root = tmp_path / "images"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns(".reconciler"))
    if source is not None:
        manifest = root / "web-base.yaml"
        text = manifest.read_text(encoding="utf-8")
        edited = text.replace("instance:\n      id: ins-demo0001", source)
        assert edited != text
        manifest.write_text(edited, encoding="utf-8")
    db = tmp_path / "cloud.db"
    instant_cloud(db).close()
    as_json = reconciler("plan", str(root), "--db", str(db), "--format", "json")
    as_markdown = reconciler("plan", str(root), "--db", str(db), "--format", "markdown")
    assert as_json.exit_code == as_markdown.exit_code == 0, as_json.stderr + as_markdown.stderr
    return json.loads(as_json.stdout), as_markdown.stdout


def cost_by_region(plan_json: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """region → (account GB after, monthly after, monthly delta, the stack's share of it)."""
    return {
        r["region"]: (
            r["account_gb_after"],
            r["monthly_after"],
            r["monthly_delta"],
            r["stack_share_of_delta"],
        )
        for r in plan_json["cost"]["regions"]
    }


def test_quickstart_plan_costs_the_instances_system_disk_in_each_region(tmp_path: Path) -> None:
    plan_json, markdown = quickstart_plan(tmp_path)
    # The image of ins-demo0001 holds its 50 GiB system disk: the manifest lists no data disk.
    images = [c for c in plan_json["changes"] if c["address"].startswith("image.")]
    assert [(c["address"], c["action"], c["after"]["sizeGb"]) for c in images] == [
        ("image.web-base", "create", 50),
        ("image.web-base@ap-shanghai", "create", 50),
        ("image.web-base@ap-singapore", "create", 50),
    ]
    # Nothing before. 50 GB fits the mainland free tier of 50 GB (ap-guangzhou, ap-shanghai);
    # ap-singapore has none: 50 * 0.026 = 1.30 a month.
    assert cost_by_region(plan_json) == {
        "ap-guangzhou": (50, 0, 0, 0),
        "ap-shanghai": (50, 0, 0, 0),
        "ap-singapore": (50, pytest.approx(1.3), pytest.approx(1.3), pytest.approx(1.3)),
    }
    assert plan_json["cost"]["monthly_delta"] == pytest.approx(1.3)
    assert "**+1.30 USD per month**" in markdown
    assert (
        "| ap-singapore | 0 → 50 | 0 | 0.026 | 0.00 USD | 1.30 USD | +1.30 USD | +1.30 USD |"
        in markdown
    )
    assert "without a known size" not in markdown


def test_quickstart_plan_with_the_data_disk_listed_costs_it_too(tmp_path: Path) -> None:
    source = "instance:\n      id: ins-demo0001\n      dataDiskIds: [disk-demo0101]"
    plan_json, markdown = quickstart_plan(tmp_path, source)
    images = [c for c in plan_json["changes"] if c["address"].startswith("image.")]
    assert [c["after"]["sizeGb"] for c in images] == [150, 150, 150]  # 50 system + 100 data
    # Mainland: (150 - 50 free) * 0.0185 = 1.85; ap-singapore: 150 * 0.026 = 3.90.
    assert cost_by_region(plan_json) == {
        "ap-guangzhou": (150, pytest.approx(1.85), pytest.approx(1.85), pytest.approx(1.85)),
        "ap-shanghai": (150, pytest.approx(1.85), pytest.approx(1.85), pytest.approx(1.85)),
        "ap-singapore": (150, pytest.approx(3.9), pytest.approx(3.9), pytest.approx(3.9)),
    }
    assert plan_json["cost"]["monthly_delta"] == pytest.approx(7.6)
    assert "**+7.60 USD per month**" in markdown
    assert "without a known size" not in markdown


def test_an_import_has_no_known_size_and_the_plan_says_so(tmp_path: Path) -> None:
    plan_json, markdown = quickstart_plan(tmp_path, IMPORT_SOURCE)
    images = [c for c in plan_json["changes"] if c["address"].startswith("image.")]
    assert [c["action"] for c in images] == ["create"] * 3
    assert all("sizeGb" not in c["after"] for c in images)
    assert plan_json["cost"]["monthly_delta"] == 0
    assert "_3 images to create without a known size" in markdown


def test_estimate_cost_uses_the_table_it_is_given() -> None:
    observed = cloud(observed_image("img-00000001", "ap-guangzhou", 10))
    dear = PriceTable(
        currency="USD",
        default_per_gb_month=0.0,
        regions={"ap-guangzhou": RegionPrice(per_gb_month=1.0)},
    )
    estimate = estimate_cost(desired(("ap-guangzhou",)), observed, plan(), prices=dear)
    guangzhou = region_cost(estimate.regions, "ap-guangzhou")
    assert guangzhou.price_per_gb_month == 1.0
    assert guangzhou.monthly_before == 10.0
