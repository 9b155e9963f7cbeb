"""Plans after changes made outside the stack, failed applies and forgotten images, end to end:
drift is never hidden by the manifests, repairs are changes, adopted images keep their shares."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler import app
from reconciler.model.observed import TAG_ADDRESS
from reconciler.model.plan import Action

from .cloud import OWN_ACCOUNT, CloudProbe
from .conftest import copy_example
from .pipeline import actions, apply, converge, edit, make_plan, text
from .runner import run_cli

PARTNER, OTHER = "100000000002", "100000000003"


def _owned(probe: CloudProbe, stack: str, address: str) -> str:
    (image,) = [i for i in probe.owned(stack) if i.tags[TAG_ADDRESS] == address]
    return image.image_id


def test_drift_on_images_the_plan_replaces_or_deletes_is_shown(
    tmp_path: Path, runtime: app.Runtime, probe: CloudProbe, cloud_db: Path
) -> None:
    stack = copy_example("multi-team", tmp_path)
    apply(stack, runtime)
    worker = _owned(probe, "platform", "image.data-worker")
    probe.call(
        "ModifyImageSharePermission",
        "ap-shanghai",
        {"ImageId": worker, "AccountIds": [PARTNER], "Permission": "SHARE"},
    )
    copy = _owned(probe, "platform", "image.web-base@ap-singapore")
    probe.call(
        "ModifyImageSharePermission",
        "ap-singapore",
        {"ImageId": copy, "AccountIds": [OTHER], "Permission": "CANCEL"},
    )
    # data-worker is replaced (a new source); web-base no longer has a copy in ap-singapore.
    edit(
        stack / "teams" / "data.yaml",
        "snapshots: {system: snap-demo0002}",
        "instance: {id: ins-demo0002}",
    )
    edit(
        stack / "teams" / "web.yaml",
        "regions: [ap-shanghai, ap-singapore]",
        "regions: [ap-shanghai]",
    )
    edit(
        stack / "teams" / "web.yaml",
        "regions: [ap-guangzhou, ap-singapore]",
        "regions: [ap-guangzhou]",
    )

    refresh = make_plan(stack, runtime, refresh_only=True)
    drift = {c.address: (c.action, c.reason) for c in refresh.drift}
    assert drift == {
        "share.data-worker@ap-shanghai:100000000002": (Action.SHARE, "shared outside the stack"),
        "share.web-base@ap-singapore:100000000003": (
            Action.UNSHARE,
            "the share was cancelled outside the stack",
        ),
    }, text(refresh)
    db = ("--db", str(cloud_db))
    cli = run_cli("plan", str(stack), *db, "--refresh-only", "--detailed-exitcode")
    assert cli.exit_code == 2, cli.stdout + cli.stderr
    assert "No drift" not in cli.stdout
    full = make_plan(stack, runtime, allow_destroy=True)
    assert {c.address for c in full.drift} == set(drift)
    worker_change = next(c for c in full.changes if c.address == "image.data-worker")
    assert worker_change.action is Action.REPLACE
    assert worker_change.reason == "source changed from snapshots to instance: forces replacement"


def test_a_failed_final_tag_step_is_repaired_by_an_update(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    converge(quickstart, runtime)
    edit(
        quickstart / "web-base.yaml",
        'accounts: ["100000000002"]',
        f'accounts: ["{PARTNER}", "{OTHER}"]',
    )
    db = ("--db", str(cloud_db))
    fault = run_cli(
        "cloud", "faults", "set", "ModifyResourceTags", "--code", "UnauthorizedOperation",
        "--count", "1", *db,
    )  # fmt: skip
    assert fault.exit_code == 0, fault.stdout + fault.stderr
    result = app.apply_plan(make_plan(quickstart, runtime), quickstart, runtime=runtime)
    failed = [o for o in result.outcomes if o.status.value == "failed"]
    assert [o.operation for o in failed] == ["ModifyResourceTags"]

    # The failed tag step, and the home's final tag step that waited for it, are repairs.
    unfinished = {o.address for o in result.outcomes if o.status.value != "done"}
    repair = make_plan(quickstart, runtime)
    assert repair.steps
    updates = {c.address: c for c in repair.changes if c.action is not Action.NOOP}
    assert set(updates) == unfinished
    for change in updates.values():
        assert change.action is Action.UPDATE
        assert change.reason == (
            "record what is applied (an earlier apply did not finish, "
            "or the same change was made outside the stack)"
        )
    assert repair.drift == ()
    detailed = run_cli("plan", str(quickstart), *db, "--detailed-exitcode")
    assert detailed.exit_code == 2, detailed.stdout + detailed.stderr
    assert "No changes" not in detailed.stdout
    assert f"Plan: 0 to create, {len(unfinished)} to update" in detailed.stdout
    refresh = run_cli("plan", str(quickstart), *db, "--refresh-only", "--detailed-exitcode")
    assert refresh.exit_code == 0, refresh.stdout
    converge(quickstart, runtime)


def test_a_forgotten_image_adopted_again_keeps_its_shares(
    quickstart: Path, runtime: app.Runtime, probe: CloudProbe, cloud_db: Path
) -> None:
    manifest = quickstart / "web-base.yaml"
    edit(
        manifest,
        "      id: ins-demo0001\n",
        "      id: ins-demo0001\n  lifecycle:\n    deletionPolicy: Retain\n",
    )
    converge(quickstart, runtime)
    document = manifest.read_text()
    manifest.unlink()
    forget = make_plan(quickstart, runtime)
    assert set(actions(forget).values()) == {"forget"}
    apply(quickstart, runtime, forget)
    assert probe.owned("quickstart") == []
    assert all(i.shares == (PARTNER,) for i in probe.all_images() if i.name.startswith("web-base-"))

    manifest.write_text(document)
    adopt = make_plan(quickstart, runtime)
    assert set(actions(adopt)) == {
        "image.web-base",
        "image.web-base@ap-shanghai",
        "image.web-base@ap-singapore",
    }, text(adopt)
    assert not any(c.action in {Action.SHARE, Action.UNSHARE} for c in adopt.changes)
    assert not any(c.new_recipient for c in adopt.changes)
    assert not any(s.params.get("Permission") for s in adopt.steps)
    # Taking images over changes no bill: no cost is the stack's.
    assert all(r.stack_share_of_delta == 0 for r in adopt.cost.regions)
    assert "stack's share" not in text(adopt)
    converge(quickstart, runtime)


def test_destroy_with_nothing_owned_says_so(quickstart: Path, cloud_db: Path) -> None:
    result = run_cli("plan", str(quickstart), "--db", str(cloud_db), "--destroy")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Nothing to destroy: the stack owns no images." in result.stdout
    assert "matches the manifests" not in result.stdout


def test_destroy_reasons_say_what_is_removed(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    converge(quickstart, runtime)
    result = run_cli(
        "plan", str(quickstart), "--db", str(cloud_db), "--destroy", "--format", "json"
    )
    changes = json.loads(result.stdout)["changes"]
    deletes = [c for c in changes if c["action"] == "delete"]
    assert len(deletes) == 3
    for change in deletes:
        assert change["reason"] == f"--destroy: removes {change['image_id']} (deleted)"
    assert OWN_ACCOUNT not in result.stdout
