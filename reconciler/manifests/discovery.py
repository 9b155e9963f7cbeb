"""Finding the manifest files of a PATH: recursive `*.yaml`/`*.yml`, safe against hostile trees."""

from __future__ import annotations

import os
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


def _problem(file: str, message: str) -> Problem:
    return Problem(file, 0, 0, "", "", "", message)


def _is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def discover(path: Path) -> Discovery:
    """The manifest files of `path` (a directory searched recursively, or one file)."""
    if not path.exists():
        return Discovery(path, (), (_problem(str(path), "no such file or directory"),))
    if path.is_file():
        return Discovery(path.parent, (ManifestFile(path, path.name),), ())
    root = path.resolve()
    files: list[ManifestFile] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in list(dirnames):
            candidate = here / name
            if candidate.is_symlink():
                # Never followed: a target inside is walked anyway, one outside is refused.
                dirnames.remove(name)
                relative = candidate.relative_to(root).as_posix()
                if not _is_inside(candidate.resolve(), root):
                    problems.append(
                        _problem(relative, "symlink points outside the manifest directory")
                    )
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith(MANIFEST_SUFFIXES):
                continue
            candidate = here / name
            relative = candidate.relative_to(root).as_posix()
            target = candidate.resolve()
            if candidate.is_symlink():
                if not _is_inside(target, root):
                    problems.append(
                        _problem(relative, "symlink points outside the manifest directory")
                    )
                    continue
                if not target.is_file():
                    problems.append(_problem(relative, "symlink to a missing file"))
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
    return Discovery(root, tuple(files), tuple(problems))


def read_manifest_file(file: ManifestFile) -> bytes | Problem:
    """The file's bytes, or a located problem (too large, unreadable)."""
    try:
        size = file.path.stat().st_size
        if size > MAX_FILE_BYTES:
            return _problem(file.relative, f"file is larger than 1 MiB ({size} bytes): refused")
        with file.path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _problem(file.relative, f"cannot read the file: {exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        return _problem(file.relative, "file is larger than 1 MiB: refused")
    return data
