"""Finding the manifest files of a PATH: recursive `*.yaml`/`*.yml`, safe against hostile trees."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from reconciler.manifests.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
"""Larger manifest files are refused (1 MiB)."""
MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """A file to load: its path on disk and its name relative to the manifest directory."""

    path: Path
    relative: str


@dataclass(frozen=True, slots=True)
class Discovery:
    """The files found under PATH and the problems met while looking."""

    root: Path
    """The manifest directory (PATH itself, or the parent of a single file)."""
    files: tuple[ManifestFile, ...]
    problems: tuple[Problem, ...]
    complete: bool = True
    """False when part of the tree could not be looked at (an unreadable folder): manifests may
    be missing, so nothing may conclude that something is not declared."""


def _problem(file: str, message: str) -> Problem:
    return Problem(file, 0, 0, "", "", "", message)


def _is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolved(candidate: Path) -> Path | str:
    """Where a path leads, or why it leads nowhere (a symlink loop, an unreadable link)."""
    try:
        return candidate.resolve()
    except RuntimeError:  # Python 3.11: "Symlink loop from ..."
        return "symlink loop"
    except OSError as exc:  # Python 3.13+: ELOOP
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return f"cannot resolve the path: {exc.strerror or exc}"


def _not_regular(path: Path) -> str | None:
    """Why `path` (followed) is not a regular file to read, or None when it is one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return "symlink to a missing file"
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return f"cannot read the file: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    what = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    return f"not a regular file ({what}): refused"


def _relative(path: Path, root: Path, shown_root: Path) -> str:
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
    return str(shown_root) if relative == "." else relative


def discover(path: Path) -> Discovery:
    """The manifest files of `path` (a directory searched recursively, or one file)."""
    if not path.exists() and not path.is_symlink():
        return Discovery(path, (), (_problem(str(path), "no such file or directory"),))
    if not path.is_dir():
        reason = _not_regular(path)
        if reason is not None:
            return Discovery(path.parent, (), (_problem(str(path), reason),), complete=False)
        return Discovery(path.parent, (ManifestFile(path, path.name),), ())
    root = path.resolve()
    files: list[ManifestFile] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    complete = True

    def unreadable(error: OSError) -> None:
        # os.walk skips a folder it can't list: say so, and distrust every absence.
        nonlocal complete
        complete = False
        where = Path(error.filename) if error.filename else root
        problems.append(
            _problem(
                _relative(where, root, path),
                f"cannot read the directory: {error.strerror or error}",
            )
        )

    for directory, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in list(dirnames):
            candidate = here / name
            if candidate.is_symlink():
                # Never followed: a target inside is walked anyway, one outside is refused.
                dirnames.remove(name)
                relative = candidate.relative_to(root).as_posix()
                target = _resolved(candidate)
                if isinstance(target, str):
                    problems.append(_problem(relative, target))
                elif not _is_inside(target, root):
                    problems.append(
                        _problem(relative, "symlink points outside the manifest directory")
                    )
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith(MANIFEST_SUFFIXES):
                continue
            candidate = here / name
            relative = candidate.relative_to(root).as_posix()
            target = _resolved(candidate)
            if isinstance(target, str):
                problems.append(_problem(relative, target))
                continue
            if candidate.is_symlink() and not _is_inside(target, root):
                problems.append(_problem(relative, "symlink points outside the manifest directory"))
                continue
            reason = _not_regular(candidate)
            if reason is not None:
                problems.append(_problem(relative, reason))
                continue
            if target in seen:
                continue
            seen.add(target)
            files.append(ManifestFile(candidate, relative))
    if not files and not problems:
        problems.append(
            _problem(
                str(path), "no manifests here: no *.yaml or *.yml files (hidden folders skipped)"
            )
        )
    return Discovery(root, tuple(files), tuple(problems), complete)


def read_manifest_file(file: ManifestFile) -> bytes | Problem:
    """The file's bytes, or a located problem (too large, unreadable, not a regular file).

    The file is opened without blocking and checked to be a regular file once open, so a FIFO
    or device put in its place after discovery can't make validation hang.
    """
    try:
        descriptor = os.open(file.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return _problem(file.relative, f"cannot read the file: {exc.strerror or exc}")
    try:
        with os.fdopen(descriptor, "rb") as stream:
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                return _problem(file.relative, "not a regular file: refused")
            if status.st_size > MAX_FILE_BYTES:
                return _problem(
                    file.relative, f"file is larger than 1 MiB ({status.st_size} bytes): refused"
                )
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _problem(file.relative, f"cannot read the file: {exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        return _problem(file.relative, "file is larger than 1 MiB: refused")
    return data
