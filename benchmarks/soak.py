"""Chaos soak: random edits, injected faults and stopped applies must always converge (SPEC §7).

Not a test and not run by CI: a bounded, seeded soak on the simulated cloud with a VirtualClock.
Each round edits the manifests at random (description, tags, copy regions, share accounts, the
source instance → replacement, removing/restoring an Image), injects faults through the cloud's
admin API, stops the apply after K finished steps, then clears the faults and runs plan + apply
until a plan has no changes (at most 3 tries) and checks the invariants on the cloud: one image
per desired address and region, no owned image that isn't desired, no leaked image or snapshot,
exactly the desired shares, and a final plan without changes or drift.

    .venv/bin/python benchmarks/soak.py [--rounds 30] [--seed 1] [--images 8]

Exits 1 when an invariant fails; the printed seed and round reproduce it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from run import write_stack

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.engine.hooks import NullHook
from reconciler.engine.result import ApplyResult, StepOutcome
from reconciler.engine.settings import ExecutorSettings
from reconciler.errors import ReconcilerError
from reconciler.model.observed import TAG_ADDRESS, TAG_STACK
from reconciler.model.plan import Plan, PlanOptions, Step
from reconciler.planner.targets import copy_address, home_address
from reconciler.provider.transport import API_VERSIONS

STACK = "bench"
HOME = "ap-guangzhou"
COPY_REGIONS = ("ap-shanghai", "ap-singapore", "ap-beijing")
REGIONS = (HOME, *COPY_REGIONS)
PARTNERS = ("100000000002", "100000000003", "100000000004")
INSTANCES = ("ins-demo0001", "ins-demo0004")
"""Both in the home region: switching between them replaces the image."""
FAULT_ACTIONS = (
    "CreateImage",
    "SyncImages",
    "DeleteImages",
    "DeleteSnapshots",
    "ModifyImageSharePermission",
    "ModifyImageAttribute",
    "TagResources",
    "DescribeImages",
)
MAX_TRIES = 3
OPTIONS = PlanOptions(allow_destroy=True)


@dataclass(slots=True)
class Image:
    """One Image of the stack with its ImageCopy and ImageShare, as the soak edits them."""

    name: str
    description: str
    tags: dict[str, str]
    instance: str
    copies: list[str]
    accounts: list[str]
    present: bool = True

    def documents(self) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = [
            {
                "apiVersion": "reconciler/v1",
                "kind": "Image",
                "metadata": {"name": self.name},
                "spec": {
                    "region": HOME,
                    "description": self.description,
                    "tags": dict(self.tags),
                    "source": {"instance": {"id": self.instance}},
                },
            }
        ]
        if self.copies:
            docs.append(self._doc("ImageCopy", {"image": self.name, "regions": self.copies}))
        if self.accounts:
            docs.append(self._doc("ImageShare", {"image": self.name, "accounts": self.accounts}))
        return docs

    def _doc(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "reconciler/v1",
            "kind": kind,
            "metadata": {"name": self.name},
            "spec": {k: list(v) if isinstance(v, list) else v for k, v in spec.items()},
        }

    def desired(self) -> dict[tuple[str, str], set[str]]:
        """(address, region) → the share accounts the image there must have."""
        if not self.present:
            return {}
        wanted = {(home_address(self.name), HOME): set(self.accounts)}
        for region in self.copies:
            wanted[(copy_address(self.name, region), region)] = set(self.accounts)
        return wanted


@dataclass(slots=True)
class Stack:
    """The generated stack (benchmarks/run.py's write_stack) read back into editable images."""

    path: Path
    images: list[Image] = field(default_factory=list)

    @classmethod
    def generated(cls, root: Path, count: int) -> Stack:
        path = write_stack(root, count)
        stack_file = path / "stack.yaml"
        stack_file.write_text(
            stack_file.read_text().replace("ap-singapore]", "ap-singapore, ap-beijing]")
        )
        by_name: dict[str, Image] = {}
        for doc in yaml.safe_load_all((path / "images.yaml").read_text()):
            name, spec = doc["metadata"]["name"], doc["spec"]
            if doc["kind"] == "Image":
                by_name[name] = Image(
                    name=name,
                    description=spec["description"],
                    tags=dict(spec["tags"]),
                    instance=spec["source"]["instance"]["id"],
                    copies=[],
                    accounts=[],
                )
            elif doc["kind"] == "ImageCopy":
                by_name[spec["image"]].copies = list(spec["regions"])
            else:
                by_name[spec["image"]].accounts = list(spec["accounts"])
        return cls(path=path, images=list(by_name.values()))

    def write(self) -> None:
        docs = [d for image in self.images if image.present for d in image.documents()]
        (self.path / "images.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))

    def desired(self) -> dict[tuple[str, str], set[str]]:
        wanted: dict[tuple[str, str], set[str]] = {}
        for image in self.images:
            wanted.update(image.desired())
        return wanted


def edit_once(stack: Stack, rng: random.Random, round_no: int) -> str:
    """One random edit of the manifests; returns what it did (`kind:image`)."""
    present = [i for i in stack.images if i.present]
    removed = [i for i in stack.images if not i.present]
    kinds = ["description", "tags", "copy", "share", "source"]
    if len(present) > 1:
        kinds.append("remove")
    if removed:
        kinds.append("restore")
    kind = rng.choice(kinds)
    image = rng.choice(removed if kind == "restore" else present)
    if kind == "description":
        image.description = f"soak round {round_no}"
    elif kind == "tags":
        if "rev" in image.tags and rng.random() < 0.3:
            del image.tags["rev"]
        else:
            image.tags["rev"] = str(round_no)
    elif kind == "copy":
        missing = [r for r in COPY_REGIONS if r not in image.copies]
        if image.copies and (not missing or rng.random() < 0.5):
            image.copies.remove(rng.choice(image.copies))
            kind = "copy-"
        else:
            image.copies.append(rng.choice(missing))
            kind = "copy+"
    elif kind == "share":
        missing = [a for a in PARTNERS if a not in image.accounts]
        if image.accounts and (not missing or rng.random() < 0.5):
            image.accounts.remove(rng.choice(image.accounts))
            kind = "share-"
        else:
            image.accounts.append(rng.choice(missing))
            kind = "share+"
    elif kind == "source":
        image.instance = next(i for i in INSTANCES if i != image.instance)
    else:
        image.present = kind == "restore"
    return f"{kind}:{image.name.removeprefix('img-')}"


def inject_faults(sim: CloudSim, rng: random.Random) -> str:
    """Random faults for the interrupted apply; returns a short description."""
    roll = rng.random()
    if roll < 0.2:
        return "none"
    if roll < 0.5:
        p = rng.choice((0.05, 0.15, 0.3))
        sim.set_fault("*", "InternalError", probability=p)
        return f"*:InternalError@{p}"
    if roll < 0.7:
        p = rng.choice((0.1, 0.3))
        sim.set_fault("*", "RequestLimitExceeded", probability=p)
        return f"*:RequestLimitExceeded@{p}"
    action, count = rng.choice(FAULT_ACTIONS), rng.choice((1, 3, 8))
    sim.set_fault(action, "InternalError", count=count)
    return f"{action}:InternalError*{count}"


class StopAfter(NullHook):
    """Sets the stop event (as Ctrl-C does) once `count` steps have finished."""

    def __init__(self, stop: threading.Event, count: int | None) -> None:
        self.stop = stop
        self.count = count
        self.finished = 0

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        self.finished += 1
        if self.count is not None and self.finished >= self.count:
            self.stop.set()


@dataclass(frozen=True, slots=True)
class Probe:
    """Reads the simulated cloud directly, on the soak's clock."""

    db: Path
    clock: VirtualClock

    def request(
        self, action: str, region: str, params: Mapping[str, Any], service: str = "cvm"
    ) -> dict[str, Any]:
        sim = CloudSim(self.db, clock=self.clock)
        try:
            envelope = sim.handle(
                account=CloudSim.own_account,
                service=service,
                version=API_VERSIONS[service],
                action=action,
                region=region,
                params=params,
            )
        finally:
            sim.close()
        response: dict[str, Any] = envelope["Response"]
        if "Error" in response:
            raise RuntimeError(f"{action} in {region}: {response['Error']}")
        return response

    def images(self) -> list[dict[str, Any]]:
        """Every private image in the soak's regions, with `Region`, `TagMap` and `Shares`."""
        found: list[dict[str, Any]] = []
        for region in REGIONS:
            offset = 0
            while True:
                page = self.request(
                    "DescribeImages",
                    region,
                    {
                        "Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}],
                        "Offset": offset,
                        "Limit": 100,
                    },
                )
                for raw in page.get("ImageSet", []):
                    shares = self.request(
                        "DescribeImageSharePermission", region, {"ImageId": raw["ImageId"]}
                    ).get("SharePermissionSet", [])
                    raw["Region"] = region
                    raw["TagMap"] = {t["Key"]: t["Value"] for t in raw.get("Tags") or []}
                    raw["Shares"] = {s["AccountId"] for s in shares}
                    found.append(raw)
                offset += 100
                if offset >= page["TotalCount"]:
                    break
        return found

    def snapshots(self) -> set[str]:
        found: set[str] = set()
        for region in REGIONS:
            offset = 0
            while True:
                page = self.request(
                    "DescribeSnapshots", region, {"Offset": offset, "Limit": 100}, service="cbs"
                )
                found |= {s["SnapshotId"] for s in page.get("SnapshotSet", [])}
                offset += 100
                if offset >= page["TotalCount"]:
                    break
        return found


def violations(
    probe: Probe, desired: Mapping[tuple[str, str], set[str]], before: tuple[set[str], set[str]]
) -> list[str]:
    """Every invariant the cloud breaks after convergence."""
    problems: list[str] = []
    images = probe.images()
    owned = [i for i in images if i["TagMap"].get(TAG_STACK) == STACK]
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for image in owned:
        by_key.setdefault((image["TagMap"].get(TAG_ADDRESS, "?"), image["Region"]), []).append(
            image
        )
    for key, accounts in sorted(desired.items()):
        found = by_key.get(key, [])
        if len(found) != 1:
            problems.append(f"{key[0]} in {key[1]}: {len(found)} images, want 1")
            continue
        image = found[0]
        if image["ImageState"] != "NORMAL":
            problems.append(f"{key[0]} in {key[1]}: {image['ImageState']}")
        if image["Shares"] != accounts:
            problems.append(
                f"{key[0]} in {key[1]}: shared with {sorted(image['Shares'])}, "
                f"want {sorted(accounts)}"
            )
    for key in sorted(set(by_key) - set(desired)):
        ids = [i["ImageId"] for i in by_key[key]]
        problems.append(f"{key[0]} in {key[1]}: not desired but owned ({', '.join(ids)})")
    owned_ids = {i["ImageId"] for i in owned}
    leaked = {i["ImageId"] for i in images} - owned_ids - before[0]
    if leaked:
        problems.append(f"leaked images (not owned, not there before): {sorted(leaked)}")
    for region in REGIONS:
        names = [i["ImageName"] for i in images if i["Region"] == region]
        if len(names) != len(set(names)):
            problems.append(f"duplicate image names in {region}")
    live = {s["SnapshotId"] for i in images for s in i.get("SnapshotSet") or []}
    orphans = probe.snapshots() - live - before[1]
    if orphans:
        problems.append(f"leaked snapshots (of no image): {sorted(orphans)}")
    return problems


def describe(plan: Plan) -> str:
    actions = sorted({f"{c.address}:{c.action.value}" for c in plan.changes})
    drift = sorted(c.address for c in plan.drift)
    return f"changes={actions[:6]} drift={drift[:6]} errors={list(plan.errors)[:3]}"


@dataclass(slots=True)
class Converged:
    tries: int
    problems: list[str]
    steps: int


def converge(stack: Path, runtime: app.Runtime) -> Converged:
    """Plan + apply until a plan has no changes (at most MAX_TRIES applies)."""
    steps = 0
    for tries in range(MAX_TRIES + 1):
        made = app.planned(stack, OPTIONS, runtime=runtime)
        plan = made.plan
        if plan.errors:
            return Converged(tries, [f"plan errors: {describe(plan)}"], steps)
        if not plan.has_changes:
            problems = [f"drift after convergence: {describe(plan)}"] if plan.drift else []
            return Converged(tries, problems, steps)
        if tries == MAX_TRIES:
            break
        result = app.apply_plan(
            plan, stack, runtime=runtime, observed=made.observed, desired=made.desired
        )
        steps += sum(1 for o in result.outcomes if o.status.value == "done")
        if not result.ok:
            failed = [f"{o.step_id} {o.operation} {o.error_code}" for o in result.outcomes][:3]
            print(f"    converge apply {tries + 1} not ok: {result.counts} {failed}")
    return Converged(MAX_TRIES, [f"no convergence in {MAX_TRIES} tries: {describe(plan)}"], steps)


def chaos_apply(
    stack: Path, runtime: app.Runtime, sim: CloudSim, rng: random.Random
) -> tuple[str, str, int, int]:
    """Plan, inject faults, apply with a random stop; (faults, stop point, done, planned)."""
    made = app.planned(stack, OPTIONS, runtime=runtime)
    plan = made.plan
    if plan.errors or not plan.steps:
        return "none", "-", 0, len(plan.steps)
    faults = inject_faults(sim, rng)
    count = rng.randint(1, len(plan.steps)) if rng.random() < 0.75 else None
    stop = threading.Event()
    result: ApplyResult | None = None
    try:
        result = app.apply_plan(
            plan,
            stack,
            runtime=runtime,
            hook=StopAfter(stop, count),
            stop=stop,
            observed=made.observed,
        )
    except ReconcilerError as error:
        faults += f" (apply raised {type(error).__name__})"
    finally:
        sim.clear_faults()
    done = 0 if result is None else sum(1 for o in result.outcomes if o.status.value == "done")
    return faults, "-" if count is None else str(count), done, len(plan.steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--images", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    total_steps = max_tries = failed_rounds = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clock = VirtualClock()
        db = root / "cloud.db"
        sim = CloudSim(db, clock=clock)
        sim.update_settings(create_image_seconds=0, sync_image_seconds=0, import_image_seconds=0)
        runtime = app.Runtime(db=str(db), clock=clock, settings=ExecutorSettings(poll_interval=1.0))
        probe = Probe(db, clock)
        before = ({i["ImageId"] for i in probe.images()}, probe.snapshots())
        stack = Stack.generated(root, args.images)
        first = converge(stack.path, runtime)
        print(f"setup: {args.images} images, {first.steps} steps, {first.tries} tries")
        for round_no in range(1, args.rounds + 1):
            edits = [edit_once(stack, rng, round_no) for _ in range(rng.randint(1, 4))]
            stack.write()
            faults, stop_at, done, planned = chaos_apply(stack.path, runtime, sim, rng)
            result = converge(stack.path, runtime)
            problems = result.problems + violations(probe, stack.desired(), before)
            total_steps += done + result.steps
            max_tries = max(max_tries, result.tries)
            print(
                f"round {round_no:>3}  edits={','.join(edits)}  faults={faults}  "
                f"stop={stop_at}/{planned}  done={done}  tries={result.tries}"
                + ("  VIOLATED" if problems else "")
            )
            for problem in problems:
                print(f"    ! seed {args.seed} round {round_no}: {problem}")
            failed_rounds += bool(problems)
            clock.advance(60.0)
        sim.close()
    print(
        f"summary: seed={args.seed} rounds={args.rounds} images={args.images} "
        f"steps={total_steps} max_tries={max_tries} invariant_violations={failed_rounds} "
        f"wall={time.perf_counter() - started:.1f}s"
    )
    return 1 if failed_rounds else 0


if __name__ == "__main__":
    sys.exit(main())
