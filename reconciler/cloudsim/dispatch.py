"""`CloudSim`: the simulated Tencent Cloud's single entry point, returning the real envelope."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from reconciler.cloudsim import admin, cbs, cvm, faults, images, instances, inventory, tag
from reconciler.cloudsim.admin import Account
from reconciler.cloudsim.clock import Clock, SystemClock
from reconciler.cloudsim.context import Action, CallContext
from reconciler.cloudsim.errors import INTERNAL_ERROR_MESSAGE, ApiError
from reconciler.cloudsim.params import validate
from reconciler.cloudsim.regions import is_region
from reconciler.cloudsim.settings import Settings, check_setting, load_settings, save_settings
from reconciler.cloudsim.store import CLOUD_TABLES, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICES: Mapping[str, tuple[str, Mapping[str, Action]]] = {
    "cvm": ("2017-03-12", {**cvm.ACTIONS, **instances.ACTIONS}),
    "cbs": ("2017-03-12", cbs.ACTIONS),
    "tag": ("2018-08-13", tag.ACTIONS),
}
"""Each service's API version and actions."""
KNOWN_ACTIONS: frozenset[str] = frozenset(
    name for _, actions in SERVICES.values() for name in actions
)
"""Every action the dispatcher serves (what a fault, throttle or latency may name, besides `*`)."""


