"""The executor against the simulated cloud on a virtual clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.engine.executor import execute
from reconciler.engine.hooks import NullHook, WaitProgress
from reconciler.engine.result import ApplyResult, StepOutcome, StepStatus
from reconciler.engine.settings import ExecutorSettings, RetryPolicy, WaitTimeouts
from reconciler.errors import PlanError, ProviderError
from reconciler.model.plan import Step, StepRef
from reconciler.provider.tencent import TencentCloudProvider
from tests.conftest import RecordingTransport

GZ = "ap-guangzhou"
SH = "ap-shanghai"
SG = "ap-singapore"
PARTNER = "100000000002"
FAST = ExecutorSettings(poll_interval=5.0, retry=RetryPolicy(jitter=0.0))


class RecordingHook(NullHook):
    """Collects every hook call, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.progress: list[WaitProgress] = []
        self.retries: list[tuple[str, int, str, float]] = []
        self.result: ApplyResult | None = None

    def step_started(self, step: Step) -> None:
        self.events.append(("started", step.id))

    def step_waiting(self, step: Step, progress: WaitProgress) -> None:
        self.progress.append(progress)

    def step_retrying(self, step: Step, attempt: int, error: ProviderError, delay: float) -> None:
        self.retries.append((step.id, attempt, error.code, delay))

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        self.events.append((outcome.status.value, step.id))

    def apply_finished(self, result: ApplyResult) -> None:
        self.result = result


def create(
    step_id: str,
    name: str,
    *,
    instance: str = "ins-demo0001",
    region: str = GZ,
    deps: Sequence[str] = (),
) -> Step:
    return Step(
        id=step_id,
        operation="CreateImage",
        address=f"image.{name}",
        region=region,
        depends_on=tuple(deps),
        params={
            "ImageName": name,
            "InstanceId": instance,
            "TagSpecification": [
                {"ResourceType": "image", "Tags": [{"Key": "reconciler:stack", "Value": "t"}]}
            ],
        },
    )


def wait(step_id: str, ref: str | StepRef, *, region: str = GZ, deps: Sequence[str] = ()) -> Step:
    image = StepRef(ref) if isinstance(ref, str) and not ref.startswith("img-") else ref
    depends = tuple(deps) or ((ref,) if isinstance(ref, str) and not ref.startswith("img-") else ())
    return Step(
        id=step_id,
        operation="Wait",
        address="image.x",
        region=region,
        depends_on=depends,
        params={"ImageId": image, "State": "NORMAL"},
    )


def share(
    step_id: str,
    image: Any,
    *,
    permission: str = "SHARE",
    deps: Sequence[str] = (),
    always_run: bool = False,
    region: str = GZ,
) -> Step:
    return Step(
        id=step_id,
        operation="ModifyImageSharePermission",
        address=f"share.x@{region}:{PARTNER}",
        region=region,
        depends_on=tuple(deps),
        params={"ImageId": image, "AccountIds": [PARTNER], "Permission": permission},
        always_run=always_run,
    )


def statuses(result: ApplyResult) -> dict[str, str]:
    return {o.step_id: o.status.value for o in result.outcomes}


def run(
    steps: Sequence[Step], provider: TencentCloudProvider, clock: VirtualClock, **kwargs: Any
) -> ApplyResult:
    kwargs.setdefault("settings", FAST)
    return execute(steps, provider, clock=clock, rng=random.Random(7), **kwargs)


