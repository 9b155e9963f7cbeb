"""`reconciler cloud ...` on hostile input: one located message and exit 1, never a traceback;
one database resolver with `plan`; `--format json` on every command that changes the cloud."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.commands.clouddb import resolve_cloud_db
from reconciler.errors import ManifestError

STACK = (
    "apiVersion: reconciler/v1\nkind: Stack\nmetadata:\n  name: prod\n"
    "spec:\n  regions: [ap-guangzhou]\n  provider: {type: local, path: state/sim.db}\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["cloud", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def failed(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The stderr of a command that must exit 1 without a traceback."""
    code, _, err = run(capsys, *args)
    assert code == 1, err
    assert "Traceback" not in err
    assert "Internal error" not in err
    return err


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_CLOUD_DB", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    return ["--db", str(tmp_path / "c.db")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "NoSuchAction", "--code", "InternalError"], "unknown action 'NoSuchAction'"),
        (["set", "DescribeImages", "--code", ""], "is not an error code"),
        (["set", "DescribeImages", "--code", "internal"], "is not an error code"),
        (["set", "DescribeImages", "--code", "X", "--probability", "nan"], "between 0 and 1"),
        (["set", "DescribeImages", "--code", "X", "--probability", "2"], "between 0 and 1"),
        (["set", "DescribeImages", "--code", "X", "--count", "0"], "count must be"),
        (["set", "DescribeImages", "--code", "X", "--count", "1" + "0" * 20], "count must be"),
        (["throttle", "DescribeImages", "--rate", "nan"], "positive finite"),
        (["throttle", "DescribeImages", "--rate", "inf"], "positive finite"),
        (["throttle", "DescribeImages", "--rate", "0"], "positive finite"),
        (["throttle", "Typo", "--rate", "5"], "unknown action"),
        (["latency", "*", "--ms", "99999999999999999999"], "between 0 and 600000"),
        (["latency", "*", "--ms", "-1"], "between 0 and 600000"),
        (["latency", "Typo", "--ms", "5"], "unknown action"),
    ],
)
def test_fault_input_is_a_message_and_exit_1(
    capsys: pytest.CaptureFixture[str], db: list[str], args: list[str], message: str
) -> None:
    assert message in failed(capsys, "faults", *args, *db)
    code, out, _ = run(capsys, "faults", "list", "--format", "json", *db)
    assert (code, json.loads(out)) == (0, [])


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_settings_refuse_nan_and_infinity(
    capsys: pytest.CaptureFixture[str], db: list[str], value: str
) -> None:
    err = failed(capsys, "settings", "--set", f"create_image_seconds={value}", *db)
    assert "finite" in err
    code, out, _ = run(capsys, "settings", "--format", "json", *db)
    assert code == 0
    assert json.loads(out)["create_image_seconds"] == 3.0  # strict JSON: no NaN printed


@pytest.mark.parametrize("uin", ["123456\n", "\u0661\u0662\u0663\u0664\u0665\u0666"])
def test_add_account_refuses_a_newline_and_non_ascii_digits(
    capsys: pytest.CaptureFixture[str], db: list[str], uin: str
) -> None:
    assert "5 to 13 digits" in failed(capsys, "add-account", "--uin", uin, *db)


def test_delete_images_with_a_trailing_newline_is_malformed(
    capsys: pytest.CaptureFixture[str], db: list[str]
) -> None:
    params = json.dumps({"ImageIds": ["img-uo2vji0p\n"]})
    code, out, _ = run(
        capsys, "call", "DeleteImages", "--region", "ap-guangzhou", "--params", params, *db
    )
    assert code == 1
    assert json.loads(out)["Response"]["Error"]["Code"] == "InvalidImageId.Malformed"


def test_a_lone_surrogate_in_params_is_an_api_error_not_internal(
    capsys: pytest.CaptureFixture[str], db: list[str]
) -> None:
    params = '{"InstanceId": "ins-demo0001", "ImageName": "\\ud800"}'
    code, out, err = run(
        capsys, "call", "CreateImage", "--region", "ap-guangzhou", "--params", params, *db
    )
    assert code == 1
    assert json.loads(out)["Response"]["Error"]["Code"] == "InvalidParameterValue"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"Limit": 5, "Limit": 6}', "duplicate key 'Limit'"),
        (b'{"Filters": [{"Name": "a", "Values": [], "Name": "b"}]}', "duplicate key 'Name'"),
        (b'{"Limit": NaN}', "NaN is not a JSON number"),
        (b'{"ImageIds": ["img-\xff"]}', "not UTF-8 text (byte 0xff at offset 19)"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    ],
)
def test_bad_params_name_params_and_exit_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    db: list[str],
    content: bytes,
    message: str,
) -> None:
    file = tmp_path / "params.json"
    file.write_bytes(content)
    err = failed(
        capsys, "call", "DescribeImages", "--region", "ap-guangzhou", "--params", f"@{file}", *db
    )
    assert f"--params @{file}" in err
    assert message in err
    if not content.startswith(b"["):
        inline = content.decode("utf-8", "surrogateescape")
        if "\udcff" not in inline:
            err = failed(
                capsys,
                "call",
                "DescribeImages",
                "--region",
                "ap-guangzhou",
                "--params",
                inline,
                *db,
            )
            assert "--params" in err
            assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["images", "--region", "xx"], "unknown region 'xx'"),
        (["images", "--account", "999"], "unknown account '999'"),
        (["images", "--region", "ap-guangzhou", "--account", "100000000009"], "unknown account"),
        (["instances", "--account", "999"], "unknown account '999'"),
    ],
)
def test_listing_an_unknown_region_or_account_is_an_error(
    capsys: pytest.CaptureFixture[str], db: list[str], args: list[str], message: str
) -> None:
    assert message in failed(capsys, *args, *db)


