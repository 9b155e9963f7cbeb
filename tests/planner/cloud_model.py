"""A strict in-memory model of the image API that runs plan steps, for the planner's invariants.

It enforces the API rules the step order must respect (NORMAL before sync/share/modify, no
delete while shared or busy, unique names per region, ≤ 10 tags per call) and tells time
only through `Wait` steps: an image made by a step stays busy until a Wait on it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.model.observed import ImageState, ObservedCloud, ObservedImage, ObservedSnapshot
from reconciler.model.plan import Step, StepRef


class ApiRuleBroken(AssertionError):
    """A step broke a rule the real API enforces."""


def topological_orders(steps: tuple[Step, ...], rng: random.Random | None) -> list[Step]:
    """One valid order of the steps: ids order without `rng`, else a random topological order."""
    if rng is None:
        return list(steps)
    done: set[str] = set()
    left = list(steps)
    order = []
    while left:
        ready = [s for s in left if all(d in done for d in s.depends_on)]
        assert ready, "the step graph has a cycle or a missing dependency"
        step = rng.choice(ready)
        left.remove(step)
        done.add(step.id)
        order.append(step)
    return order


class CloudModel:
    def __init__(self, observed: ObservedCloud) -> None:
        self.base = observed
        self.images: dict[str, ObservedImage] = {i.image_id: i for i in observed.images}
        self.deleted_snapshots: set[str] = set()
        self.counter = 0
        self.calls: list[str] = []

    # ------------------------------------------------------------------ running steps

    def run(self, steps: tuple[Step, ...], rng: random.Random | None = None) -> None:
        outputs: dict[str, dict[str, str]] = {}
        for step in topological_orders(steps, rng):
            params = self._substitute(step.params, outputs)
            self.calls.append(step.operation)
            handler = getattr(self, f"_{step.operation}")
            outputs[step.id] = handler(step.region, params) or {}

    def _substitute(self, value: Any, outputs: Mapping[str, Mapping[str, str]]) -> Any:
        if isinstance(value, StepRef):
            return outputs[value.step][value.field]
        if isinstance(value, Mapping):
            return {k: self._substitute(v, outputs) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._substitute(v, outputs) for v in value]
        return value

    def observed(self) -> ObservedCloud:
        return replace(
            self.base, images=tuple(sorted(self.images.values(), key=lambda i: i.image_id))
        )

    # ------------------------------------------------------------------ helpers

    def _new_id(self, prefix: str) -> str:
        taken = set(self.images) | {
            s.snapshot_id for i in self.images.values() for s in i.snapshots
        }
        self.counter += 1
        while f"{prefix}-n{self.counter:07d}" in taken:
            self.counter += 1
        return f"{prefix}-n{self.counter:07d}"

    def _get(self, region: str, image_id: str) -> ObservedImage:
        image = self.images.get(image_id)
        if image is None or image.region != region:
            raise ApiRuleBroken(f"InvalidImageId.NotFound: {image_id} in {region}")
        return image

    def _normal(self, region: str, image_id: str, action: str) -> ObservedImage:
        image = self._get(region, image_id)
        if image.state is not ImageState.NORMAL:
            raise ApiRuleBroken(f"{action} on {image_id} in state {image.state.value}")
        return image

    def _name_free(self, region: str, name: str) -> None:
        for image in self.images.values():
            if image.region == region and image.name == name:
                raise ApiRuleBroken(f"InvalidImageName.Duplicate: {name} in {region}")

    def _put(self, image: ObservedImage) -> None:
        self.images[image.image_id] = image

    # ------------------------------------------------------------------ cvm

    def _make(self, region: str, params: Mapping[str, Any], state: ImageState) -> dict[str, str]:
        self._name_free(region, params["ImageName"])
        image_id = self._new_id("img")
        tags = {
            t["Key"]: t["Value"]
            for spec in params.get("TagSpecification", [])
            for t in spec["Tags"]
        }
        if "SnapshotIds" in params:
            # CreateImage from snapshots makes none: the image is bound to the given ones.
            system, *data = params["SnapshotIds"]
            snapshots = [ObservedSnapshot(system, "SYSTEM_DISK", 50)]
            snapshots += [ObservedSnapshot(snapshot, "DATA_DISK", 10) for snapshot in data]
        else:
            snapshots = [ObservedSnapshot(self._new_id("snap"), "SYSTEM_DISK", 50)]
            snapshots += [
                ObservedSnapshot(self._new_id("snap"), "DATA_DISK", 10)
                for _ in params.get("DataDiskIds", [])
            ]
        self._put(
            ObservedImage(
                image_id=image_id,
                region=region,
                name=params["ImageName"],
                description=params.get("ImageDescription", ""),
                family=params.get("ImageFamily", ""),
                state=state,
                size_gb=50,
                snapshots=tuple(snapshots),
                tags=tags,
                shares=(),
            )
        )
        return {"ImageId": image_id}

    def _CreateImage(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        if ("InstanceId" in params) == ("SnapshotIds" in params):
            raise ApiRuleBroken("InvalidParameter.SpecifyOneParameter")
        if params.get("ForcePoweroff") not in {None, "true", "false"}:
            raise ApiRuleBroken("ForcePoweroff must be the string true/false")
        return self._make(region, params, ImageState.CREATING)

    def _ImportImage(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        return self._make(region, params, ImageState.IMPORTING)

    def _Wait(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        image = self._get(region, params["ImageId"])
        if image.state.failed:
            raise ApiRuleBroken(f"{image.image_id} failed")
        self._put(replace(image, state=ImageState.NORMAL, sync_percent=None))
        return {"ImageId": image.image_id}

    def _SyncImages(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        if params.get("ImageSetRequired") is not True or len(params["ImageIds"]) != 1:
            raise ApiRuleBroken("SyncImages takes one image and ImageSetRequired=true")
        source = self._normal(region, params["ImageIds"][0], "SyncImages")
        outputs = {"ImageId": source.image_id}
        name = params.get("ImageName", source.name)
        for destination in params["DestinationRegions"]:
            if destination == region:
                raise ApiRuleBroken("SyncImages into the source region")
            self._name_free(destination, name)
            image_id = self._new_id("img")
            # Only name and description travel: no tags, family or deprecated flag.
            self._put(
                ObservedImage(
                    image_id=image_id,
                    region=destination,
                    name=name,
                    description=source.description,
                    state=ImageState.SYNCING,
                    sync_percent=0,
                    size_gb=source.size_gb,
                    snapshots=(ObservedSnapshot(self._new_id("snap"), "SYSTEM_DISK", 50),),
                    shares=(),
                )
            )
            outputs[f"ImageSet.{destination}"] = image_id
        self._put(replace(source, state=ImageState.SYNCING))
        return outputs

    def _ModifyImageAttribute(self, region: str, params: Mapping[str, Any]) -> None:
        image = self._normal(region, params["ImageId"], "ModifyImageAttribute")
        if image.shares:
            raise ApiRuleBroken(f"ModifyImageAttribute on the shared image {image.image_id}")
        changes: dict[str, Any] = {}
        if "ImageName" in params:
            if params["ImageName"] != image.name:
                self._name_free(region, params["ImageName"])
            changes["name"] = params["ImageName"]
        for param, attribute in (
            ("ImageDescription", "description"),
            ("ImageFamily", "family"),
            ("ImageDeprecated", "deprecated"),
        ):
            if param in params:
                changes[attribute] = params[param]
        self._put(replace(image, **changes))

    def _ModifyImageSharePermission(self, region: str, params: Mapping[str, Any]) -> None:
        image = self._normal(region, params["ImageId"], "ModifyImageSharePermission")
        accounts = set(image.shares or ())
        if params["Permission"] == "SHARE":
            accounts |= set(params["AccountIds"])
        else:
            accounts -= set(params["AccountIds"])
        self._put(replace(image, shares=tuple(sorted(accounts))))

    def _DeleteImages(self, region: str, params: Mapping[str, Any]) -> None:
        for image_id in params["ImageIds"]:
            image = self._get(region, image_id)
            if image.shares:
                raise ApiRuleBroken(f"InvalidImageId.InShared: {image_id}")
            if image.state.busy:
                raise ApiRuleBroken(f"InvalidImageId.IncorrectState: {image_id} {image.state}")
            if params["DeleteBindedSnap"]:
                self.deleted_snapshots |= {
                    s.snapshot_id for s in image.snapshots if s.disk_usage == "SYSTEM_DISK"
                }
            del self.images[image_id]

    def _DeleteSnapshots(self, region: str, params: Mapping[str, Any]) -> None:
        self.deleted_snapshots |= set(params["SnapshotIds"])

    # ------------------------------------------------------------------ tag

    def _ModifyResourceTags(self, region: str, params: Mapping[str, Any]) -> None:
        image = self._get(region, params["ImageId"])
        replace_tags = params.get("ReplaceTags")
        delete_tags = params.get("DeleteTags")
        for listed in (replace_tags, delete_tags):
            if listed is not None and not 1 <= len(listed) <= 10:
                raise ApiRuleBroken("ModifyResourceTags takes 1 to 10 tags per list")
        if not (replace_tags or delete_tags):
            raise ApiRuleBroken("ModifyResourceTags without tags")
        tags = dict(image.tags)
        for tag in delete_tags or ():
            tags.pop(tag["TagKey"], None)
        tags.update({t["TagKey"]: t["TagValue"] for t in replace_tags or ()})
        self._put(replace(image, tags=tags))

    def _UnTagResources(self, region: str, params: Mapping[str, Any]) -> None:
        image = self._get(region, params["ImageId"])
        if not 1 <= len(params["TagKeys"]) <= 10:
            raise ApiRuleBroken("UnTagResources takes 1 to 10 keys")
        self._put(
            replace(image, tags={k: v for k, v in image.tags.items() if k not in params["TagKeys"]})
        )


def apply_plan(
    observed: ObservedCloud, steps: Iterable[Step], rng: random.Random | None = None
) -> CloudModel:
    model = CloudModel(observed)
    model.run(tuple(steps), rng)
    return model
