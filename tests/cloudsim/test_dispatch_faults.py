"""The dispatcher's envelope and common codes; fault injection, throttling, latency, determinism."""

from __future__ import annotations

import re
import threading

import pytest

from reconciler.cloudsim import CloudSim, ManualClock
from tests.cloudsim.conftest import Cloud

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_success_and_error_envelopes_carry_a_fresh_request_id(cloud: Cloud) -> None:
    ok = cloud.sim.handle(
        account="100000000001",
        service="cvm",
        version="2017-03-12",
        action="DescribeImageQuota",
        region="ap-guangzhou",
        params={},
    )
    bad = cloud.sim.handle(
        account="100000000001",
        service="cvm",
        version="2017-03-12",
        action="Nope",
        region="ap-guangzhou",
        params={},
    )
    assert set(ok["Response"]) == {"ImageNumQuota", "RequestId"}
    assert set(bad["Response"]) == {"Error", "RequestId"}
    assert set(bad["Response"]["Error"]) == {"Code", "Message"}
    assert UUID.match(ok["Response"]["RequestId"])
    assert UUID.match(bad["Response"]["RequestId"])
    assert ok["Response"]["RequestId"] != bad["Response"]["RequestId"]


@pytest.mark.parametrize(
    ("service", "version", "action", "region", "params", "code"),
    [
        ("cvm", "2017-03-12", "RunInstances", "ap-guangzhou", {}, "InvalidAction"),
        ("cvm", "2018-01-01", "DescribeImages", "ap-guangzhou", {}, "NoSuchVersion"),
        ("tag", "2017-03-12", "TagResources", "ap-guangzhou", {}, "NoSuchVersion"),
        ("cvm", "2017-03-12", "DescribeImages", "xx-nowhere", {}, "InvalidRegion.NotFound"),
        ("cvm", "2017-03-12", "DescribeImages", "ap-guangzhou", {"Foo": 1}, "UnknownParameter"),
        (
            "cvm",
            "2017-03-12",
            "DescribeImages",
            "ap-guangzhou",
            {"Limit": "ten"},
            "InvalidParameter",
        ),
        (
            "cvm",
            "2017-03-12",
            "DescribeImages",
            "ap-guangzhou",
            {"ImageIds": "img-12345678"},
            "InvalidParameter",
        ),
        (
            "cvm",
            "2017-03-12",
            "DescribeImageSharePermission",
            "ap-guangzhou",
            {},
            "MissingParameter",
        ),
        ("cbs", "2017-03-12", "DeleteSnapshots", "ap-guangzhou", {}, "MissingParameter"),
    ],
)
def test_common_codes(  # noqa: PLR0917 - one parameter per table column
    cloud: Cloud,
    service: str,
    version: str,
    action: str,
    region: str,
    params: dict[str, object],
    code: str,
) -> None:
    response = cloud.sim.handle(
        account="100000000001",
        service=service,
        version=version,
        action=action,
        region=region,
        params=params,
    )["Response"]
    assert response["Error"]["Code"] == code


def test_text_forms_of_integers_and_booleans_are_accepted(cloud: Cloud) -> None:
    assert len(cloud.ok("DescribeImages", {"Limit": "2"})["ImageSet"]) == 2


def test_an_unexpected_exception_is_an_internal_error_envelope(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from reconciler.cloudsim import images

    def explode(*_: object) -> None:
        raise RuntimeError("bug")

    with monkeypatch.context() as patch:
        patch.setattr(images, "settle", explode)
        assert cloud.error("DescribeImageQuota") == "InternalError"
    assert "simulated cloud failed" in caplog.text
    assert cloud.ok("DescribeImages", {"Limit": 1})["TotalCount"] > 0


def test_fault_for_the_next_n_calls(cloud: Cloud) -> None:
    cloud.sim.set_fault("DescribeImages", "InternalError", count=2)
    assert cloud.error("DescribeImages") == "InternalError"
    assert cloud.error("DescribeImages") == "InternalError"
    cloud.ok("DescribeImages")
    assert cloud.sim.faults().faults == ()


def test_fault_on_every_action_with_a_probability_is_deterministic() -> None:
    def run() -> list[bool]:
        sim = CloudSim(":memory:", clock=ManualClock())
        sim.update_settings(seed=42)
        sim.set_fault("*", "ResourceInUse", probability=0.5)
        outcomes = [
            "Error"
            in sim.handle(
                account="100000000001",
                service="cvm",
                version="2017-03-12",
                action="DescribeImageQuota",
                region="ap-guangzhou",
                params={},
            )["Response"]
            for _ in range(40)
        ]
        sim.close()
        return outcomes

    first = run()
    assert first == run()
    assert 5 < sum(first) < 35


def test_a_failed_create_by_fault_leaves_nothing(cloud: Cloud) -> None:
    cloud.sim.set_fault("CreateImage", "InternalError", count=1)
    assert cloud.error("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": "x"}) == (
        "InternalError"
    )
    assert cloud.sim.images() == []
    cloud.create("x")


def test_throttle_by_rate(cloud: Cloud) -> None:
    cloud.sim.set_throttle("DescribeImages", 3)
    for _ in range(3):
        cloud.ok("DescribeImages")
    assert cloud.error("DescribeImages") == "RequestLimitExceeded"
    cloud.ok("DescribeImages", region="ap-shanghai")  # counted per region
    cloud.ok("DescribeImageQuota")  # and per action
    cloud.clock.advance(1.0)
    cloud.ok("DescribeImages")
    cloud.sim.clear_faults()
    for _ in range(10):
        cloud.ok("DescribeImages")


def test_latency_advances_virtual_time(cloud: Cloud) -> None:
    cloud.sim.set_latency("DescribeImages", 1500)
    before = cloud.clock.now()
    cloud.ok("DescribeImages")
    assert cloud.clock.now() - before == pytest.approx(1.5)
    assert cloud.sim.faults().latencies == (("DescribeImages", 1500),)


def test_fault_arguments_are_checked(cloud: Cloud) -> None:
    with pytest.raises(ValueError, match="not both"):
        cloud.sim.set_fault("DescribeImages", "InternalError", probability=0.5, count=1)
    with pytest.raises(ValueError, match="positive"):
        cloud.sim.set_throttle("DescribeImages", 0)


def test_accounts_and_credentials(cloud: Cloud) -> None:
    accounts = cloud.sim.credentials()
    assert [a.uin for a in accounts] == [
        "100000000001",
        "100000000002",
        "100000000003",
        "100000000004",
    ]
    assert all(a.secret_id.startswith("AKID") and len(a.secret_key) == 32 for a in accounts)
    assert cloud.sim.account_for_secret_id(accounts[1].secret_id) == accounts[1]
    assert cloud.sim.account_for_secret_id("AKIDnope") is None
    new = cloud.sim.add_account()
    assert new.uin == "100000000005"
    with pytest.raises(ValueError, match="already exists"):
        cloud.sim.add_account("100000000005")
    assert cloud.error("DescribeImages", account="999999999") == "AuthFailure.UnauthorizedOperation"


def test_concurrent_threads_serialise_without_losing_writes(cloud: Cloud) -> None:
    cloud.sim.update_settings(create_image_seconds=0)
    errors: list[str] = []

    def worker(n: int) -> None:
        response = cloud.call("CreateImage", {"InstanceId": "ins-demo0001", "ImageName": f"t{n}"})
        if "Error" in response:
            errors.append(response["Error"]["Code"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cloud.sim.images()) == 20
