"""Looking into the simulated cloud from tests: reads through CloudSim, changes through the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.cloudsim import CloudSim
from reconciler.model.observed import TAG_PREFIX, TAG_STACK
from reconciler.model.regions import REGIONS
from reconciler.provider.transport import API_VERSIONS

from .runner import run_cli

OWN_ACCOUNT = "100000000001"


def zero_timings(db: Path) -> None:
    """Create the cloud (demo inventory) with create/import/sync finishing at once."""
    sim = CloudSim(db)
    try:
        sim.update_settings(create_image_seconds=0, import_image_seconds=0, sync_image_seconds=0)
    finally:
        sim.close()


@dataclass(frozen=True, slots=True)
class CloudImage:
    """A private image as the tests look at it."""

    image_id: str
    region: str
    name: str
    description: str
    state: str
    tags: Mapping[str, str]
    shares: tuple[str, ...] = field(default=())
    snapshots: tuple[str, ...] = field(default=())

    @property
    def managed(self) -> bool:
        return any(k.startswith(TAG_PREFIX) for k in self.tags)


@dataclass(frozen=True, slots=True)
class CloudProbe:
    """Direct access to one simulated cloud database."""

    db: Path

    def request(
        self, action: str, region: str, params: Mapping[str, Any], service: str = "cvm"
    ) -> dict[str, Any]:
        sim = CloudSim(self.db)
        try:
            envelope = sim.handle(
                account=OWN_ACCOUNT,
                service=service,
                version=API_VERSIONS[service],
                action=action,
                region=region,
                params=params,
            )
        finally:
            sim.close()
        response: dict[str, Any] = envelope["Response"]
        assert "Error" not in response, response
        return response

    def call(
        self, action: str, region: str, params: Mapping[str, Any], service: str = "cvm"
    ) -> str:
        """`reconciler cloud call ...`: a change made outside the stack, as a user would."""
        result = run_cli(
            "cloud", "call", action, "--region", region, "--service", service,
            "--params", json.dumps(params), "--db", str(self.db),
        )  # fmt: skip
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout

    def images(self, region: str) -> list[CloudImage]:
        """Every private image of the own account in `region`, with shares."""
        found: list[CloudImage] = []
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
                tags = {t["Key"]: t["Value"] for t in raw.get("Tags") or []}
                shares = self.request(
                    "DescribeImageSharePermission", region, {"ImageId": raw["ImageId"]}
                ).get("SharePermissionSet", [])
                found.append(
                    CloudImage(
                        image_id=raw["ImageId"],
                        region=region,
                        name=raw["ImageName"],
                        description=raw.get("ImageDescription", ""),
                        state=raw["ImageState"],
                        tags=tags,
                        shares=tuple(sorted(s["AccountId"] for s in shares)),
                        snapshots=tuple(s["SnapshotId"] for s in raw.get("SnapshotSet") or []),
                    )
                )
            offset += 100
            if offset >= page["TotalCount"]:
                return found

    def all_images(self, regions: tuple[str, ...] = REGIONS[:0]) -> list[CloudImage]:
        """Private images in the given regions (default: the quickstart's and ap-beijing)."""
        wanted = regions or ("ap-guangzhou", "ap-shanghai", "ap-singapore", "ap-beijing")
        return [image for region in wanted for image in self.images(region)]

    def owned(self, stack: str) -> list[CloudImage]:
        return [i for i in self.all_images() if i.tags.get(TAG_STACK) == stack]

    def snapshot_ids(self, region: str) -> set[str]:
        response = self.request("DescribeSnapshots", region, {"Limit": 100}, service="cbs")
        return {s["SnapshotId"] for s in response.get("SnapshotSet", [])}
