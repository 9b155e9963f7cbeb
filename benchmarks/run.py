"""Benchmark: validate, plan, apply and re-plan stacks of growing size on the simulated cloud.

Prints wall time, API calls and peak memory per stage for a small and a large stack, and the
large/small ratios: with N images the work should grow about linearly (ratio ≈ size ratio), and
a steady-state plan should cost a fixed number of API calls per image. Compare ratios within one
run; absolute seconds depend on the machine.

    .venv/bin/python benchmarks/run.py [--small 20] [--large 200]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.engine.hooks import NullHook
from reconciler.manifests import load_desired
from reconciler.model.plan import PlanOptions

CALLS: collections.Counter[str] = collections.Counter()


def write_stack(root: Path, images: int) -> Path:
    """A stack of `images` images, each copied to two regions and shared with one partner."""
    docs = [
        "apiVersion: reconciler/v1\nkind: Stack\nmetadata: {name: bench}\n"
        "spec:\n  regions: [ap-guangzhou, ap-shanghai, ap-singapore]\n"
    ]
    for n in range(images):
        docs.append(
            f"apiVersion: reconciler/v1\nkind: Image\nmetadata: {{name: img-{n:04d}}}\n"
            "spec:\n  region: ap-guangzhou\n  description: benchmark image\n"
            "  tags: {owner: bench}\n  source:\n    instance: {id: ins-demo0001}\n---\n"
            f"apiVersion: reconciler/v1\nkind: ImageCopy\nmetadata: {{name: img-{n:04d}}}\n"
            f"spec: {{image: img-{n:04d}, regions: [ap-shanghai, ap-singapore]}}\n---\n"
            f"apiVersion: reconciler/v1\nkind: ImageShare\nmetadata: {{name: img-{n:04d}}}\n"
            f'spec: {{image: img-{n:04d}, accounts: ["100000000002"]}}\n'
        )
    stack = root / f"stack-{images}"
    stack.mkdir()
    (stack / "stack.yaml").write_text(docs[0])
    (stack / "images.yaml").write_text("---\n".join(docs[1:]))
    return stack


def count_calls() -> None:
    """Count every API call the simulated cloud answers, by action."""
    original = CloudSim.handle

    def counted(self: CloudSim, **kwargs: Any) -> dict[str, Any]:
        CALLS[kwargs["action"]] += 1
        return original(self, **kwargs)

    CloudSim.handle = counted  # type: ignore[method-assign]


@contextmanager
def measured(row: dict[str, float], stage: str) -> Iterator[None]:
    CALLS.clear()
    tracemalloc.start()
    started = time.perf_counter()
    yield
    row[f"{stage} s"] = time.perf_counter() - started
    row[f"{stage} MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
    row[f"{stage} calls"] = sum(CALLS.values())
    tracemalloc.stop()


def run(size: int, root: Path) -> dict[str, float]:
    stack = write_stack(root, size)
    db = root / f"cloud-{size}.db"
    sim = CloudSim(db)
    sim.update_settings(create_image_seconds=0, sync_image_seconds=0, import_image_seconds=0)
    sim.close()
    runtime = app.Runtime(db=str(db), clock=VirtualClock())
    row: dict[str, float] = {"images": size}
    with measured(row, "validate"):
        load_desired(stack)
    with measured(row, "plan (empty cloud)"):
        made = app.planned(stack, PlanOptions(), runtime=runtime)
    with measured(row, "apply"):
        first = made.plan
        result = app.apply_plan(
            first,
            stack,
            runtime=runtime,
            hook=NullHook(),
            observed=made.observed,
            desired=made.desired,
        )
    if not result.ok:
        raise SystemExit(f"apply failed for {size} images: {result.counts}")
    with measured(row, "plan (steady)"):
        steady = app.plan(stack, PlanOptions(), runtime=runtime)
    if steady.has_changes:
        raise SystemExit(f"the steady-state plan for {size} images has changes")
    row["steps"] = len(first.steps)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=200)
    args = parser.parse_args()
    count_calls()
    with tempfile.TemporaryDirectory() as tmp:
        small = run(args.small, Path(tmp))
        large = run(args.large, Path(tmp))
    size_ratio = large["images"] / small["images"]
    print(f"{'metric':<28}{'small':>12}{'large':>12}{'ratio':>9}   (size ratio {size_ratio:g})")
    for key in small:
        ratio = large[key] / small[key] if small[key] else float("nan")
        print(f"{key:<28}{small[key]:>12.3f}{large[key]:>12.3f}{ratio:>9.2f}")
    per_image = large["plan (steady) calls"] / large["images"]
    print(f"\nsteady-state plan: {per_image:.2f} API calls per Image (home + 2 copies)")
    print(f"apply: {large['steps'] / large['images']:.1f} steps per image")


if __name__ == "__main__":
    main()
