"""Compatibility: the SDK's typed CvmClient (tencentcloud-sdk-python-cvm) against the emulator."""

from __future__ import annotations

import json

import pytest
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client, models

from .wire import PARTNER_UIN, Emulator, Keys


def _client(emulator: Emulator, keys: Keys, region: str = "ap-guangzhou") -> cvm_client.CvmClient:
    profile = ClientProfile(
        httpProfile=HttpProfile(endpoint=f"127.0.0.1:{emulator.port}", protocol="http"),
        language="en-US",
    )
    return cvm_client.CvmClient(Credential(keys.secret_id, keys.secret_key), region, profile)


def _describe(client: cvm_client.CvmClient, **fields: object) -> models.DescribeImagesResponse:
    request = models.DescribeImagesRequest()
    request.from_json_string(json.dumps(fields))
    return client.DescribeImages(request)


def _private(client: cvm_client.CvmClient) -> list[models.Image]:
    return _describe(
        client, Filters=[{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}], Limit=100
    ).ImageSet


def _create_normal_image(emulator: Emulator, client: cvm_client.CvmClient, name: str) -> str:
    request = models.CreateImageRequest()
    request.InstanceId = "ins-demo0001"
    request.ImageName = name
    request.ImageDescription = "made by the typed CvmClient"
    created = client.CreateImage(request)
    emulator.clock.advance(3600)
    return str(created.ImageId)


def test_describe_images_typed(emulator: Emulator) -> None:
    client = _client(emulator, emulator.keys())
    answer = _describe(client, Filters=[{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}])
    assert isinstance(answer, models.DescribeImagesResponse)
    assert answer.TotalCount >= len(answer.ImageSet) > 0
    assert all(isinstance(image, models.Image) for image in answer.ImageSet)
    assert {image.ImageType for image in answer.ImageSet} == {"PUBLIC_IMAGE"}
    assert answer.RequestId


def test_create_image_then_normal(emulator: Emulator) -> None:
    client = _client(emulator, emulator.keys())
    request = models.CreateImageRequest()
    request.InstanceId = "ins-demo0001"
    request.ImageName = "typed-create"
    created = client.CreateImage(request)
    assert created.ImageId.startswith("img-")
    before = _describe(client, ImageIds=[created.ImageId]).ImageSet[0]
    assert before.ImageState == "CREATING"
    emulator.clock.advance(3600)
    after = _describe(client, ImageIds=[created.ImageId]).ImageSet[0]
    assert after.ImageState == "NORMAL"
    assert after.ImageName == "typed-create"
    assert after.SnapshotSet


def test_sync_images_returns_the_copies(emulator: Emulator) -> None:
    client = _client(emulator, emulator.keys())
    image_id = _create_normal_image(emulator, client, "typed-sync")
    request = models.SyncImagesRequest()
    request.ImageIds = [image_id]
    request.DestinationRegions = ["ap-shanghai"]
    request.ImageSetRequired = True
    answer = client.SyncImages(request)
    assert [(item.Region, item.ImageId.startswith("img-")) for item in answer.ImageSet] == [
        ("ap-shanghai", True)
    ]
    emulator.clock.advance(3600)
    shanghai = _client(emulator, emulator.keys(), "ap-shanghai")
    copy = _describe(shanghai, ImageIds=[answer.ImageSet[0].ImageId]).ImageSet[0]
    assert (copy.ImageName, copy.ImageState) == ("typed-sync", "NORMAL")


def test_share_is_seen_by_the_recipient_and_blocks_deletion(emulator: Emulator) -> None:
    owner = _client(emulator, emulator.keys())
    partner = _client(emulator, emulator.keys(PARTNER_UIN))
    image_id = _create_normal_image(emulator, owner, "typed-share")

    share = models.ModifyImageSharePermissionRequest()
    share.ImageId = image_id
    share.AccountIds = [PARTNER_UIN]
    share.Permission = "SHARE"
    assert owner.ModifyImageSharePermission(share).RequestId

    shared_in = _describe(
        partner, Filters=[{"Name": "image-type", "Values": ["SHARED_IMAGE"]}]
    ).ImageSet
    assert image_id in {image.ImageId for image in shared_in}

    delete = models.DeleteImagesRequest()
    delete.ImageIds = [image_id]
    with pytest.raises(TencentCloudSDKException) as refused:
        owner.DeleteImages(delete)
    assert refused.value.code == "InvalidImageId.InShared"

    share.Permission = "CANCEL"
    owner.ModifyImageSharePermission(share)
    owner.DeleteImages(delete)
    assert _describe(owner, ImageIds=[image_id]).ImageSet == []
    assert image_id not in {image.ImageId for image in _private(owner)}


def test_api_errors_raise_with_the_real_code(emulator: Emulator) -> None:
    """The exact Content-Type makes the SDK read error bodies (reference §4 pitfall)."""
    client = _client(emulator, emulator.keys())
    delete = models.DeleteImagesRequest()
    delete.ImageIds = ["img-00000000"]
    with pytest.raises(TencentCloudSDKException) as refused:
        client.DeleteImages(delete)
    assert refused.value.code == "InvalidImageId.NotFound"
    assert refused.value.requestId


def test_wrong_key_raises_signature_failure(emulator: Emulator) -> None:
    own = emulator.keys()
    client = _client(emulator, Keys(own.uin, own.secret_id, "not-the-secret-key"))
    with pytest.raises(TencentCloudSDKException) as refused:
        _describe(client)
    assert refused.value.code == "AuthFailure.SignatureFailure"
