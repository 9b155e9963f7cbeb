"""The snapshots named in `source.snapshots` are the user's: never deleted (SPEC §4), also with
`deleteSnapshots: true`, under `--destroy` and once the document is removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import app

from .cloud import CloudProbe
from .pipeline import apply, converge, make_plan, text

STACK = """\
apiVersion: reconciler/v1
kind: Stack
metadata: {name: snaps}
spec:
  regions: [ap-guangzhou, ap-shanghai, ap-singapore]
"""

IMAGE = """\
---
apiVersion: reconciler/v1
kind: Image
metadata: {name: fromsnap}
spec:
  region: ap-shanghai
  description: from a snapshot, deleteSnapshots true
  source: {snapshots: {system: snap-demo0002}}
  lifecycle: {deleteSnapshots: true}
---
apiVersion: reconciler/v1
kind: ImageCopy
metadata: {name: fromsnap-copies}
spec: {image: fromsnap, regions: [ap-guangzhou]}
"""


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "snaps"
    root.mkdir()
    (root / "stack.yaml").write_text(STACK)
    (root / "images.yaml").write_text(IMAGE)
    return root


def _copy_snapshots(probe: CloudProbe) -> set[str]:
    """The copy's own snapshots (SyncImages made them): those may go with it."""
    copies = [i for i in probe.owned("snaps") if i.region == "ap-guangzhou"]
    assert len(copies) == 1
    return set(copies[0].snapshots)


def test_destroy_keeps_the_source_snapshot_and_deletes_the_copys_own(
    stack: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    converge(stack, runtime)
    assert "snap-demo0002" in probe.snapshot_ids("ap-shanghai")
    copy_own = _copy_snapshots(probe)
    assert copy_own
    assert copy_own <= probe.snapshot_ids("ap-guangzhou")
    plan = make_plan(stack, runtime, destroy=True)
    home_delete = next(
        s for s in plan.steps if s.operation == "DeleteImages" and s.address == "image.fromsnap"
    )
    assert home_delete.params["DeleteBindedSnap"] is False, text(plan)
    apply(stack, runtime, plan)
    assert probe.owned("snaps") == []
    assert "snap-demo0002" in probe.snapshot_ids("ap-shanghai")
    assert not copy_own & probe.snapshot_ids("ap-guangzhou")
    # The snapshot is still there to make the image again.
    converge(stack, runtime)


def test_a_removed_document_keeps_the_source_snapshot(
    stack: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    converge(stack, runtime)
    copy_own = _copy_snapshots(probe)
    (stack / "images.yaml").unlink()
    apply(stack, runtime)
    assert probe.owned("snaps") == []
    assert "snap-demo0002" in probe.snapshot_ids("ap-shanghai")
    assert not copy_own & probe.snapshot_ids("ap-guangzhou")
    (stack / "images.yaml").write_text(IMAGE)
    converge(stack, runtime)
