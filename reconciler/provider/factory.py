"""Builds the provider (and the apply lock store) for a Stack: `local` or `tencentcloud`."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.engine.clock import Clock, SystemClock
from reconciler.engine.lock import FileLockStore, LockStore, SqliteLockStore
from reconciler.errors import UsageError
from reconciler.model.desired import DesiredStack
from reconciler.provider.local import LocalTransport
from reconciler.provider.ratelimit import RateLimiter
from reconciler.provider.tencent import TencentCloudProvider

DB_ENV = "RECONCILER_CLOUD_DB"
DEFAULT_DB = Path(".reconciler") / "cloud.db"
PROVIDER_TYPES = ("local", "tencentcloud")


def cloud_db_override(db: str | None = None) -> Path | None:
    """The database named without any manifest: `db` (`--db`), else $RECONCILER_CLOUD_DB."""
    if db:
        return Path(db)
    from_env = os.environ.get(DB_ENV)
    return Path(from_env) if from_env else None


def default_cloud_db(stack_dir: Path) -> Path:
    """`<stack dir>/.reconciler/cloud.db`: where a Stack without `provider.path` keeps it."""
    return stack_dir / DEFAULT_DB


def local_cloud_db(stack: DesiredStack, stack_dir: Path, db: str | None = None) -> Path:
    """The simulated cloud's database (SPEC §6): `db` (`--db`), else $RECONCILER_CLOUD_DB,
    else `spec.provider.path` relative to the stack directory, else `.reconciler/cloud.db`."""
    override = cloud_db_override(db)
    if override is not None:
        return override
    if stack.provider.path:
        return stack_dir / stack.provider.path
    return default_cloud_db(stack_dir)


def build_provider(
    stack: DesiredStack,
    stack_dir: Path,
    *,
    db: str | None = None,
    clock: Clock | None = None,
) -> TencentCloudProvider:
    """The provider of this Stack; close it when done (it owns its transport)."""
    clock = clock or SystemClock()
    limiter = RateLimiter(clock)
    if stack.provider.type == "local":
        from reconciler.cloudsim import CloudSim

        path = local_cloud_db(stack, stack_dir, db)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        sim = CloudSim(path, clock=clock)
        transport = LocalTransport(sim, sim.own_account, owns_sim=True)
        return TencentCloudProvider(transport, sim.own_account, limiter=limiter)
    if stack.provider.type == "tencentcloud":
        from reconciler.provider.sdk_transport import make_sdk_transport

        sdk = make_sdk_transport(endpoint=stack.provider.endpoint, protocol=stack.provider.protocol)
        # The UIN may be "" (tag resource names then read `uin/`, as Terraform builds them).
        return TencentCloudProvider(
            sdk, sdk.account, limiter=limiter, credential=sdk.account or "default"
        )
    raise UsageError(
        f"{stack.source_ref}: Stack/{stack.name}: unknown provider type "
        f"{stack.provider.type!r} (expected one of: {', '.join(PROVIDER_TYPES)})"
    )


def lock_store_for(stack: DesiredStack, stack_dir: Path, *, db: str | None = None) -> LockStore:
    """Where this Stack's apply lock lives: the local cloud's database, or a file beside the
    manifests for the real cloud."""
    if stack.provider.type == "local":
        path = local_cloud_db(stack, stack_dir, db)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteLockStore(path)
    return FileLockStore(stack_dir)
