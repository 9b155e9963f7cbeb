"""Where the local simulated cloud's database is (SPEC §6): `--db`, the environment, the Stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ENV_VAR = "RECONCILER_CLOUD_DB"
DEFAULT_RELATIVE_PATH = Path(".reconciler") / "cloud.db"
_MAX_MANIFEST_BYTES = 1 << 20


def resolve_cloud_db(stack_dir: Path, db: str | None) -> Path:
    """`db` if given, else `$RECONCILER_CLOUD_DB`, else the Stack's `spec.provider.path`
    (relative to the stack directory), else `<stack dir>/.reconciler/cloud.db`."""
    if db:
        return Path(db)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    declared = stack_provider_path(stack_dir)
    if declared is not None:
        return declared if declared.is_absolute() else stack_dir / declared
    return stack_dir / DEFAULT_RELATIVE_PATH


def stack_provider_path(stack_dir: Path) -> Path | None:
    """`spec.provider.path` of the first Stack document found (unreadable files are ignored)."""
    for document in _documents(stack_dir):
        if document.get("kind") != "Stack":
            continue
        spec = document.get("spec")
        provider = spec.get("provider") if isinstance(spec, dict) else None
        path = provider.get("path") if isinstance(provider, dict) else None
        return Path(path) if isinstance(path, str) and path else None
    return None


def _documents(stack_dir: Path) -> Iterator[dict[str, Any]]:
    for file in _manifest_files(stack_dir):
        try:
            if file.stat().st_size > _MAX_MANIFEST_BYTES:
                continue
            with file.open(encoding="utf-8") as stream:
                documents = list(yaml.safe_load_all(stream))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        yield from (document for document in documents if isinstance(document, dict))


def _manifest_files(stack_dir: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(stack_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root) / name for name in sorted(files) if name.endswith((".yaml", ".yml"))
        )
    return found
