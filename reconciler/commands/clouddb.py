"""Where the local simulated cloud's database is (SPEC §6), for the `reconciler cloud` commands.

One resolution, the provider factory's (`reconciler.provider.factory`): `--db`, else
$RECONCILER_CLOUD_DB (neither needs any manifest), else the loaded Stack's `spec.provider.path`
(relative to the stack directory), else `<stack dir>/.reconciler/cloud.db`. A directory without
a Stack (empty, or YAML that is not a stack) uses the default; a Stack whose manifests do not load
is a ManifestError with every located problem, as `plan` reports it.
"""

from __future__ import annotations

import re
from pathlib import Path


def resolve_cloud_db(stack_dir: Path, db: str | None) -> Path:
    """`db` if given, else `$RECONCILER_CLOUD_DB`, else the Stack's `spec.provider.path`
    (relative to the stack directory), else `<stack dir>/.reconciler/cloud.db`.

    Raises ManifestError when the directory holds a Stack (or YAML that might be one) but its
    manifests can't be loaded.
    """
    from reconciler.errors import ManifestError
    from reconciler.manifests import load_desired
    from reconciler.provider.factory import cloud_db_override, default_cloud_db, local_cloud_db

    override = cloud_db_override(db)
    if override is not None:
        return override
    try:
        desired = load_desired(stack_dir)
    except ManifestError:
        if holds_no_stack(stack_dir):
            return default_cloud_db(stack_dir)
        raise
    return local_cloud_db(desired.stack, stack_dir)


_MENTIONS_STACK = re.compile(rb"""kind["']?\s*:\s*["']?Stack\b""")
"""`kind: Stack` (block or flow style, quoted or not) in a file that does not load."""


def holds_no_stack(stack_dir: Path) -> bool:
    """Whether `stack_dir` declares no Stack: it does not exist, has no manifest files, or none
    of them holds a `kind: Stack` document. A file that does not load (malformed YAML, ...) might
    be the Stack when it mentions `kind: Stack`; then the answer is no."""
    from reconciler.manifests.discovery import discover, read_manifest_file
    from reconciler.manifests.problems import Problem
    from reconciler.manifests.yaml_loader import load_manifest_bytes

    if not stack_dir.exists():
        return True
    discovery = discover(stack_dir)
    if any(not problem.message.startswith("no manifests here") for problem in discovery.problems):
        return False  # a refused file (a symlink out of the tree, ...) might be the Stack
    for file in discovery.files:
        data = read_manifest_file(file)
        if isinstance(data, Problem):
            return False  # unreadable or too large: it might be the Stack
        documents, problems = load_manifest_bytes(file.relative, data)
        if any(
            isinstance(document.content, dict) and document.content.get("kind") == "Stack"
            for document in documents
        ):
            return False
        if problems and _MENTIONS_STACK.search(data):
            return False
    return True
