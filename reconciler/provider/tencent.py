"""The one provider: typed Tencent Cloud API calls over a transport, and the step vocabulary.

It never sleeps, retries or waits (except for a rate-limit token, through the clock): the
executor owns retries and waits. Retried steps are idempotent by construction (SPEC §7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.errors import (
    AlreadyExistsError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
)
from reconciler.model.observed import TAG_STACK, ImageState, ObservedImage, ObservedSnapshot
from reconciler.model.plan import API_OPERATIONS, IMAGE_MAKING_OPERATIONS
from reconciler.provider.ratelimit import RateLimiter
from reconciler.provider.transport import Transport

PAGE_SIZE = 100
"""DescribeImages `Limit` maximum."""

_DUPLICATE_NAME = "InvalidImageName.Duplicate"
_ALREADY_SHARED = "FailedOperation.AccountAlreadyExists"


def image_resource_name(region: str, account: str, image_id: str) -> str:
    """The tag service's six-segment name of an image."""
    return f"qcs::cvm:{region}:uin/{account}:image/{image_id}"


def parse_image(region: str, raw: Mapping[str, Any]) -> ObservedImage:
    """One `Image` object of DescribeImages as an ObservedImage (every field may be absent)."""
    image_id = str(raw.get("ImageId", ""))
    state_text = str(raw.get("ImageState") or "NORMAL")
    try:
        state = ImageState(state_text)
    except ValueError:
        raise ProviderError(
            "UnknownImageState", f"image {image_id} in {region} has unknown state {state_text!r}"
        ) from None
    tags = {str(tag.get("Key", "")): str(tag.get("Value", "")) for tag in raw.get("Tags") or ()}
    snapshots = tuple(
        ObservedSnapshot(
            str(snap.get("SnapshotId", "")),
            str(snap.get("DiskUsage", "")),
            int(snap.get("DiskSize") or 0),
        )
        for snap in raw.get("SnapshotSet") or ()
    )
    sync_percent = raw.get("SyncPercent")
    return ObservedImage(
        image_id=image_id,
        region=region,
        name=str(raw.get("ImageName") or ""),
        description=str(raw.get("ImageDescription") or ""),
        family=str(raw.get("ImageFamily") or ""),
        deprecated=bool(raw.get("ImageDeprecated") or False),
        state=state,
        sync_percent=None if sync_percent is None else int(sync_percent),
        size_gb=int(raw.get("ImageSize") or 0),
        snapshots=snapshots,
        tags=tags,
        license_type=str(raw.get("LicenseType") or "TencentCloud"),
        image_source=str(raw.get("ImageSource") or ""),
        os_name=str(raw.get("OsName") or ""),
        platform=str(raw.get("Platform") or ""),
        architecture=str(raw.get("Architecture") or ""),
        created_time=str(raw.get("CreatedTime") or ""),
    )


