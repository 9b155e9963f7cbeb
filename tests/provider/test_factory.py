"""Building the provider and the lock store for a Stack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.engine.clock import VirtualClock
from reconciler.engine.lock import FileLockStore, SqliteLockStore
from reconciler.errors import LockError, UsageError
from reconciler.model.desired import DesiredStack, ProviderConfig
from reconciler.model.source import SourceRef
from reconciler.provider.factory import (
    DB_ENV,
    build_provider,
    local_cloud_db,
    lock_store_for,
)
from reconciler.provider.local import LocalTransport
from reconciler.provider.observe import observe


def stack(**provider: str) -> DesiredStack:
    return DesiredStack(
        name="prod",
        regions=("ap-guangzhou",),
        provider=ProviderConfig(**provider),
        source_ref=SourceRef("stack.yaml", 3),
    )


def test_local_db_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    assert local_cloud_db(stack(), tmp_path) == tmp_path / ".reconciler" / "cloud.db"
    assert local_cloud_db(stack(path="state/sim.db"), tmp_path) == tmp_path / "state" / "sim.db"
    monkeypatch.setenv(DB_ENV, str(tmp_path / "env.db"))
    assert local_cloud_db(stack(path="state/sim.db"), tmp_path) == tmp_path / "env.db"
    assert local_cloud_db(stack(), tmp_path, "flag.db") == Path("flag.db")


def test_local_provider_opens_the_simulated_cloud_as_the_own_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    provider = build_provider(stack(), tmp_path, clock=VirtualClock())
    try:
        assert isinstance(provider.transport, LocalTransport)
        assert provider.account == "100000000001"
        cloud = observe(provider, ["ap-guangzhou"], "prod", now=datetime.now(UTC))
        assert cloud.regions == ("ap-guangzhou",)
    finally:
        provider.close()
    assert (tmp_path / ".reconciler" / "cloud.db").exists()


def test_the_local_lock_lives_in_the_cloud_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    provider = build_provider(stack(), tmp_path, clock=VirtualClock())
    provider.close()
    store = lock_store_for(stack(), tmp_path)
    assert isinstance(store, SqliteLockStore)
    store.acquire("prod", owner="alice")
    with pytest.raises(LockError, match="alice@"):
        lock_store_for(stack(), tmp_path).acquire("prod")
    # The simulated cloud still opens and answers with the lock table in its database.
    reopened = build_provider(stack(), tmp_path, clock=VirtualClock())
    try:
        assert reopened.image_quota("ap-guangzhou") == 500
    finally:
        reopened.close()


def test_the_real_cloud_uses_a_lock_file_and_the_sdk_transport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDexample")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "secret-example")
    monkeypatch.setenv("TENCENTCLOUD_UIN", "100000000009")
    real = stack(type="tencentcloud", endpoint="127.0.0.1:9", protocol="http")
    provider = build_provider(real, tmp_path)
    assert provider.account == "100000000009"
    assert type(provider.transport).__name__ == "SdkTransport"
    assert isinstance(lock_store_for(real, tmp_path), FileLockStore)


def test_an_unknown_provider_type_is_a_located_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"stack.yaml:3: Stack/prod: unknown provider type 'aws'"):
        build_provider(stack(type="aws"), tmp_path)