def test_listing_a_known_account_without_images_is_still_none(
    capsys: pytest.CaptureFixture[str], db: list[str]
) -> None:
    code, out, _ = run(capsys, "images", "--region", "ap-tokyo", "--account", "100000000002", *db)
    assert (code, out.strip()) == (0, "(none)")


def test_change_commands_print_json(capsys: pytest.CaptureFixture[str], db: list[str]) -> None:
    def as_json(*args: str) -> object:
        code, out, err = run(capsys, *args, "--format", "json", *db)
        assert code == 0, err
        return json.loads(out)

    assert as_json("faults", "set", "SyncImages", "--code", "InternalError", "--count", "2") == {
        "Action": "SyncImages",
        "Kind": "error",
        "Code": "InternalError",
        "Message": "An internal error has occurred. Retry your request.",
        "Probability": None,
        "Count": 2,
        "When": "next 2 calls",
    }
    assert as_json("faults", "throttle", "*", "--rate", "2.5") == {
        "Action": "*",
        "Kind": "throttle",
        "Code": "RequestLimitExceeded",
        "Rate": 2.5,
    }
    assert as_json("faults", "latency", "DescribeImages", "--ms", "20") == {
        "Action": "DescribeImages",
        "Kind": "latency",
        "Ms": 20,
    }
    assert as_json("faults", "clear") == {"Faults": [], "Throttles": [], "Latencies": []}
    reset = as_json("reset", "--settings")
    assert reset == {
        "Database": db[1],
        "Inventory": "demo",
        "Faults": [],
        "SettingsReset": True,
    }
    code, out, _ = run(capsys, "reset", *db)
    assert (code, out) == (0, f"Reset the simulated cloud in {db[1]}.\n")


def test_broken_stack_manifests_are_reported_as_plan_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stack.yaml").write_text(STACK.replace("ap-guangzhou", "ap-nowhere"))
    for args in (["reset"], ["faults", "clear"], ["accounts"], ["settings"]):
        err = failed(capsys, *args, str(tmp_path))
        assert "stack.yaml:6:" in err
        assert "ap-nowhere" in err
    assert not (tmp_path / ".reconciler").exists()
    with pytest.raises(ManifestError):
        resolve_cloud_db(tmp_path, None)
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(tmp_path)])
    assert exit_info.value.code == 1
    assert "stack.yaml:6:" in capsys.readouterr().err


def test_broken_yaml_beside_a_stack_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    (tmp_path / "broken.yaml").write_text("a: [b\n")
    err = failed(capsys, "reset", "--stack-dir", str(tmp_path))
    assert "broken.yaml:2:1: malformed YAML" in err


def test_db_or_environment_need_no_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stack.yaml").write_text("kind: Stack\nspec: [broken\n")
    code, out, _ = run(capsys, "reset", "--db", str(tmp_path / "flag.db"), str(tmp_path))
    assert code == 0
    assert "flag.db" in out
    monkeypatch.setenv("RECONCILER_CLOUD_DB", str(tmp_path / "env.db"))
    code, out, _ = run(capsys, "faults", "clear", str(tmp_path))
    assert code == 0
    assert (tmp_path / "env.db").exists()
    assert resolve_cloud_db(tmp_path, None) == tmp_path / "env.db"


def test_the_stack_path_is_the_providers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.manifests import load_desired
    from reconciler.provider.factory import local_cloud_db

    (tmp_path / "stack.yaml").write_text(STACK)
    expected = local_cloud_db(load_desired(tmp_path).stack, tmp_path)
    assert resolve_cloud_db(tmp_path, None) == expected == tmp_path / "state" / "sim.db"
    code, out, _ = run(capsys, "reset", str(tmp_path))
    assert code == 0
    assert str(expected) in out


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"notes.yaml": "title: not a reconciler manifest\n"},
        {"workflow.yml": "on: [push]\njobs: {}\n", "image.yaml": "kind: Image\n"},
        {"broken.yaml": "a: [b\n", "binary.yml": "\x00\x01"},
    ],
)
def test_a_directory_without_a_stack_uses_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert resolve_cloud_db(tmp_path, None) == tmp_path / ".reconciler" / "cloud.db"
    code, _, err = run(capsys, "reset", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / ".reconciler" / "cloud.db").exists()


def test_clouddb_holds_no_copy_of_the_resolution_constants() -> None:
    from reconciler.commands import clouddb

    assert not hasattr(clouddb, "ENV_VAR")
    assert not hasattr(clouddb, "DEFAULT_RELATIVE_PATH")
    assert not hasattr(clouddb, "stack_provider_path")


@pytest.mark.parametrize(
    "text",
    [
        "kind: Stack\nspec: [broken\n",
        '{"kind": "Stack", "spec": [}\n',
        "apiVersion: reconciler/v1\nkind: Stack\nmetadata: {name: prod}\nspec: {regions: []}\n",
    ],
)
def test_a_stack_that_does_not_load_is_never_replaced_by_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (tmp_path / "stack.yaml").write_text(text)
    assert "stack.yaml" in failed(capsys, "faults", "clear", str(tmp_path))
    assert not (tmp_path / ".reconciler").exists()
