"""Reading the cloud retries transient errors with backoff and jitter, like apply (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.engine.clock import VirtualClock
from reconciler.errors import AuthError, TransientError

from .pipeline import converge, make_plan, text


def _fault(db: Path, action: str, code: str, count: int | None = None) -> None:
    sim = CloudSim(db)
    try:
        sim.set_fault(action, code, count=count)
    finally:
        sim.close()


@pytest.mark.parametrize(
    "fault",
    [
        ("DescribeImages", "InternalError"),
        ("DescribeImageSharePermission", "RequestLimitExceeded"),
        ("DescribeImageQuota", "InternalError"),
        ("DescribeInstances", "InternalError"),
    ],
)
def test_a_transient_read_error_is_retried_on_virtual_time(
    quickstart: Path,
    runtime: app.Runtime,
    cloud_db: Path,
    clock: VirtualClock,
    fault: tuple[str, str],
) -> None:
    action, code = fault
    converge(quickstart, runtime)
    _fault(cloud_db, action, code, count=2)
    slept = clock.slept
    plan = make_plan(quickstart, runtime)
    assert not plan.errors
    assert not plan.has_changes, text(plan)
    assert not plan.drift, text(plan)
    # Two failed calls, each followed by a backoff of at least 1 s less half of it (jitter).
    assert clock.slept - slept >= 1.0


def test_a_persistent_transient_error_fails_after_the_policys_attempts(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path, clock: VirtualClock
) -> None:
    _fault(cloud_db, "DescribeImages", "InternalError")
    slept = clock.slept
    with pytest.raises(TransientError):
        make_plan(quickstart, runtime)
    assert clock.slept > slept


def test_a_permanent_read_error_is_not_retried(
    quickstart: Path, runtime: app.Runtime, cloud_db: Path, clock: VirtualClock
) -> None:
    _fault(cloud_db, "DescribeImages", "UnauthorizedOperation", count=1)
    slept = clock.slept
    with pytest.raises(AuthError):
        make_plan(quickstart, runtime)
    assert clock.slept == slept
