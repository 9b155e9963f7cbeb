"""`reconciler cloud ...` and the database resolution of SPEC §6."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.commands.clouddb import resolve_cloud_db


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["cloud", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_CLOUD_DB", raising=False)


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_cloud_db(tmp_path, None) == tmp_path / ".reconciler" / "cloud.db"
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Stack\nmetadata: {name: prod}\n"
        "spec: {regions: [ap-guangzhou], provider: {type: local, path: state/sim.db}}\n"
    )
    assert resolve_cloud_db(tmp_path, None) == tmp_path / "state" / "sim.db"
    monkeypatch.setenv("RECONCILER_CLOUD_DB", str(tmp_path / "env.db"))
    assert resolve_cloud_db(tmp_path, None) == tmp_path / "env.db"
    assert resolve_cloud_db(tmp_path, "explicit.db") == Path("explicit.db")


def test_accounts_and_instances_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "accounts", "--format", "json", str(tmp_path))
    accounts = json.loads(out)
    assert code == 0
    assert [a["Uin"] for a in accounts][:1] == ["100000000001"]
    assert {"SecretId", "SecretKey"} <= set(accounts[0])
    assert (tmp_path / ".reconciler" / "cloud.db").exists()
    code, out, _ = run(capsys, "instances", "--format", "json", "--stack-dir", str(tmp_path))
    instances = {i["InstanceId"]: i for i in json.loads(out)}
    assert set(instances) == {"ins-demo0001", "ins-demo0002", "ins-demo0003", "ins-demo0004"}
    assert instances["ins-demo0002"]["Placement"]["Zone"].startswith("ap-shanghai")


def test_call_prints_the_envelope_and_exits_1_on_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "c.db")
    run(capsys, "settings", "--db", db, "--set", "create_image_seconds=0")
    code, out, _ = run(
        capsys,
        "call",
        "CreateImage",
        "--region",
        "ap-guangzhou",
        "--db",
        db,
        "--params",
        '{"InstanceId": "ins-demo0001", "ImageName": "web"}',
    )
    assert code == 0
    image_id = json.loads(out)["Response"]["ImageId"]
    code, out, _ = run(
        capsys,
        "call",
        "CreateImage",
        "--region",
        "ap-guangzhou",
        "--db",
        db,
        "--params",
        '{"InstanceId": "ins-demo0001", "ImageName": "web"}',
    )
    assert code == 1
    assert json.loads(out)["Response"]["Error"]["Code"] == "InvalidImageName.Duplicate"
    params = tmp_path / "share.json"
    params.write_text(
        json.dumps({"ImageId": image_id, "AccountIds": ["100000000003"], "Permission": "SHARE"})
    )
    code, _, _ = run(
        capsys,
        "call",
        "ModifyImageSharePermission",
        "--region",
        "ap-guangzhou",
        "--db",
        db,
        "--params",
        f"@{params}",
    )
    assert code == 0
    code, out, _ = run(
        capsys, "images", "--db", db, "--account", "100000000003", "--format", "json"
    )
    assert [(i["ImageId"], i["ImageType"]) for i in json.loads(out)] == [(image_id, "SHARED_IMAGE")]
    code, out, _ = run(
        capsys,
        "call",
        "DescribeResourceTagsByResourceIds",
        "--service",
        "tag",
        "--region",
        "ap-guangzhou",
        "--db",
        db,
        "--params",
        json.dumps(
            {
                "ServiceType": "cvm",
                "ResourcePrefix": "image",
                "ResourceIds": [image_id],
                "ResourceRegion": "ap-guangzhou",
            }
        ),
    )
    assert code == 0
    assert json.loads(out)["Response"]["Tags"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["call", "DescribeImages", "--region", "ap-guangzhou", "--params", "{"],
            "--params:1:2: invalid JSON",
        ),
        (
            ["call", "DescribeImages", "--region", "ap-guangzhou", "--params", "[]"],
            "must be a JSON object",
        ),
        (["settings", "--set", "create_image_seconds=fast"], "must be a number"),
        (["settings", "--set", "nope=1"], "unknown setting"),
        (
            ["add-instance", "--region", "ap-tokyo", "--zone", "ap-guangzhou-3"],
            "is not in ap-tokyo",
        ),
        (["add-account", "--uin", "abc"], "5 to 13 digits"),
        (
            [
                "faults",
                "set",
                "DescribeImages",
                "--code",
                "X",
                "--count",
                "1",
                "--probability",
                "0.5",
            ],
            "not both",
        ),
    ],
)
def test_bad_input_is_a_message_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, *args, "--db", str(tmp_path / "c.db"))
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_an_unopenable_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dir.db").mkdir()
    code, _, err = run(capsys, "accounts", "--db", str(tmp_path / "dir.db"))
    assert code == 1
    assert f"{tmp_path / 'dir.db'}: cannot use the simulated-cloud database" in err


def test_faults_settings_add_and_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(tmp_path / "c.db")]
    run(capsys, "faults", "set", "DescribeImages", "--code", "InternalError", "--count", "1", *db)
    run(capsys, "faults", "throttle", "SyncImages", "--rate", "10", *db)
    run(capsys, "faults", "latency", "*", "--ms", "5", *db)
    code, out, _ = run(capsys, "faults", "list", "--format", "json", *db)
    assert {(f["Action"], f["Kind"]) for f in json.loads(out)} == {
        ("DescribeImages", "error"),
        ("SyncImages", "throttle"),
        ("*", "latency"),
    }
    code, out, _ = run(capsys, "call", "DescribeImages", "--region", "ap-guangzhou", *db)
    assert code == 1
    assert "InternalError" in out
    run(capsys, "faults", "clear", *db)
    code, out, _ = run(capsys, "faults", "list", "--format", "json", *db)
    assert json.loads(out) == []
    code, out, _ = run(
        capsys, "add-instance", "--region", "ap-tokyo", "--data-disk", "20", "--format", "json", *db
    )
    assert code == 0
    assert json.loads(out)["DataDisks"][0]["DiskSize"] == 20
    code, out, _ = run(capsys, "add-account", "--format", "json", *db)
    assert json.loads(out)[0]["Uin"] == "100000000005"
    run(capsys, "settings", "--set", "copy_tags_on_sync=true", *db)
    code, out, _ = run(capsys, "reset", *db)
    assert code == 0
    code, out, _ = run(capsys, "settings", "--format", "json", *db)
    assert json.loads(out)["copy_tags_on_sync"] is True
    code, out, _ = run(capsys, "instances", "--format", "json", *db)
    assert len(json.loads(out)) == 4


def test_a_file_that_is_not_a_database_is_named_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not an SQLite database\n" * 20)
    code, _, err = run(capsys, "accounts", "--db", str(junk))
    assert code == 1
    assert f"{junk}: not a reconciler simulated-cloud database" in err
    assert err.count(str(junk)) == 1
    assert "Traceback" not in err