class CloudSim:
    """A persistent simulated Tencent Cloud (CVM images, CBS snapshots, tags) in one SQLite file.

    `handle` is what the in-process transport and the HTTP emulator call; the other methods
    administer the cloud (inventory, faults, settings) for tests and `reconciler cloud`.
    """

    own_account = inventory.OWN_ACCOUNT

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.path = str(path)
        self._store = Store(path)
        self._store.initialize(lambda db: inventory.seed(db, self.clock.now()))

    # --- the API -------------------------------------------------------------------------

    def handle(
        self,
        *,
        account: str,
        service: str,
        version: str,
        action: str,
        region: str,
        params: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Answer one API request as `account`: `{"Response": {..., "RequestId"}}`, never raising
        for API-level problems (an unexpected failure is an `InternalError` envelope)."""
        request_id = str(uuid.uuid4())
        try:
            body = self._answer(
                account=account,
                service=service,
                version=version,
                action=action,
                region=region,
                params=params,
            )
        except ApiError as error:
            return {
                "Response": {
                    "Error": {"Code": error.code, "Message": error.message},
                    "RequestId": request_id,
                }
            }
        except Exception:
            log.exception("simulated cloud failed on %s %s", service, action)
            return {
                "Response": {
                    "Error": {
                        "Code": "InternalError",
                        "Message": INTERNAL_ERROR_MESSAGE,
                    },
                    "RequestId": request_id,
                }
            }
        return {"Response": {**body, "RequestId": request_id}}

    def _answer(
        self,
        *,
        account: str,
        service: str,
        version: str,
        action: str,
        region: str,
        params: Mapping[str, Any],
    ) -> dict[str, Any]:
        if service not in SERVICES:
            raise ApiError("InvalidAction", f"The service `{service}` is not supported.")
        expected_version, actions = SERVICES[service]
        if version != expected_version:
            raise ApiError(
                "NoSuchVersion",
                f"The API version `{version}` of `{service}` does not exist "
                f"(use {expected_version}).",
            )
        if action not in actions:
            raise ApiError("InvalidAction", f"The action `{action}` of `{service}` is not valid.")
        if not is_region(region):
            raise ApiError("InvalidRegion.NotFound", f"The region `{region}` does not exist.")
        with self._store.transaction() as db:
            delay = faults.latency_ms(db, action)
        if delay:
            self.clock.sleep(delay / 1000)
        failure: ApiError | None = None
        result: dict[str, Any] = {}
        with self._context(account, region) as ctx:
            if ctx.db.execute("SELECT 1 FROM accounts WHERE uin=?", (account,)).fetchone() is None:
                raise ApiError(
                    "AuthFailure.UnauthorizedOperation", f"The account `{account}` does not exist."
                )
            try:
                faults.check_throttle(ctx.db, action, account, region, ctx.now)
                checked = validate(actions[action].params, params)
                faults.check_fault(ctx.db, action, ctx.rng)
                with self._store.savepoint(ctx.db):
                    result = actions[action].handler(ctx, checked)
            except ApiError as error:
                failure = error  # committed: throttle counts, fault countdown, settled states
        if failure is not None:
            raise failure
        return result

    @contextmanager
    def _context(self, account: str, region: str) -> Iterator[CallContext]:
        """One transaction with the states settled and the seeded generator of this call."""
        with self._store.transaction() as db:
            now = self.clock.now()
            images.settle(db, now)
            settings = load_settings(db)
            yield CallContext(db, account, region, now, settings, self._rng(db, settings))

    @staticmethod
    def _rng(db: sqlite3.Connection, settings: Settings) -> random.Random:
        row = db.execute("SELECT value FROM counters WHERE name='rng'").fetchone()
        draw = int(row[0]) if row else 0
        db.execute(
            "INSERT INTO counters VALUES ('rng', ?) ON CONFLICT(name) DO UPDATE SET value=?",
            (draw + 1, draw + 1),
        )
        return random.Random(f"{settings.seed}:{draw}")

    # --- accounts ------------------------------------------------------------------------

    def credentials(self) -> list[Account]:
        """Every account with its SecretId/SecretKey."""
        return self._read(admin.accounts)

    def account_for_secret_id(self, secret_id: str) -> Account | None:
        """The account owning a SecretId (the HTTP emulator verifies signatures with it)."""
        return next((a for a in self.credentials() if a.secret_id == secret_id), None)

    def add_account(self, uin: str | None = None) -> Account:
        """Create an account (the next free UIN unless given); ValueError if taken or malformed."""
        return self._admin(lambda ctx: admin.add_account(ctx, uin))

    # --- inventory -----------------------------------------------------------------------

    def add_instance(
        self,
        region: str,
        zone: str | None = None,
        account: str | None = None,
        *,
        platform: str = "TencentOS",
        data_disk_sizes: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """Create a running instance (each disk snapshotted); returns DescribeInstances' object."""
        return self._admin(
            lambda ctx: admin.add_instance(
                ctx, zone=zone, platform=platform, data_disk_sizes=data_disk_sizes
            ),
            account=account,
            region=region,
        )

    def add_image(
        self,
        region: str,
        *,
        image_id: str | None = None,
        name: str | None = None,
        account: str | None = None,
        description: str = "",
        platform: str = "TencentOS",
        size_gb: int = 50,
        data_disk_sizes: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """Create a NORMAL, untagged custom image as if built outside the API (e.g. by Packer):
        ImageSource CREATE_IMAGE, a snapshot of each disk in CBS. `image_id` (`img-` + 8 of
        [0-9a-z], unused) defaults to a fresh one, `name` to `image-<id suffix>`; returns the
        image with the API's field names (plus `Region`). ValueError on bad input."""
        return self._admin(
            lambda ctx: admin.add_image(
                ctx,
                image_id=image_id,
                name=name,
                description=description,
                platform=platform,
                size=size_gb,
                data_disk_sizes=tuple(data_disk_sizes),
            ),
            account=account,
            region=region,
        )

    def instances(self, account: str | None = None) -> list[dict[str, Any]]:
        """Instances with the API's field names (plus `Region` and `Owner`)."""
        return self._admin(lambda ctx: admin.list_instances(ctx.db, account))

    def images(
        self, region: str | None = None, account: str | None = None, *, include_public: bool = False
    ) -> list[dict[str, Any]]:
        """The images an account (default: the own one) sees, with the API's field names."""
        return self._admin(
            lambda ctx: admin.list_images(ctx, region=region, include_public=include_public),
            account=account,
        )

    def reset(self, *, settings: bool = False) -> None:
        """Back to the pinned demo inventory, without faults; `settings=True` also resets them."""
        with self._store.transaction() as db:
            for table in CLOUD_TABLES:
                db.execute(f"DELETE FROM {table}")
            inventory.seed_inventory(db, self.clock.now())
            if settings:
                db.execute("DELETE FROM settings")
                save_settings(db, Settings(seed=random.SystemRandom().randrange(2**31)))

    # --- faults and settings -------------------------------------------------------------

    def set_fault(
        self,
        action: str,
        code: str,
        probability: float | None = None,
        count: int | None = None,
        *,
        message: str | None = None,
    ) -> None:
        """Make `action` (`*`: any) fail with `code`: by probability, the next `count` calls, or
        always. ValueError for an unknown action, a malformed code, a probability outside [0, 1]
        or a count below 1."""
        self._write(
            lambda db: faults.set_fault(
                db,
                action,
                code,
                known_actions=KNOWN_ACTIONS,
                probability=probability,
                count=count,
                message=message,
            )
        )

    def set_throttle(self, action: str, rate_per_second: float) -> None:
        """Throttle `action` (`*`: any) to `rate_per_second` calls per account and region;
        ValueError for an unknown action or a rate that is not a finite number above 0."""
        self._write(
            lambda db: faults.set_throttle(db, action, rate_per_second, known_actions=KNOWN_ACTIONS)
        )

    def set_latency(self, action: str, ms: int) -> None:
        """Add `ms` milliseconds of latency to `action` (`*`: any), on the clock; ValueError for an
        unknown action or `ms` outside 0-600000."""
        self._write(lambda db: faults.set_latency(db, action, ms, known_actions=KNOWN_ACTIONS))

    def clear_faults(self) -> None:
        """Remove every fault, throttle and latency."""
        self._write(faults.clear)

    def faults(self) -> faults.FaultConfig:
        """The faults, throttles and latencies in force."""
        return self._read(faults.config)

    def settings(self) -> Settings:
        """The current settings."""
        return self._read(load_settings)

    def update_settings(self, **changes: Any) -> Settings:
        """Change some settings (e.g. `create_image_seconds=0`); returns the new settings."""
        for name, value in changes.items():
            check_setting(name, value)

        def update(db: sqlite3.Connection) -> Settings:
            new = dataclasses.replace(load_settings(db), **changes)
            save_settings(db, new)
            return new

        return self._write(update)

    def close(self) -> None:
        """Close the database."""
        self._store.close()

    # --- plumbing ------------------------------------------------------------------------

    def _read(self, read: Callable[[sqlite3.Connection], T]) -> T:
        with self._store.transaction() as db:
            return read(db)

    def _write(self, write: Callable[[sqlite3.Connection], T]) -> T:
        with self._store.transaction() as db:
            return write(db)

    def _admin(
        self,
        work: Callable[[CallContext], T],
        *,
        account: str | None = None,
        region: str = "ap-guangzhou",
    ) -> T:
        with self._context(account or self.own_account, region) as ctx:
            return work(ctx)
