"""Changes made outside the stack with `reconciler cloud call` show as drift and are corrected."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler import app
from reconciler.model.observed import TAG_ADDRESS

from .cloud import OWN_ACCOUNT, CloudImage, CloudProbe
from .pipeline import converge
from .runner import run_cli

OUTSIDER = "100000000004"


def _image(probe: CloudProbe, address: str) -> CloudImage:
    return next(i for i in probe.owned("quickstart") if i.tags[TAG_ADDRESS] == address)


def manual_share(probe: CloudProbe) -> str:
    home = _image(probe, "image.web-base")
    probe.call(
        "ModifyImageSharePermission",
        "ap-guangzhou",
        {"ImageId": home.image_id, "AccountIds": [OUTSIDER], "Permission": "SHARE"},
    )
    return OUTSIDER


def changed_tag(probe: CloudProbe) -> str:
    home = _image(probe, "image.web-base")
    resource = f"qcs::cvm:ap-guangzhou:uin/{OWN_ACCOUNT}:image/{home.image_id}"
    probe.call(
        "ModifyResourceTags",
        "ap-guangzhou",
        {"Resource": resource, "ReplaceTags": [{"TagKey": "owner", "TagValue": "someone"}]},
        service="tag",
    )
    return "owner"


def deleted_copy(probe: CloudProbe) -> str:
    copy = _image(probe, "image.web-base@ap-singapore")
    probe.call(
        "ModifyImageSharePermission",
        "ap-singapore",
        {"ImageId": copy.image_id, "AccountIds": ["100000000002"], "Permission": "CANCEL"},
    )
    probe.call("DeleteImages", "ap-singapore", {"ImageIds": [copy.image_id]})
    return "image.web-base@ap-singapore"


def renamed_image(probe: CloudProbe) -> str:
    home = _image(probe, "image.web-base")
    share = {"ImageId": home.image_id, "AccountIds": ["100000000002"]}
    # The API refuses to modify a shared image: unshare, rename, share again (as a user must).
    probe.call("ModifyImageSharePermission", "ap-guangzhou", {**share, "Permission": "CANCEL"})
    probe.call(
        "ModifyImageAttribute", "ap-guangzhou", {"ImageId": home.image_id, "ImageName": "renamed"}
    )
    probe.call("ModifyImageSharePermission", "ap-guangzhou", {**share, "Permission": "SHARE"})
    return "renamed"


@pytest.mark.parametrize("make_drift", [manual_share, changed_tag, deleted_copy, renamed_image])
def test_drift_is_shown_and_corrected(
    make_drift: Callable[[CloudProbe], str],
    quickstart: Path,
    runtime: app.Runtime,
    probe: CloudProbe,
    cloud_db: Path,
) -> None:
    converge(quickstart, runtime)
    before = {i.tags[TAG_ADDRESS]: i for i in probe.owned("quickstart")}
    marker = make_drift(probe)
    db = ("--db", str(cloud_db))

    refresh = run_cli("plan", str(quickstart), *db, "--refresh-only", "--detailed-exitcode")
    assert refresh.exit_code == 2, refresh.stdout + refresh.stderr
    assert "drift" in refresh.stdout
    assert "drift: drift:" not in refresh.stdout
    assert marker in refresh.stdout
    as_json = run_cli("plan", str(quickstart), *db, "--format", "json")
    assert json.loads(as_json.stdout)["drift"], as_json.stdout

    applied = run_cli("apply", str(quickstart), *db, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    again = run_cli("plan", str(quickstart), *db, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout
    after = {i.tags[TAG_ADDRESS]: i for i in probe.owned("quickstart")}
    assert set(after) == set(before)
    for address, image in after.items():
        assert image.name == before[address].name
        assert image.shares == ("100000000002",)
        assert image.tags["owner"] == "web-team"


def test_several_kinds_of_drift_at_once_are_all_shown_and_corrected(
    quickstart: Path, runtime: app.Runtime, probe: CloudProbe, cloud_db: Path
) -> None:
    converge(quickstart, runtime)
    before = {i.tags[TAG_ADDRESS]: i for i in probe.owned("quickstart")}
    # Renamed first: the API refuses to rename an image while it is shared.
    markers = [make(probe) for make in (renamed_image, manual_share, changed_tag, deleted_copy)]
    db = ("--db", str(cloud_db))

    refresh = run_cli("plan", str(quickstart), *db, "--refresh-only", "--detailed-exitcode")
    assert refresh.exit_code == 2, refresh.stdout + refresh.stderr
    for marker in markers:
        assert marker in refresh.stdout, (marker, refresh.stdout)
    as_json = json.loads(
        run_cli("plan", str(quickstart), *db, "--refresh-only", "--format", "json").stdout
    )
    drift = {entry["address"]: entry for entry in as_json["drift"]}
    assert drift["image.web-base@ap-singapore"]["reason"] == (
        "the copy in ap-singapore was deleted outside the stack"
    )
    assert drift["share.web-base@ap-guangzhou:100000000004"]["action"] == "share"
    home = {d["path"]: (d["before"], d["after"]) for d in drift["image.web-base"]["diff"]}
    assert home["tags.owner"] == ("web-team", "someone")  # what the stack set → what is live
    assert home["cloudName"] == (before["image.web-base"].name, "renamed")

    applied = run_cli("apply", str(quickstart), *db, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    again = run_cli("plan", str(quickstart), *db, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout
    after = {i.tags[TAG_ADDRESS]: i for i in probe.owned("quickstart")}
    assert set(after) == set(before)
    for address, image in after.items():
        assert image.name == before[address].name
        assert image.shares == ("100000000002",)
        assert image.tags["owner"] == "web-team"