class TencentCloudProvider:
    """Speaks CVM `2017-03-12`, tag `2018-08-13` and CBS `2017-03-12` through one transport."""

    def __init__(
        self,
        transport: Transport,
        account: str,
        *,
        limiter: RateLimiter | None = None,
        credential: str | None = None,
    ) -> None:
        self.transport = transport
        self.account = account
        """The account's UIN (used in tag resource names)."""
        self._limiter = limiter
        self._credential = credential or account

    # -- the one I/O point -----------------------------------------------------------------

    def call(
        self, service: str, action: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """One API request (paced by the rate limiter); returns `Response` or raises mapped."""
        if self._limiter is not None:
            self._limiter.acquire(action, region, self._credential)
        return self.transport.call(service, action, region, params)

    def close(self) -> None:
        self.transport.close()

    # -- reads -------------------------------------------------------------------------------

    def _describe_pages(self, region: str, params: Mapping[str, Any]) -> list[ObservedImage]:
        images: list[ObservedImage] = []
        offset = 0
        while True:
            page = self.call(
                "cvm", "DescribeImages", region, {**params, "Offset": offset, "Limit": PAGE_SIZE}
            )
            batch = page.get("ImageSet") or []
            images.extend(parse_image(region, raw) for raw in batch)
            offset += len(batch)
            if not batch or offset >= int(page.get("TotalCount") or 0):
                return images

    def describe_private_images(self, region: str) -> list[ObservedImage]:
        """Every custom image of the account in `region` (all pages)."""
        return self._describe_pages(
            region, {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]}
        )

    def describe_images_by_id(self, region: str, ids: Sequence[str]) -> list[ObservedImage]:
        """The images with these IDs in `region` (unknown IDs are simply absent)."""
        images: list[ObservedImage] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), PAGE_SIZE):
            chunk = unique[start : start + PAGE_SIZE]
            page = self.call(
                "cvm", "DescribeImages", region, {"ImageIds": chunk, "Limit": PAGE_SIZE}
            )
            images.extend(parse_image(region, raw) for raw in page.get("ImageSet") or [])
        return images

    def find_by_exact_name(self, region: str, name: str) -> ObservedImage | None:
        """The custom image named exactly `name` (the `image-name` filter is fuzzy)."""
        candidates = self._describe_pages(
            region,
            {
                "Filters": [
                    {"Name": "image-type", "Values": ["PRIVATE_IMAGE"]},
                    {"Name": "image-name", "Values": [name]},
                ]
            },
        )
        return next((image for image in candidates if image.name == name), None)

    def share_accounts(self, region: str, image_id: str) -> tuple[str, ...]:
        """The accounts `image_id` is shared with, sorted."""
        response = self.call("cvm", "DescribeImageSharePermission", region, {"ImageId": image_id})
        return tuple(
            sorted(str(entry["AccountId"]) for entry in response.get("SharePermissionSet") or [])
        )

    def image_quota(self, region: str) -> int:
        """DescribeImageQuota: how many custom images the account may hold in `region`."""
        return int(self.call("cvm", "DescribeImageQuota", region, {})["ImageNumQuota"])

    def instance_disk_sizes(self, region: str, instance_ids: Sequence[str]) -> dict[str, int]:
        """DescribeInstances by ID: `{instance ID: its system disk's GiB, data disk ID: GiB}`.

        Up to 100 IDs per request (the API's limit); unknown instances are simply absent.
        """
        sizes: dict[str, int] = {}
        for chunk in _chunks(instance_ids):
            page = self.call(
                "cvm", "DescribeInstances", region, {"InstanceIds": chunk, "Limit": PAGE_SIZE}
            )
            for raw in page.get("InstanceSet") or []:
                system = raw.get("SystemDisk") or {}
                if system.get("DiskSize") is not None:
                    sizes[str(raw["InstanceId"])] = int(system["DiskSize"])
                for disk in raw.get("DataDisks") or []:
                    if disk.get("DiskId") and disk.get("DiskSize") is not None:
                        sizes[str(disk["DiskId"])] = int(disk["DiskSize"])
        return sizes

    def snapshot_sizes(self, region: str, snapshot_ids: Sequence[str]) -> dict[str, int]:
        """CBS DescribeSnapshots by ID: `{snapshot ID: its disk's GiB}`; unknown IDs are absent."""
        sizes: dict[str, int] = {}
        for chunk in _chunks(snapshot_ids):
            page = self.call(
                "cbs", "DescribeSnapshots", region, {"SnapshotIds": chunk, "Limit": PAGE_SIZE}
            )
            for raw in page.get("SnapshotSet") or []:
                if raw.get("DiskSize") is not None:
                    sizes[str(raw["SnapshotId"])] = int(raw["DiskSize"])
        return sizes

    # -- the step vocabulary -------------------------------------------------------------------

    def run_step(
        self, operation: str, service: str, region: str, params: Mapping[str, Any]
    ) -> dict[str, str]:
        """Run one plan step (params already substituted); returns its flat outputs."""
        if operation not in API_OPERATIONS:
            raise InvalidRequestError("UnknownStep", f"no such step operation: {operation}")
        if operation in IMAGE_MAKING_OPERATIONS:
            return self._create(operation, region, params)
        if operation == "SyncImages":
            return self._sync(region, params)
        if operation == "ModifyImageSharePermission":
            return self._modify_shares(region, params)
        if operation == "DeleteImages":
            return self._ignore_not_found("cvm", operation, region, params, "ImageIds")
        if operation == "DeleteSnapshots":
            return self._ignore_not_found("cbs", operation, region, params, "SnapshotIds")
        if operation == "ModifyResourceTags":
            return self._modify_tags(region, params)
        if operation == "UnTagResources":
            return self._untag(region, params)
        self.call(service, operation, region, params)
        return _image_output(params)

    def _create(self, action: str, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        try:
            response = self.call("cvm", action, region, params)
        except AlreadyExistsError as exc:
            if exc.code != _DUPLICATE_NAME:
                raise
            adopted = self.find_by_exact_name(region, str(params.get("ImageName", "")))
            if adopted is None or not _same_stack(adopted, params):
                raise
            return {"ImageId": adopted.image_id}
        return {"ImageId": str(response["ImageId"])}

    def _sync(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        source_id = str(next(iter(params["ImageIds"])))
        destinations = [str(r) for r in params["DestinationRegions"]]
        outputs = {"ImageId": source_id}
        try:
            response = self.call("cvm", "SyncImages", region, {**params, "ImageSetRequired": True})
            for entry in response.get("ImageSet") or []:
                outputs[f"ImageSet.{entry['Region']}"] = str(entry["ImageId"])
        except AlreadyExistsError as exc:
            if exc.code != _DUPLICATE_NAME:
                raise
        missing = [r for r in destinations if f"ImageSet.{r}" not in outputs]
        if not missing:
            return outputs
        # A duplicate name means an earlier (interrupted) copy already made some destinations.
        name = str(params.get("ImageName") or "")
        if not name:
            sources = self.describe_images_by_id(region, [source_id])
            if not sources:
                raise NotFoundError("InvalidImageId.NotFound", f"{source_id} not in {region}")
            name = sources[0].name
        still_missing = []
        for destination in missing:
            found = self.find_by_exact_name(destination, name)
            if found is None:
                still_missing.append(destination)
            else:
                outputs[f"ImageSet.{destination}"] = found.image_id
        if still_missing:
            response = self.call(
                "cvm",
                "SyncImages",
                region,
                {**params, "DestinationRegions": still_missing, "ImageSetRequired": True},
            )
            for entry in response.get("ImageSet") or []:
                outputs[f"ImageSet.{entry['Region']}"] = str(entry["ImageId"])
        return outputs

    def _modify_shares(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        image_id = str(params["ImageId"])
        accounts = [str(a) for a in params["AccountIds"]]
        permission = str(params["Permission"])
        try:
            self.call("cvm", "ModifyImageSharePermission", region, params)
        except ProviderError as exc:
            if permission == "SHARE" and exc.code == _ALREADY_SHARED:
                remaining = [a for a in accounts if a not in self.share_accounts(region, image_id)]
            elif permission == "CANCEL" and not exc.retryable:
                if isinstance(exc, NotFoundError) and exc.code.startswith("InvalidImageId"):
                    return {"ImageId": image_id}  # no image, no share
                remaining = [a for a in accounts if a in self.share_accounts(region, image_id)]
                if len(remaining) == len(accounts):
                    raise  # every account is still shared: the refusal was real
            else:
                raise
            if remaining:
                self.call(
                    "cvm", "ModifyImageSharePermission", region, {**params, "AccountIds": remaining}
                )
        return {"ImageId": image_id}

    def _ignore_not_found(
        self, service: str, action: str, region: str, params: Mapping[str, Any], key: str
    ) -> dict[str, str]:
        ids = [str(i) for i in params[key]]
        try:
            self.call(service, action, region, params)
        except NotFoundError:
            if len(ids) > 1:  # one unknown ID may have failed the whole batch: one at a time
                for single in ids:
                    self._ignore_not_found(service, action, region, {**params, key: [single]}, key)
        return _image_output(params)

    def _modify_tags(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        image_id = str(params["ImageId"])
        request: dict[str, Any] = {"Resource": image_resource_name(region, self.account, image_id)}
        for key in ("ReplaceTags", "DeleteTags"):
            if params.get(key):
                request[key] = list(params[key])
        if len(request) > 1:
            self.call("tag", "ModifyResourceTags", region, request)
        return {"ImageId": image_id}

    def _untag(self, region: str, params: Mapping[str, Any]) -> dict[str, str]:
        image_id = str(params["ImageId"])
        keys = list(params.get("TagKeys") or [])
        if keys:
            self.call(
                "tag",
                "UnTagResources",
                region,
                {
                    "ResourceList": [image_resource_name(region, self.account, image_id)],
                    "TagKeys": keys,
                },
            )
        return {"ImageId": image_id}


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    """The distinct `ids` in request-sized chunks (the APIs take at most 100 IDs a call)."""
    unique = list(dict.fromkeys(ids))
    return [unique[start : start + PAGE_SIZE] for start in range(0, len(unique), PAGE_SIZE)]


def _image_output(params: Mapping[str, Any]) -> dict[str, str]:
    if "ImageId" in params:
        return {"ImageId": str(params["ImageId"])}
    ids: Iterable[Any] = params.get("ImageIds") or ()
    first = next(iter(ids), None)
    return {} if first is None else {"ImageId": str(first)}


def _same_stack(image: ObservedImage, params: Mapping[str, Any]) -> bool:
    """An image found by name may be adopted unless it carries another stack's tag."""
    owner = image.tags.get(TAG_STACK)
    if owner is None:
        return True
    for spec in params.get("TagSpecification") or ():
        for tag in spec.get("Tags") or ():
            if tag.get("Key") == TAG_STACK:
                return bool(tag.get("Value") == owner)
    return False
