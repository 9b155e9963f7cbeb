"""`CloudSim.add_image` and `reconciler cloud add-image`: an image built outside the API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from reconciler.cloudsim.inventory import PUBLIC_IMAGES, public_image_id
from tests.cloudsim.conftest import OWN, PARTNER, Cloud

PACKER: dict[str, Any] = {"image_id": "img-pkrdemo1", "name": "packer-web-20261101"}


def _snapshots(cloud: Cloud, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cloud.ok(
        "DescribeSnapshots", {"Limit": 100, **params}, service="cbs"
    )["SnapshotSet"]
    return found


def test_the_image_is_a_normal_untagged_private_image(cloud: Cloud) -> None:
    added = cloud.sim.add_image(
        "ap-guangzhou", **PACKER, description="built by Packer", data_disk_sizes=(100,)
    )
    described = cloud.image("img-pkrdemo1")
    assert added == {**described, "Region": "ap-guangzhou"}
    assert described["ImageName"] == "packer-web-20261101"
    assert described["ImageDescription"] == "built by Packer"
    assert (described["ImageType"], described["ImageState"], described["ImageSource"]) == (
        "PRIVATE_IMAGE",
        "NORMAL",
        "CREATE_IMAGE",
    )
    assert (described["Platform"], described["ImageSize"], described["SyncPercent"]) == (
        "TencentOS",
        50,
        100,
    )
    assert described["ImageCreator"] == OWN
    assert described["Tags"] == []
    assert [(s["DiskUsage"], s["DiskSize"]) for s in described["SnapshotSet"]] == [
        ("SYSTEM_DISK", 50),
        ("DATA_DISK", 100),
    ]
    private = cloud.ok(
        "DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]}
    )["ImageSet"]
    assert [i["ImageId"] for i in private] == ["img-pkrdemo1"]
    assert [i["ImageId"] for i in cloud.sim.images()] == ["img-pkrdemo1"]


def test_its_snapshots_are_in_cbs_and_bound_to_it(cloud: Cloud) -> None:
    added = cloud.sim.add_image("ap-guangzhou", **PACKER, data_disk_sizes=(20, 30))
    ids = [s["SnapshotId"] for s in added["SnapshotSet"]]
    assert len(set(ids)) == 3
    found = {s["SnapshotId"]: s for s in _snapshots(cloud, SnapshotIds=ids)}
    assert set(found) == set(ids)
    assert [(found[i]["DiskUsage"], found[i]["DiskSize"]) for i in ids] == [
        ("SYSTEM_DISK", 50),
        ("DATA_DISK", 20),
        ("DATA_DISK", 30),
    ]
    for snapshot in found.values():
        assert snapshot["SnapshotState"] == "NORMAL"
        assert snapshot["Images"] == [
            {"ImageId": "img-pkrdemo1", "ImageName": "packer-web-20261101"}
        ]
        assert snapshot["Placement"]["Zone"].startswith("ap-guangzhou-")
        assert re.fullmatch(r"disk-[0-9a-z]{8}", snapshot["DiskId"])
    assert cloud.error("DeleteSnapshots", {"SnapshotIds": [ids[0]]}, service="cbs") == (
        "UnsupportedOperation.SnapshotHasBindedImage"
    )


def test_the_api_works_on_it(cloud: Cloud) -> None:
    cloud.sim.add_image("ap-guangzhou", **PACKER)
    cloud.ok(
        "ModifyImageSharePermission",
        {"ImageId": "img-pkrdemo1", "AccountIds": [PARTNER], "Permission": "SHARE"},
    )
    assert cloud.image("img-pkrdemo1", account=PARTNER)["ImageType"] == "SHARED_IMAGE"
    copied = cloud.ok(
        "SyncImages",
        {
            "ImageIds": ["img-pkrdemo1"],
            "DestinationRegions": ["ap-shanghai"],
            "ImageSetRequired": True,
        },
    )["ImageSet"]
    assert copied[0]["Region"] == "ap-shanghai"
    cloud.clock.advance(cloud.sim.settings().sync_image_seconds)
    copy = cloud.image(copied[0]["ImageId"], region="ap-shanghai")
    assert (copy["ImageName"], copy["ImageState"]) == ("packer-web-20261101", "NORMAL")


def test_defaults_a_fresh_id_and_a_name(cloud: Cloud) -> None:
    first = cloud.sim.add_image("ap-shanghai")
    second = cloud.sim.add_image("ap-shanghai")
    assert re.fullmatch(r"img-[0-9a-z]{8}", first["ImageId"])
    assert first["ImageId"] != second["ImageId"]
    assert first["ImageName"] == f"image-{first['ImageId'][4:]}"
    assert cloud.image(first["ImageId"], region="ap-shanghai")["ImageState"] == "NORMAL"


def test_another_account_and_platform(cloud: Cloud) -> None:
    added = cloud.sim.add_image(
        "ap-guangzhou", name="win", account=PARTNER, platform="windows", size_gb=60
    )
    own_view = cloud.call("DescribeImages", {"ImageIds": [added["ImageId"]]})
    assert own_view["ImageSet"] == []
    theirs = cloud.image(added["ImageId"], account=PARTNER)
    assert (theirs["ImageType"], theirs["Platform"], theirs["ImageSize"]) == (
        "PRIVATE_IMAGE",
        "Windows",
        60,
    )
    assert theirs["IsSupportCloudinit"] is False
    # the name is unique per account: the own account may use it too
    assert cloud.sim.add_image("ap-guangzhou", name="win")["ImageName"] == "win"


def test_a_name_of_60_characters_and_the_same_name_in_another_region(cloud: Cloud) -> None:
    name = "n" * 60
    cloud.sim.add_image("ap-guangzhou", name=name)
    assert cloud.sim.add_image("ap-shanghai", name=name)["ImageName"] == name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_id": "img-PKRDEMO1"}, "InvalidImageId.Malformed"),
        ({"image_id": "img-1234567"}, "InvalidImageId.Malformed"),
        ({"image_id": "snap-12345678"}, "InvalidImageId.Malformed"),
        ({"image_id": "img-pkrdemo1"}, "img-pkrdemo1 is already used (account 100000000001"),
        (
            {"image_id": public_image_id("ap-shanghai", PUBLIC_IMAGES[0])},
            "is already used (a public image, ap-shanghai)",
        ),
        ({"name": "packer-web-20261101"}, "InvalidImageName.Duplicate"),
        ({"name": "n" * 61}, "InvalidParameterValue.TooLarge"),
        ({"name": " "}, "must not be empty"),
        ({"description": "d" * 257}, "InvalidParameterValue.TooLarge"),
        ({"account": "100000000009"}, "unknown account '100000000009'"),
        ({"platform": "Arch"}, "unknown platform 'Arch'"),
        ({"size_gb": 19}, "a system disk has 20 to 1024 GiB"),
        ({"data_disk_sizes": (5,)}, "a data disk has 10 to 32000 GiB"),
        ({"region": "ap-nowhere"}, "unknown region 'ap-nowhere'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    cloud: Cloud, kwargs: dict[str, Any], message: str
) -> None:
    cloud.sim.add_image("ap-guangzhou", **PACKER)
    before = (cloud.sim.images(include_public=True), _snapshots(cloud))
    region = kwargs.pop("region", "ap-guangzhou")
    with pytest.raises(ValueError, match=re.escape(message)):
        cloud.sim.add_image(region, **kwargs)
    assert (cloud.sim.images(include_public=True), _snapshots(cloud)) == before


def test_the_quota_applies(cloud: Cloud) -> None:
    cloud.sim.update_settings(image_quota=1)
    cloud.sim.add_image("ap-guangzhou")
    with pytest.raises(ValueError, match="ImageQuotaLimitExceeded"):
        cloud.sim.add_image("ap-guangzhou")
    assert len(cloud.sim.add_image("ap-shanghai")["SnapshotSet"]) == 1


# --- reconciler cloud add-image ----------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["cloud", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_CLOUD_DB", raising=False)


def test_cli_adds_the_image_in_the_stack_directorys_cloud(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys,
        "add-image",
        "--region",
        "ap-guangzhou",
        "--image-id",
        "img-pkrdemo1",
        "--name",
        "packer-web-20261101",
        str(tmp_path),
    )
    assert (code, err) == (0, "")
    assert out == "img-pkrdemo1 (packer-web-20261101) in ap-guangzhou\n"
    assert (tmp_path / ".reconciler" / "cloud.db").exists()
    code, out, _ = _run(capsys, "images", "--format", "json", "--stack-dir", str(tmp_path))
    assert code == 0
    assert [
        (i["ImageId"], i["ImageName"], i["ImageState"], i["Region"]) for i in json.loads(out)
    ] == [("img-pkrdemo1", "packer-web-20261101", "NORMAL", "ap-guangzhou")]


def test_cli_json_output_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.db")
    code, out, _ = _run(
        capsys,
        "add-image",
        "--region",
        "ap-singapore",
        "--account",
        PARTNER,
        "--description",
        "golden",
        "--platform",
        "Ubuntu",
        "--size",
        "40",
        "--data-disk",
        "100",
        "--data-disk",
        "200",
        "--format",
        "json",
        "--db",
        db,
    )
    assert code == 0
    image = json.loads(out)
    assert re.fullmatch(r"img-[0-9a-z]{8}", image["ImageId"])
    assert (image["Region"], image["ImageDescription"], image["Platform"], image["ImageSize"]) == (
        "ap-singapore",
        "golden",
        "Ubuntu",
        40,
    )
    assert [s["DiskSize"] for s in image["SnapshotSet"]] == [40, 100, 200]
    code, out, _ = _run(capsys, "images", "--account", PARTNER, "--format", "json", "--db", db)
    assert [i["ImageId"] for i in json.loads(out)] == [image["ImageId"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image-id", "img-x"], "InvalidImageId.Malformed"),
        (["--image-id", "img-pkrdemo1"], "img-pkrdemo1 is already used"),
        (["--name", "packer-web-20261101"], "InvalidImageName.Duplicate"),
        (["--name", "n" * 61], "at most 60 are allowed"),
        (["--account", "42"], "unknown account '42'"),
        (["--size", "0"], "a system disk has 20 to 1024 GiB"),
        (["--size", "big"], "'big' is not a valid integer"),
        (["--data-disk", "1"], "a data disk has 10 to 32000 GiB"),
        (["--region", "ap-nowhere"], "unknown region 'ap-nowhere'"),
        (["--format", "yaml"], "'yaml' is not one of"),
    ],
)
def test_cli_bad_input_is_a_message_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    db = ["--db", str(tmp_path / "c.db")]
    code, _, _ = _run(
        capsys,
        "add-image",
        "--region",
        "ap-guangzhou",
        "--image-id",
        "img-pkrdemo1",
        "--name",
        "packer-web-20261101",
        *db,
    )
    assert code == 0
    region = [] if "--region" in args else ["--region", "ap-guangzhou"]
    code, out, err = _run(capsys, "add-image", *region, *args, *db)
    assert code == 1
    assert message in err
    assert "Traceback" not in err + out


def test_cli_region_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "add-image", "--db", str(tmp_path / "c.db"))
    assert code == 1
    assert "Missing option '--region'" in err
