"""Test helpers: a fresh simulated cloud with instant timings, and the CLI run in-process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.cloudsim import CloudSim

OWN = "100000000001"


@dataclass(frozen=True, slots=True)
class Run:
    """The outcome of one CLI run."""

    exit_code: int
    stdout: str
    stderr: str


def instant_cloud(db: Path) -> CloudSim:
    """A simulated cloud at `db` whose creates, imports and copies finish at once."""
    sim = CloudSim(db)
    sim.update_settings(create_image_seconds=0, import_image_seconds=0, sync_image_seconds=0)
    return sim


def call(sim: CloudSim, action: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    """One CVM API call as the own account, "outside the stack"; fails the test on an API error."""
    response: dict[str, Any] = sim.handle(
        account=OWN,
        service="cvm",
        version="2017-03-12",
        action=action,
        region=region,
        params=params,
    )["Response"]
    assert "Error" not in response, response
    return response


def reconciler(*args: str) -> Run:
    """`reconciler ARGS` in-process."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)
