"""`apply PLANFILE` / `apply PATH` run only checked steps on images the stack owns; plan files
record their manifest path; broken plan files and `--out` paths get clear errors; the cost's
`account_gb_peak` reaches the markdown."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler import app
from reconciler.errors import PlanError
from reconciler.model.observed import TAG_ADDRESS, TAG_STACK
from reconciler.model.plan import PlanOptions, Step
from reconciler.planner.fingerprint import fingerprint

from .cloud import OWN_ACCOUNT, CloudProbe
from .conftest import copy_example
from .pipeline import converge, edit
from .runner import run_cli

FOREIGN = "img-foreign1"


def _add_image(cloud_db: Path, image_id: str, name: str | None = None) -> None:
    named = ("--name", name) if name else ()
    result = run_cli(
        "cloud", "add-image", "--region", "ap-guangzhou", "--image-id", image_id, *named,
        "--db", str(cloud_db),
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr


def _tag(probe: CloudProbe, image_id: str, key: str, value: str) -> None:
    resource = f"qcs::cvm:ap-guangzhou:uin/{OWN_ACCOUNT}:image/{image_id}"
    probe.call(
        "ModifyResourceTags",
        "ap-guangzhou",
        {"Resource": resource, "ReplaceTags": [{"TagKey": key, "TagValue": value}]},
        service="tag",
    )


def _delete_step(image_id: str, step_id: str = "s99", **overrides: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "id": step_id,
        "operation": "DeleteImages",
        "service": "cvm",
        "address": "image.web-base",
        "region": "ap-guangzhou",
        "depends_on": [],
        "params": {"ImageIds": [image_id]},
        "description": "delete",
        "always_run": False,
    }
    step.update(overrides)
    return step


@pytest.fixture
def planned(quickstart: Path, runtime: app.Runtime, cloud_db: Path) -> Path:
    """quickstart applied, a foreign image added, then a description edit saved as a plan file."""
    converge(quickstart, runtime)
    _add_image(cloud_db, FOREIGN)
    edit(quickstart / "web-base.yaml", "description: Nginx + app runtime", "description: v2")
    planfile = quickstart.parent / "p.plan"
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--out", str(planfile))
    assert result.exit_code == 0, result.stderr
    return planfile


def _edit_plan(planfile: Path, change: Any) -> None:
    data = json.loads(planfile.read_text())
    change(data)
    planfile.write_text(json.dumps(data))


def _apply(planfile: Path, quickstart: Path, cloud_db: Path) -> Any:
    return run_cli(
        "apply", str(planfile), "--stack-dir", str(quickstart), "--db", str(cloud_db),
        "--auto-approve",
    )  # fmt: skip


def _unchanged(probe: CloudProbe) -> None:
    """Nothing of the plan ran: the foreign image is there, the description edit not applied."""
    assert any(i.image_id == FOREIGN for i in probe.images("ap-guangzhou"))
    assert {i.description for i in probe.owned("quickstart")} == {"Nginx + app runtime"}


def _observed_fingerprint(quickstart: Path, runtime: app.Runtime, image_id: str) -> str:
    desired = app.load(quickstart)
    with app.open_provider(desired, quickstart, runtime) as provider:
        observed = app.observe_cloud(provider, desired, datetime.now(UTC), source_sizes=False)
    return fingerprint([image_id], observed)[image_id]


# 1 (a) + (b): a step that is not what the planner made is refused before any call.


def test_an_added_step_deleting_a_foreign_image_is_refused(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    _edit_plan(planned, lambda d: d["steps"].append(_delete_step(FOREIGN)))
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "step s99 (DeleteImages image.web-base in ap-guangzhou)" in result.stderr
    assert f"touches {FOREIGN}, which the plan's fingerprint does not cover" in result.stderr
    assert "Traceback" not in result.stderr
    _unchanged(probe)


def test_a_step_with_the_wrong_service_is_refused(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    def retag_through_cvm(data: dict[str, Any]) -> None:
        step = next(s for s in data["steps"] if s["operation"] == "ModifyResourceTags")
        step["service"] = "cvm"

    _edit_plan(planned, retag_through_cvm)
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1
    assert "service 'cvm', but ModifyResourceTags is a tag operation" in result.stderr
    _unchanged(probe)


def test_an_unknown_operation_is_refused_by_the_schema(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    def terminate(data: dict[str, Any]) -> None:
        data["steps"].append(_delete_step(FOREIGN, operation="TerminateInstances"))

    _edit_plan(planned, terminate)
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1
    index = len(json.loads(planned.read_text())["steps"]) - 1
    assert f"invalid plan at steps/{index}/operation" in result.stderr
    _unchanged(probe)


# 1 (c): the ownership guard, even when the fingerprint was edited to cover the image.


def test_a_fingerprinted_foreign_image_is_still_never_changed(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path, runtime: app.Runtime
) -> None:
    value = _observed_fingerprint(quickstart, runtime, FOREIGN)

    def delete_foreign(data: dict[str, Any]) -> None:
        data["fingerprint"][FOREIGN] = value
        data["steps"].append(_delete_step(FOREIGN))

    _edit_plan(planned, delete_foreign)
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "would change what stack 'quickstart' does not own" in result.stderr
    assert f"step s99 (DeleteImages image.web-base in ap-guangzhou): {FOREIGN} " in result.stderr
    assert "has no reconciler:stack tag of this stack" in result.stderr
    _unchanged(probe)


def test_an_image_of_another_stack_is_never_changed_through_a_step_reference(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path, runtime: app.Runtime
) -> None:
    _tag(probe, FOREIGN, TAG_STACK, "other")
    value = _observed_fingerprint(quickstart, runtime, FOREIGN)

    def rename_via_ref(data: dict[str, Any]) -> None:
        data["fingerprint"][FOREIGN] = value
        wait = _delete_step(FOREIGN, "s98", operation="Wait")
        wait["params"] = {"ImageId": FOREIGN, "State": "NORMAL"}
        modify = _delete_step(FOREIGN, "s99", operation="ModifyImageAttribute", depends_on=["s98"])
        modify["params"] = {"ImageId": {"$ref": "s98", "field": "ImageId"}, "ImageName": "mine"}
        data["steps"] += [wait, modify]

    _edit_plan(planned, rename_via_ref)
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert (
        f"step s99 (ModifyImageAttribute image.web-base in ap-guangzhou): {FOREIGN} "
        "belongs to stack 'other'"
    ) in result.stderr
    assert {i.name for i in probe.images("ap-guangzhou") if i.image_id == FOREIGN} == {
        "image-foreign1"
    }
    _unchanged(probe)


def test_snapshots_of_images_the_plan_does_not_delete_are_refused(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    foreign = next(i for i in probe.images("ap-guangzhou") if i.image_id == FOREIGN)
    snapshot = foreign.snapshots[0]

    def delete_snapshot(data: dict[str, Any]) -> None:
        step = _delete_step(FOREIGN, operation="DeleteSnapshots", service="cbs")
        step["params"] = {"SnapshotIds": [snapshot]}
        data["steps"].append(step)

    _edit_plan(planned, delete_snapshot)
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert f"snapshot {snapshot} is not a snapshot of an image this plan deletes" in result.stderr
    assert snapshot in probe.snapshot_ids("ap-guangzhou")
    _unchanged(probe)


def test_apply_path_checks_ownership_too(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path, probe: CloudProbe
) -> None:
    converge(quickstart, runtime)
    _add_image(cloud_db, FOREIGN)
    edit(quickstart / "web-base.yaml", "description: Nginx + app runtime", "description: v2")
    result = app.planned(quickstart, PlanOptions(), runtime=runtime)
    made, observed = result.plan, result.observed
    extra = Step(
        id="s99",
        operation="DeleteImages",
        address="image.web-base",
        region="ap-guangzhou",
        params={"ImageIds": [FOREIGN]},
    )
    fingerprinted = {**made.fingerprint, FOREIGN: fingerprint([FOREIGN], observed)[FOREIGN]}
    bad = dataclasses.replace(made, steps=(*made.steps, extra), fingerprint=fingerprinted)
    for given in (observed, None):  # the plan's observation, or a new one
        with pytest.raises(PlanError, match=f"s99 .*{FOREIGN} .*no reconciler:stack tag"):
            app.apply_plan(bad, quickstart, runtime=runtime, observed=given)
    _unchanged(probe)


def test_an_interrupted_create_is_still_adopted_from_a_plan_file(
    quickstart: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    db = ("--db", str(cloud_db))
    first = json.loads(run_cli("plan", str(quickstart), *db, "--format", "json").stdout)
    create = next(s for s in first["steps"] if s["operation"] == "CreateImage")
    name = create["params"]["ImageName"]
    # The create ran, then the apply died before tagging: an untagged image with our exact name.
    probe.call("CreateImage", "ap-guangzhou", {"InstanceId": "ins-demo0001", "ImageName": name})
    planfile = quickstart.parent / "p.plan"
    assert run_cli("plan", str(quickstart), *db, "--out", str(planfile)).exit_code == 0
    assert "adopting interrupted create" in planfile.read_text()
    result = run_cli("apply", str(planfile), "--stack-dir", str(quickstart), *db)
    assert result.exit_code == 0, result.stdout + result.stderr
    home = [i for i in probe.owned("quickstart") if i.tags[TAG_ADDRESS] == "image.web-base"]
    assert [i.name for i in home] == [name]


def test_an_existing_image_is_still_adopted_from_a_plan_file(
    tmp_path: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    stack = copy_example("packer-distribution", tmp_path)
    db = ("--db", str(cloud_db))
    run_cli("cloud", "add-image", "--region", "ap-guangzhou", "--image-id", "img-pkrdemo1",
            "--name", "packer-web-20261101", *db)  # fmt: skip
    planfile = tmp_path / "p.plan"
    assert run_cli("plan", str(stack), *db, "--out", str(planfile)).exit_code == 0
    result = run_cli("apply", str(planfile), "--stack-dir", str(stack), *db)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "img-pkrdemo1" in {i.image_id for i in probe.owned("packer-dist")}


# 2: staleness names the address, the tag keys and the share accounts.


def test_stale_plan_lists_addresses_tag_keys_and_accounts(
    planned: Path, quickstart: Path, probe: CloudProbe, cloud_db: Path
) -> None:
    home = next(i for i in probe.owned("quickstart") if i.tags[TAG_ADDRESS] == "image.web-base")
    _tag(probe, home.image_id, "team", "payments")
    probe.call(
        "ModifyImageSharePermission",
        "ap-guangzhou",
        {"ImageId": home.image_id, "AccountIds": ["100000000002"], "Permission": "CANCEL"},
    )
    result = _apply(planned, quickstart, cloud_db)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: the plan is stale:",
        f"  image.web-base ({home.image_id}, ap-guangzhou): tag team added, "
        "no longer shared with 100000000002",
        "Make a new plan.",
    ]


# 3: the plan records its manifest path; apply PLANFILE reads the stack there.


@pytest.fixture
def parent_with_stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory holds quickstart and another, broken, stack directory."""
    copy_example("quickstart", tmp_path)
    broken = tmp_path / "other"
    broken.mkdir()
    (broken / "stack.yaml").write_text("apiVersion: reconciler/v1\nkind: Stack\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_apply_planfile_reads_the_manifests_the_plan_was_made_from(
    parent_with_stacks: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    db = ("--db", str(cloud_db))
    result = run_cli("plan", "quickstart", *db, "--out", "p.plan")
    assert result.exit_code == 0, result.stderr
    assert json.loads(Path("p.plan").read_text())["path"] == "quickstart"
    applied = run_cli("apply", "p.plan", *db)
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert len(probe.owned("quickstart")) == 3


def test_an_absolute_path_inside_the_current_directory_is_recorded_relative(
    parent_with_stacks: Path, cloud_db: Path
) -> None:
    result = run_cli(
        "plan", str(parent_with_stacks / "quickstart"), "--db", str(cloud_db), "--out", "p.plan"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(Path("p.plan").read_text())["path"] == "quickstart"


def test_without_the_recorded_directory_apply_hints_at_stack_dir(
    parent_with_stacks: Path, cloud_db: Path, probe: CloudProbe
) -> None:
    db = ("--db", str(cloud_db))
    assert run_cli("plan", "quickstart", *db, "--out", "p.plan").exit_code == 0
    Path("quickstart").rename("moved")
    result = run_cli("apply", "p.plan", *db)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Hint: pass --stack-dir DIR (the manifest directory the plan was made from: "
        "quickstart, not a directory here)"
    )
    assert probe.owned("quickstart") == []
    applied = run_cli("apply", "p.plan", "--stack-dir", "moved", *db)
    assert applied.exit_code == 0, applied.stdout + applied.stderr


# 4: a broken plan file says so.


def test_a_truncated_plan_file_names_the_json_error(
    planned: Path, quickstart: Path, cloud_db: Path
) -> None:
    text = planned.read_text()
    planned.write_text(text[: len(text) // 2])
    for command in (
        ("apply", str(planned), "--stack-dir", str(quickstart), "--db", str(cloud_db)),
        ("show", str(planned)),
    ):
        result = run_cli(*command)
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"Error: {planned}:")
        assert ": not valid JSON: " in line
        where = line.removeprefix(f"Error: {planned}:").split(": not valid JSON")[0]
        row, column = (int(n) for n in where.split(":"))
        assert row > 1
        assert column >= 1


def test_json_without_format_version_is_not_a_plan(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text('{"apiVersion": "reconciler/v1"}')
    result = run_cli("apply", str(other))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {other}: not a plan file: a JSON object without format_version"
    )


# 5: plan --out never creates directories, and names the given path on errors.


def test_plan_out_refuses_a_missing_directory(
    quickstart: Path, cloud_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nonexistent" / "dir" / "x.plan"
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {out}: can't write the plan there: the directory {out.parent} does not exist"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_plan_out_write_errors_name_the_given_path(quickstart: Path, cloud_db: Path) -> None:
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--out", "/proc/x.plan")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: /proc/x.plan: can't write the plan: ")
    assert ".tmp" not in result.stderr


# 6: a replacement plan's temporary peak reaches the markdown through the JSON plan.


def test_the_markdown_of_a_saved_replacement_plan_notes_the_peak(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    converge(quickstart, runtime)
    planfile = quickstart.parent / "p.plan"
    db = ("--db", str(cloud_db))
    made = run_cli(
        "plan", str(quickstart), *db, "--replace", "image.web-base", "--out", str(planfile)
    )
    assert made.exit_code == 0, made.stderr
    regions = json.loads(planfile.read_text())["cost"]["regions"]
    guangzhou = next(r for r in regions if r["region"] == "ap-guangzhou")
    assert guangzhou["account_gb_peak"] > guangzhou["account_gb_after"]
    shown = run_cli("show", str(planfile), "--format", "markdown")
    assert shown.exit_code == 0, shown.stderr
    assert "Temporarily higher: " in shown.stdout
    assert f"ap-guangzhou: {guangzhou['account_gb_peak']:g} GB while the apply runs" in shown.stdout