def test_create_wait_copy_tag_share_runs_in_dependency_order(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    steps = [
        create("s1", "web-base-1a2b3c4d"),
        wait("s2", "s1"),
        Step(
            id="s3",
            operation="SyncImages",
            address="image.web-base",
            region=GZ,
            depends_on=("s2",),
            params={
                "ImageIds": [StepRef("s1")],
                "DestinationRegions": [SH, SG],
                "ImageName": "web-base-1a2b3c4d",
                "ImageSetRequired": True,
            },
        ),
        wait("s4", StepRef("s3", f"ImageSet.{SH}"), region=SH, deps=["s3"]),
        wait("s5", StepRef("s3", f"ImageSet.{SG}"), region=SG, deps=["s3"]),
        Step(
            id="s6",
            operation="ModifyResourceTags",
            address=f"image.web-base@{SH}",
            region=SH,
            service="tag",
            depends_on=("s3",),
            params={
                "ImageId": StepRef("s3", f"ImageSet.{SH}"),
                "ReplaceTags": [{"TagKey": "reconciler:stack", "TagValue": "t"}],
            },
        ),
        wait("s7", StepRef("s1"), deps=["s3"]),
        share("s8", StepRef("s3", f"ImageSet.{SG}"), deps=["s5"], region=SG),
        share("s9", StepRef("s1"), deps=["s7"]),
    ]
    hook = RecordingHook()
    result = run(steps, provider, clock, hook=hook)
    assert result.ok, result.outcomes
    assert not result.interrupted
    source = result.outcome("s1").outputs["ImageId"]
    copies = result.outcome("s3").outputs
    assert copies["ImageId"] == source
    assert {copies[f"ImageSet.{SH}"], copies[f"ImageSet.{SG}"]} == {
        result.outcome("s4").outputs["ImageId"],
        result.outcome("s5").outputs["ImageId"],
    }
    # Every step started only after each of its dependencies finished.
    position = {event: i for i, event in enumerate(hook.events)}
    for step in steps:
        for dep in step.depends_on:
            assert position[("done", dep)] < position[("started", step.id)]
    assert hook.result is result
    # The cloud holds what was asked: a tagged copy and the shares.
    assert provider.share_accounts(GZ, source) == (PARTNER,)
    assert provider.share_accounts(SG, copies[f"ImageSet.{SG}"]) == (PARTNER,)
    (copy,) = provider.describe_images_by_id(SH, [copies[f"ImageSet.{SH}"]])
    assert copy.tags["reconciler:stack"] == "t"
    assert copy.name == "web-base-1a2b3c4d"
    # Copying progress was reported through the hook.
    assert any(p.state == "SYNCING" for p in hook.progress)


def test_all_waits_of_a_region_share_one_describe_images_per_poll(
    provider: TencentCloudProvider, transport: RecordingTransport, clock: VirtualClock
) -> None:
    steps: list[Step] = []
    for n in range(6):
        steps += [create(f"c{n}", f"img-batch-{n}"), wait(f"w{n}", f"c{n}")]
    result = run(steps, provider, clock, settings=ExecutorSettings(parallelism=6, poll_interval=1))
    assert result.ok
    polls = [p for a, _, p in transport.calls if a == "DescribeImages" and "ImageIds" in p]
    # The images take 3 s to create; waiting for six takes a handful of polls, not six each.
    assert len(polls) <= 6
    assert max(len(p["ImageIds"]) for p in polls) == 6
    assert all(o.attempts >= 1 for o in result.outcomes if o.operation == "Wait")


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "InternalError", "ResourceInUse"])
def test_transient_errors_are_retried_with_backoff(
    code: str, provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    sim.set_fault("CreateImage", code, count=2)
    hook = RecordingHook()
    before = clock.now()
    result = run([create("s1", "retried")], provider, clock, hook=hook)
    outcome = result.outcome("s1")
    assert outcome.status is StepStatus.DONE
    assert outcome.attempts == 3
    assert [(r[1], r[2], r[3]) for r in hook.retries] == [(1, code, 1.0), (2, code, 2.0)]
    assert clock.now() - before >= 3.0
    # Exactly one image was made, despite three calls.
    assert len([i for i in provider.describe_private_images(GZ) if i.name == "retried"]) == 1


def test_retries_stop_after_the_configured_attempts(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    sim.set_fault("CreateImage", "RequestLimitExceeded", count=10)
    settings = ExecutorSettings(retry=RetryPolicy(attempts=3, jitter=0.0))
    outcome = run([create("s1", "never")], provider, clock, settings=settings).outcome("s1")
    assert (outcome.status, outcome.attempts, outcome.error_code) == (
        StepStatus.FAILED,
        3,
        "RequestLimitExceeded",
    )


def test_permanent_errors_are_not_retried(
    provider: TencentCloudProvider, clock: VirtualClock, transport: RecordingTransport
) -> None:
    result = run([create("s1", "nope", instance="ins-zzzzzzzz")], provider, clock)
    outcome = result.outcome("s1")
    assert outcome.status is StepStatus.FAILED
    assert outcome.attempts == 1
    assert outcome.error_code == "InvalidInstanceId.NotFound"
    assert transport.count("CreateImage") == 1
    assert not result.ok


def test_a_wait_times_out(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    sim.update_settings(create_image_seconds=10_000)
    settings = ExecutorSettings(poll_interval=30, wait_timeouts=WaitTimeouts(create_image=600))
    result = run([create("s1", "slow"), wait("s2", "s1")], provider, clock, settings=settings)
    outcome = result.outcome("s2")
    assert outcome.status is StepStatus.FAILED
    assert outcome.error_code == "WaitTimeout"
    assert 600 <= (outcome.elapsed or 0) < 700


def test_a_wait_fails_when_the_image_fails(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    sim.update_settings(create_failure_probability=1.0)
    result = run(
        [create("s1", "doomed"), wait("s2", "s1"), share("s3", StepRef("s1"), deps=["s2"])],
        provider,
        clock,
    )
    assert statuses(result) == {"s1": "done", "s2": "failed", "s3": "skipped"}
    assert result.outcome("s2").error_code == "ImageState.CREATEFAILED"


def test_a_wait_fails_when_the_image_disappears(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    result = run([wait("s1", "img-0000gone")], provider, clock)
    outcome = result.outcome("s1")
    assert (outcome.status, outcome.error_code, outcome.attempts) == (
        StepStatus.FAILED,
        "ImageDisappeared",
        3,
    )


def test_a_failure_skips_only_its_dependents(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    steps = [
        create("a1", "bad", instance="ins-zzzzzzzz"),
        wait("a2", "a1"),
        share("a3", StepRef("a1"), deps=["a2"]),
        create("b1", "good"),
        wait("b2", "b1"),
        share("b3", StepRef("b1"), deps=["b2"]),
    ]
    result = run(steps, provider, clock)
    assert statuses(result) == {
        "a1": "failed",
        "a2": "skipped",
        "a3": "skipped",
        "b1": "done",
        "b2": "done",
        "b3": "done",
    }
    assert result.outcome("a3").error_code == "DependencyFailed"
    assert result.counts == {"done": 3, "failed": 1, "skipped": 2, "not-run": 0}


def test_always_run_reshares_after_a_failed_modify(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    made = run(
        [create("s1", "shared-img"), wait("s2", "s1"), share("s3", StepRef("s1"), deps=["s2"])],
        provider,
        clock,
    )
    image_id = made.outcome("s1").outputs["ImageId"]
    steps = [
        share("u1", image_id, permission="CANCEL"),
        Step(
            id="m1",
            operation="ModifyImageAttribute",
            address="image.x",
            region=GZ,
            depends_on=("u1",),
            params={"ImageId": image_id, "ImageDescription": "x" * 300},
        ),
        share("r1", image_id, deps=["m1"], always_run=True),
    ]
    result = run(steps, provider, clock)
    assert statuses(result) == {"u1": "done", "m1": "failed", "r1": "done"}
    assert provider.share_accounts(GZ, image_id) == (PARTNER,)


def test_idempotent_steps_count_as_done_when_already_done(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    first = run(
        [create("s1", "twice"), wait("s2", "s1"), share("s3", StepRef("s1"), deps=["s2"])],
        provider,
        clock,
    )
    image_id = first.outcome("s1").outputs["ImageId"]
    steps = [
        create("c", "twice"),  # InvalidImageName.Duplicate → adopt
        share("sh", image_id),  # FailedOperation.AccountAlreadyExists → done
        share("un", image_id, permission="CANCEL", deps=["sh"]),
        share("un2", image_id, permission="CANCEL", deps=["un"]),  # not shared → done
        Step(
            id="d",
            operation="DeleteImages",
            address="image.twice",
            region=GZ,
            depends_on=("un2",),
            params={"ImageIds": [image_id], "DeleteBindedSnap": True},
        ),
        Step(
            id="d2",
            operation="DeleteImages",
            address="image.twice",
            region=GZ,
            depends_on=("d",),
            params={"ImageIds": [image_id], "DeleteBindedSnap": True},
        ),
        Step(
            id="snap",
            operation="DeleteSnapshots",
            address="image.twice",
            region=GZ,
            service="cbs",
            params={"SnapshotIds": ["snap-0000gone"]},
        ),
    ]
    result = run(steps, provider, clock)
    assert result.ok, result.outcomes
    assert result.outcome("c").outputs["ImageId"] == image_id
    assert provider.describe_images_by_id(GZ, [image_id]) == []


def test_stop_lets_running_calls_finish_and_runs_nothing_new(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    stop = threading.Event()

    class StopAfterFirst(RecordingHook):
        def step_finished(self, step: Step, outcome: StepOutcome) -> None:
            super().step_finished(step, outcome)
            stop.set()

    steps = [
        create("s1", "first"),
        wait("s2", "s1"),
        share("s3", StepRef("s1"), deps=["s2"]),
        create("s4", "second", deps=["s1"]),
    ]
    hook = StopAfterFirst()
    result = run(
        steps, provider, clock, hook=hook, stop=stop, settings=ExecutorSettings(parallelism=1)
    )
    assert result.interrupted
    assert statuses(result) == {"s1": "done", "s2": "not-run", "s3": "not-run", "s4": "not-run"}
    assert ("started", "s4") not in hook.events
    assert [i.name for i in provider.describe_private_images(GZ)].count("second") == 0


def test_a_call_in_flight_when_stop_comes_finishes_and_is_recorded(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    stop = threading.Event()

    class StopOnFirstStart(RecordingHook):
        def step_started(self, step: Step) -> None:
            super().step_started(step)
            stop.set()

    steps = [create("s1", "one"), create("s2", "two"), create("s3", "three")]
    hook = StopOnFirstStart()
    result = run(steps, provider, clock, hook=hook, stop=stop)
    assert result.interrupted
    assert statuses(result) == {"s1": "done", "s2": "not-run", "s3": "not-run"}
    assert [e for e in hook.events if e[0] == "started"] == [("started", "s1")]
    names = {i.name for i in provider.describe_private_images(GZ)}
    assert "one" in names
    assert not names & {"two", "three"}


def test_a_stop_during_a_retry_backoff_leaves_the_step_not_run_with_its_last_error(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    sim.set_fault("CreateImage", "RequestLimitExceeded", count=10)
    stop = threading.Event()

    class StopWhenBackingOff(RecordingHook):
        def step_retrying(
            self, step: Step, attempt: int, error: ProviderError, delay: float
        ) -> None:
            super().step_retrying(step, attempt, error, delay)
            stop.set()  # the executor sleeps the backoff on the virtual clock next

    hook = StopWhenBackingOff()
    before = clock.now()
    result = run(
        [create("s1", "stopped"), wait("s2", "s1", deps=["s1"])],
        provider,
        clock,
        hook=hook,
        stop=stop,
    )
    outcome = result.outcome("s1")
    assert result.interrupted
    assert statuses(result) == {"s1": "not-run", "s2": "not-run"}
    assert outcome.attempts == 1
    assert outcome.error_code == "RequestLimitExceeded"
    assert outcome.error_message.startswith("apply stopped before a retry; last error")
    assert "RequestLimitExceeded" in outcome.error_message
    assert [r[:3] for r in hook.retries] == [("s1", 1, "RequestLimitExceeded")]
    assert clock.now() - before < 1.0  # the backoff was cut short, not slept through


def test_step_refs_are_substituted_inside_lists_and_dicts(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    steps = [
        create("s1", "tagged"),
        Step(
            id="s2",
            operation="ModifyResourceTags",
            address="image.tagged",
            region=GZ,
            service="tag",
            depends_on=("s1",),
            params={
                "ImageId": StepRef("s1"),
                "ReplaceTags": [{"TagKey": "owner", "TagValue": "web"}],
                "DeleteTags": [],
            },
        ),
        Step(
            id="s3",
            operation="UnTagResources",
            address="image.tagged",
            region=GZ,
            service="tag",
            depends_on=("s2",),
            params={"ImageId": StepRef("s1"), "TagKeys": ["reconciler:stack"]},
        ),
    ]
    result = run(steps, provider, clock)
    assert result.ok, result.outcomes
    (image,) = provider.describe_images_by_id(GZ, [result.outcome("s1").outputs["ImageId"]])
    assert image.tags == {"owner": "web"}


def test_a_missing_output_fails_the_step(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    steps = [create("s1", "x"), share("s2", StepRef("s1", "ImageSet.ap-tokyo"), deps=["s1"])]
    outcome = run(steps, provider, clock).outcome("s2")
    assert (outcome.status, outcome.error_code) == (StepStatus.FAILED, "MissingOutput")
    assert "ImageSet.ap-tokyo of step s1" in outcome.error_message


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([create("s1", "x", deps=["s9"])], "unknown step s9"),
        ([create("s1", "x", deps=["s2"]), create("s2", "y", deps=["s1"])], "cycle"),
        ([create("s1", "x"), create("s1", "y")], "duplicate"),
    ],
)
def test_steps_that_are_not_a_dag_are_refused(
    steps: list[Step], message: str, provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    with pytest.raises(PlanError, match=message):
        run(steps, provider, clock)


def test_no_steps_is_an_empty_success(provider: TencentCloudProvider, clock: VirtualClock) -> None:
    result = run([], provider, clock)
    assert result.ok
    assert result.outcomes == ()


def test_a_transient_poll_error_only_delays_the_wait(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    made = run([create("s1", "polled")], provider, clock)
    sim.set_fault("DescribeImages", "RequestLimitExceeded", count=2)
    result = run([wait("w", made.outcome("s1").outputs["ImageId"])], provider, clock)
    outcome = result.outcome("w")
    assert outcome.status is StepStatus.DONE
    assert outcome.attempts == 3  # two throttled polls, then NORMAL


def test_a_permanent_poll_error_fails_the_waits(
    provider: TencentCloudProvider, clock: VirtualClock
) -> None:
    outcome = run([wait("w", "img-BAD!")], provider, clock).outcome("w")
    assert (outcome.status, outcome.error_code) == (StepStatus.FAILED, "InvalidImageId.Malformed")


def test_a_hook_that_raises_in_a_worker_fails_the_step_instead_of_hanging(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    class BrokenHook(NullHook):
        def step_retrying(
            self, step: Step, attempt: int, error: ProviderError, delay: float
        ) -> None:
            raise RuntimeError("renderer bug")

    sim.set_fault("CreateImage", "InternalError", count=1)
    outcome = run([create("s1", "x")], provider, clock, hook=BrokenHook()).outcome("s1")
    assert (outcome.status, outcome.error_code) == (StepStatus.FAILED, "InternalError")
    assert "renderer bug" in outcome.error_message


def test_parallelism_bounds_calls_in_flight(
    provider: TencentCloudProvider, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight = 0
    peak = 0
    guard = threading.Lock()
    inner = provider.run_step

    def counting_run_step(*args: Any) -> dict[str, str]:
        nonlocal in_flight, peak
        with guard:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return inner(*args)
        finally:
            with guard:
                in_flight -= 1

    monkeypatch.setattr(provider, "run_step", counting_run_step)
    steps = [create(f"s{n}", f"par-{n}") for n in range(8)]
    result = run(steps, provider, clock, settings=ExecutorSettings(parallelism=2))
    assert result.ok
    assert 1 <= peak <= 2


def test_waits_after_a_copy_use_the_sync_timeout(
    provider: TencentCloudProvider, clock: VirtualClock, sim: CloudSim
) -> None:
    sim.update_settings(sync_image_seconds=10_000)
    timeouts = WaitTimeouts(create_image=5_000, sync_images=300, other=5_000)
    steps = [
        create("s1", "copied-slowly"),
        wait("s2", "s1"),
        Step(
            id="s3",
            operation="SyncImages",
            address="image.x",
            region=GZ,
            depends_on=("s2",),
            params={
                "ImageIds": [StepRef("s1")],
                "DestinationRegions": [SH],
                "ImageName": "copied-slowly",
                "ImageSetRequired": True,
            },
        ),
        wait("s4", StepRef("s3", f"ImageSet.{SH}"), region=SH, deps=["s3"]),
        wait("s5", StepRef("s1"), deps=["s3"]),
    ]
    result = run(
        steps, provider, clock, settings=ExecutorSettings(poll_interval=10, wait_timeouts=timeouts)
    )
    for step_id in ("s4", "s5"):
        outcome = result.outcome(step_id)
        assert outcome.error_code == "WaitTimeout"
        assert 300 <= (outcome.elapsed or 0) < 400
