"""A simulated-cloud database file that is not usable is a user error, located, never a bug.

Whatever names the file (`--db`, RECONCILER_CLOUD_DB), every command that opens the local cloud
reports it as `Error: <file>: ...; pass another --db ...` with exit code 1 and no traceback, and
leaves the file as it was. (`cloud serve` is covered in tests/emulator/test_serve_command.py.)
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.cloudsim import CloudSim
from reconciler.cloudsim.store import CloudDatabaseError, SchemaVersionError

QUICKSTART = Path(__file__).resolve().parents[2] / "manifests" / "quickstart"
JUNK = b"this is not an SQLite database, just some text a user happened to name cloud.db\n" * 4


def _newer_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE later (x)")
        db.execute("PRAGMA user_version = 99")


def _unusable(kind: str, path: Path) -> str:
    """Make `path` an unusable database of `kind`; return what the message must say."""
    if kind == "junk":
        path.write_bytes(JUNK)
        return "not a reconciler simulated-cloud database"
    _newer_database(path)
    return "newer than this reconciler understands"


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("RECONCILER_CLOUD_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    return Path(shutil.copytree(QUICKSTART, tmp_path / "quickstart"))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("kind", ["junk", "newer"])
def test_the_store_names_the_file_and_what_to_do(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "cloud.db"
    expected = _unusable(kind, path)
    with pytest.raises(CloudDatabaseError) as error:
        CloudSim(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)
    assert "--db" in str(error.value)
    assert isinstance(error.value, SchemaVersionError) == (kind == "newer")


@pytest.mark.parametrize("kind", ["junk", "newer"])
@pytest.mark.parametrize(
    "command",
    [
        ("plan", "{stack}", "--db", "{db}"),
        ("plan", "{stack}"),  # RECONCILER_CLOUD_DB names the file
        ("apply", "{stack}", "--auto-approve", "--db", "{db}"),
        ("output", "{stack}", "--db", "{db}"),
        ("import", "{stack}", "--all-unmanaged", "--db", "{db}"),
        ("cloud", "accounts", "--db", "{db}"),
        ("cloud", "images", "{stack}"),  # RECONCILER_CLOUD_DB again
    ],
    ids=["plan", "plan-env", "apply", "output", "import", "cloud-accounts", "cloud-images-env"],
)
def test_an_unusable_database_is_a_located_user_error(
    *,
    stack: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    kind: str,
) -> None:
    db = tmp_path / "junk.db"
    expected = _unusable(kind, db)
    before = db.read_bytes()
    if "--db" not in command:
        monkeypatch.setenv("RECONCILER_CLOUD_DB", str(db))
    code, text = _run(capsys, *(arg.format(stack=stack, db=db) for arg in command))
    assert code == 1, text
    assert f"{db}: " in text
    assert expected in text
    assert "Traceback" not in text
    assert "Internal error" not in text
    assert "bug" not in text
    assert db.read_bytes() == before
