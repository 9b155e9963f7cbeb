"""Golden tests of the generation hash (SPEC §3), cloud names and the region list."""

from __future__ import annotations

import hashlib

import pytest

from reconciler.model.desired import (
    ExistingSource,
    ImageSource,
    ImportSource,
    InstanceSource,
    SnapshotsSource,
)
from reconciler.model.generation import (
    canonical_json,
    generation_of,
    name_with_generation,
    source_document,
)
from reconciler.model.regions import REGIONS, is_region

WEB = InstanceSource(instance_id="ins-demo0001")


def test_canonical_json_sorts_keys_without_spaces() -> None:
    assert canonical_json({"b": [1, {"d": 1, "c": "é"}], "a": True}) == (
        '{"a":true,"b":[1,{"c":"é","d":1}]}'
    )


def test_generation_is_sha256_of_the_canonical_document() -> None:
    document = (
        '{"address":"image.web-base","region":"ap-guangzhou",'
        '"source":{"instance":{"dataDiskIds":[],"id":"ins-demo0001"}},"stack":"prod"}'
    )
    expected = hashlib.sha256(document.encode()).hexdigest()
    assert generation_of("prod", "image.web-base", "ap-guangzhou", WEB) == expected


@pytest.mark.parametrize(
    ("address", "source", "revision", "golden"),
    [
        (
            "image.web-base",
            WEB,
            0,
            "fe0ae3c6f2a852f459822bb43f3f55f950d3248673f061e9c88684ab9b77398c",
        ),
        (
            "image.web-base",
            WEB,
            1,
            "246a79e448ee6326f2d5c1455bd270d0bf7cedac88bb49ca69af52d554604fba",
        ),
        (
            "image.web-base",
            SnapshotsSource(system="snap-demo0002", data=("snap-aaaaaaaa",)),
            0,
            "9241848f6b3736b4160875c0670ff4baafaf34ddfa79ab7fdf2d3b7a009b32c8",
        ),
        (
            "image.c7",
            ImportSource(
                url="https://b-1.cos.ap-guangzhou.myqcloud.com/c7.qcow2",
                os_type="CentOS",
                os_version="7",
            ),
            0,
            "192d85d8b4eb68ab92835882bf943aaf7cf1f55bb0c64f2ff70ce67ef49fcb3b",
        ),
        (
            "image.packer-web",
            ExistingSource(image_id="img-pkrdemo1"),
            0,
            "37d0875ddf84f047d89e833a25310ba6eaa50d4796c560a333341e8449e5435f",
        ),
    ],
)
def test_golden_generations(address: str, source: ImageSource, revision: int, golden: str) -> None:
    assert generation_of("prod", address, "ap-guangzhou", source, revision) == golden


def test_power_off_and_sysprep_do_not_change_the_generation() -> None:
    quiet = InstanceSource(instance_id="ins-demo0001", force_poweroff=True, sysprep=True)
    assert generation_of("prod", "image.a", "ap-guangzhou", quiet) == generation_of(
        "prod", "image.a", "ap-guangzhou", WEB
    )


@pytest.mark.parametrize(
    "changed",
    [
        ("staging", "image.a", "ap-guangzhou", WEB),
        ("prod", "image.b", "ap-guangzhou", WEB),
        ("prod", "image.a", "ap-shanghai", WEB),
        ("prod", "image.a", "ap-guangzhou", InstanceSource(instance_id="ins-demo0004")),
        (
            "prod",
            "image.a",
            "ap-guangzhou",
            InstanceSource(instance_id="ins-demo0001", data_disk_ids=("disk-aaaaaaaa",)),
        ),
    ],
)
def test_every_input_changes_the_generation(changed: tuple[str, str, str, ImageSource]) -> None:
    assert generation_of(*changed) != generation_of("prod", "image.a", "ap-guangzhou", WEB)


def test_import_defaults_are_hashed_filled_in() -> None:
    implicit = ImportSource(url="https://x/y.qcow2", os_type="CentOS", os_version="7")
    explicit = ImportSource(
        url="https://x/y.qcow2",
        os_type="CentOS",
        os_version="7",
        architecture="x86_64",
        boot_mode="Legacy BIOS",
        license_type="TencentCloud",
        force=False,
    )
    assert (
        source_document(implicit)
        == source_document(explicit)
        == {
            "import": {
                "url": "https://x/y.qcow2",
                "osType": "CentOS",
                "osVersion": "7",
                "architecture": "x86_64",
                "bootMode": "Legacy BIOS",
                "licenseType": "TencentCloud",
                "force": False,
            }
        }
    )


def test_source_documents() -> None:
    assert source_document(WEB) == {"instance": {"id": "ins-demo0001", "dataDiskIds": []}}
    assert source_document(SnapshotsSource(system="snap-a")) == {
        "snapshots": {"system": "snap-a", "data": []}
    }
    assert source_document(ExistingSource(image_id="img-1")) == {"existing": {"imageId": "img-1"}}


def test_name_with_generation_fits_sixty_characters() -> None:
    name = name_with_generation("n" * 60, "0123456789abcdef")
    assert name == "n" * 51 + "-01234567"
    assert len(name) == 60


def test_region_list() -> None:
    assert len(REGIONS) == len(set(REGIONS)) == 22
    assert is_region("ap-guangzhou")
    assert not is_region("ap-guangzou")
