"""Plan errors found against the cloud: a source that does not exist, printed once (SPEC §5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import app
from reconciler.cloudsim import CloudSim

from .conftest import copy_example
from .pipeline import converge, edit, make_plan, text
from .runner import run_cli

MISSING = """\
apiVersion: reconciler/v1
kind: Stack
metadata: {name: nx}
spec: {regions: [ap-guangzhou, ap-shanghai]}
---
apiVersion: reconciler/v1
kind: Image
metadata: {name: a}
spec:
  region: ap-guangzhou
  source: {instance: {id: ins-nothere1}}
---
apiVersion: reconciler/v1
kind: Image
metadata: {name: b}
spec:
  region: ap-guangzhou
  source: {snapshots: {system: snap-demo0001, data: [snap-nothere1]}}
---
apiVersion: reconciler/v1
kind: Image
metadata: {name: c}
spec:
  region: ap-guangzhou
  source: {instance: {id: ins-demo0002}}
"""

ERRORS = [
    "image.a (s.yaml:7): source.instance.id ins-nothere1 does not exist in ap-guangzhou",
    "image.b (s.yaml:14): source.snapshots.data snap-nothere1 does not exist in ap-guangzhou",
    # ins-demo0002 exists, but in ap-shanghai: CreateImage in ap-guangzhou can't use it.
    "image.c (s.yaml:21): source.instance.id ins-demo0002 does not exist in ap-guangzhou",
]


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "nx"
    root.mkdir()
    (root / "s.yaml").write_text(MISSING)
    return root


def test_a_source_that_does_not_exist_is_a_plan_error_printed_once(
    stack: Path, cloud_db: Path
) -> None:
    result = run_cli("plan", str(stack), "--db", str(cloud_db))
    assert result.exit_code == 1, result.stdout + result.stderr
    for error in ERRORS:
        assert result.stdout.count(error) == 1, result.stdout
    # stderr only counts them: each error is printed once, with the plan.
    assert result.stderr == "Error: the plan has 3 error(s); it can't be applied.\n"
    as_json = run_cli("plan", str(stack), "--db", str(cloud_db), "--format", "json")
    assert json.loads(as_json.stdout)["errors"] == ERRORS
    assert as_json.stderr == result.stderr
    # `apply --format json` prints no plan: stderr lists the errors then.
    applied = run_cli("apply", str(stack), "--db", str(cloud_db), "--format", "json")
    assert applied.exit_code == 1
    assert applied.stdout == ""
    assert applied.stderr.splitlines()[1:] == [f"  {e}" for e in ERRORS]


def test_a_source_whose_read_failed_is_not_an_error(
    stack: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    sim = CloudSim(cloud_db)
    sim.set_fault("DescribeInstances", "UnauthorizedOperation")
    sim.set_fault("DescribeSnapshots", "UnauthorizedOperation")
    sim.close()
    assert make_plan(stack, runtime).errors == ()


def test_renaming_an_adopted_image_into_a_taken_name_is_a_plan_error(
    tmp_path: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    stack = copy_example("packer-distribution", tmp_path)
    sim = CloudSim(cloud_db)
    try:
        sim.add_image("ap-guangzhou", image_id="img-pkrdemo1", name="packer-web-20261101")
        taken = sim.add_image("ap-guangzhou", name="web-release")["ImageId"]
    finally:
        sim.close()
    converge(stack, runtime)
    edit(stack / "packer-web.yaml", "  description:", "  imageName: web-release\n  description:")
    plan = make_plan(stack, runtime)
    assert [e for e in plan.errors if f"the name is held by {taken} (untagged)" in e], text(plan)
    assert plan.errors[0].startswith("image.packer-web (packer-web.yaml:")
