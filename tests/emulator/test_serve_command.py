"""`reconciler cloud serve` as a process: banner with credentials, real SDK calls, clean stops."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client, models

from reconciler.commands.serve import _is_loopback

ACCOUNT_LINE = re.compile(r"^\s+(?P<uin>\d{12})\s+(?P<secret_id>\S+)\s+(?P<secret_key>\S+)$")
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(?P<port>\d+)/")


@dataclass
class ServeProcess:
    """A running `reconciler cloud serve` and what it printed on start."""

    process: subprocess.Popen[str]
    port: int
    db: Path
    banner: list[str]
    accounts: dict[str, tuple[str, str]]

    def stop(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=20)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def _environ() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    environ.update({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    environ.pop("RECONCILER_CLOUD_DB", None)
    return environ


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "cloud", "serve", *args],
        cwd=tmp_path,
        env=_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_banner(process: subprocess.Popen[str]) -> list[str]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    banner: list[str] = []
    while True:
        line = lines.get(timeout=30)
        if line is None:
            raise AssertionError(f"serve ended early: {banner}")
        banner.append(line)
        if line.startswith("Stop with"):
            return banner


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    process = _start(tmp_path, "--port", "0", "--db", str(tmp_path / "cloud.db"))
    try:
        banner = _read_banner(process)
        port = next(int(m["port"]) for line in banner if (m := LISTENING.search(line)))
        accounts = {
            m["uin"]: (m["secret_id"], m["secret_key"])
            for line in banner
            if (m := ACCOUNT_LINE.match(line))
        }
        yield ServeProcess(process, port, tmp_path / "cloud.db", banner, accounts)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=20)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _describe_as(served: ServeProcess, uin: str) -> models.DescribeImagesResponse:
    secret_id, secret_key = served.accounts[uin]
    profile = ClientProfile(
        httpProfile=HttpProfile(endpoint=f"127.0.0.1:{served.port}", protocol="http")
    )
    client = cvm_client.CvmClient(Credential(secret_id, secret_key), "ap-guangzhou", profile)
    return client.DescribeImages(models.DescribeImagesRequest())


def test_banner_shows_endpoint_accounts_and_provider_block(served: ServeProcess) -> None:
    text = "\n".join(served.banner)
    assert {"100000000001", "100000000002", "100000000003", "100000000004"} <= set(served.accounts)
    assert "type: tencentcloud" in text
    assert f"endpoint: 127.0.0.1:{served.port}" in text
    assert "protocol: http" in text
    own_secret_id, _ = served.accounts["100000000001"]
    assert f"export TENCENTCLOUD_SECRET_ID={own_secret_id}" in text


def test_printed_credentials_work_and_sigterm_stops_cleanly(served: ServeProcess) -> None:
    assert _describe_as(served, "100000000001").ImageSet
    assert _describe_as(served, "100000000002").RequestId
    code, stderr = served.stop(signal.SIGTERM)
    assert code == 143
    assert stderr.rstrip().endswith("Stopped (SIGTERM).")
    assert "Traceback" not in stderr
    # The database was closed: SQLite removes the write-ahead log on the last clean close.
    assert served.db.exists()
    assert not Path(f"{served.db}-wal").exists()
    assert "cvm.DescribeImages ap-guangzhou as 100000000001: OK" in stderr
    for _, secret_key in served.accounts.values():
        assert secret_key not in stderr


def test_ctrl_c_stops_cleanly(served: ServeProcess) -> None:
    assert _describe_as(served, "100000000001").RequestId
    code, stderr = served.stop(signal.SIGINT)
    assert code == 130
    assert stderr.rstrip().endswith("Stopped (SIGINT).")
    assert "Traceback" not in stderr
    assert not Path(f"{served.db}-wal").exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", served.port), timeout=2):
        pass


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start(tmp_path, "--port", str(port), "--db", str(tmp_path / "cloud.db"))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


@pytest.mark.parametrize("named_by", ["--db", "RECONCILER_CLOUD_DB"])
def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path, named_by: str) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not an SQLite database at all, only text\n" * 8)
    environ = _environ()
    args = ["--port", "0"]
    if named_by == "--db":
        args += ["--db", str(junk)]
    else:
        environ["RECONCILER_CLOUD_DB"] = str(junk)
    process = subprocess.run(
        [sys.executable, "-m", "reconciler", "cloud", "serve", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 1, process.stderr
    assert f"Error: {junk}: not a reconciler simulated-cloud database" in process.stderr
    assert "--db" in process.stderr
    assert "Traceback" not in process.stderr
    assert "bug" not in process.stderr
    assert "listening" not in process.stdout
