"""Compatibility with tccli; optional: skipped when `tccli` is not on PATH (CI lacks it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .wire import PARTNER_UIN, Emulator

TCCLI = shutil.which("tccli")
pytestmark = [
    pytest.mark.tccli,
    pytest.mark.skipif(TCCLI is None, reason="tccli is not installed (optional)"),
]


def _tccli(emulator: Emulator, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TCCLI is not None
    keys = emulator.keys()
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "TENCENTCLOUD_SECRET_ID": keys.secret_id,
        "TENCENTCLOUD_SECRET_KEY": keys.secret_key,
        "TENCENTCLOUD_REGION": "ap-guangzhou",
    }
    # tccli builds its HttpProfile without `protocol`: the scheme goes into the endpoint.
    return subprocess.run(
        [TCCLI, "cvm", *args, "--endpoint", f"http://127.0.0.1:{emulator.port}"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _normal_image(emulator: Emulator, name: str) -> str:
    created = emulator.send("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": name})
    assert created.error_code is None, created.body
    emulator.clock.advance(3600)
    return str(created.body["Response"]["ImageId"])


def test_tccli_describe_images(emulator: Emulator, tmp_path: Path) -> None:
    result = _tccli(
        emulator,
        tmp_path,
        "DescribeImages",
        "--Filters",
        json.dumps([{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}]),
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ImageSet"]
    assert {image["ImageType"] for image in answer["ImageSet"]} == {"PUBLIC_IMAGE"}
    assert answer["RequestId"]


def test_tccli_share_and_its_exit_codes(emulator: Emulator, tmp_path: Path) -> None:
    image_id = _normal_image(emulator, "tccli-share")
    shared = _tccli(
        emulator,
        tmp_path,
        "ModifyImageSharePermission",
        "--ImageId",
        image_id,
        "--AccountIds",
        json.dumps([PARTNER_UIN]),
        "--Permission",
        "SHARE",
    )
    assert shared.returncode == 0, shared.stderr
    listed = _tccli(emulator, tmp_path, "DescribeImageSharePermission", "--ImageId", image_id)
    assert listed.returncode == 0, listed.stderr
    assert [entry["AccountId"] for entry in json.loads(listed.stdout)["SharePermissionSet"]] == [
        PARTNER_UIN
    ]
    refused = _tccli(emulator, tmp_path, "DeleteImages", "--ImageIds", json.dumps([image_id]))
    assert refused.returncode == 255
    assert "InvalidImageId.InShared" in refused.stdout + refused.stderr
