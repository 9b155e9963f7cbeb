"""`reconciler import`: print manifests that adopt custom images made outside the stack (§3)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from reconciler import app
from reconciler.commands.errors import reported_errors
from reconciler.commands.plan import check_exists, db_option
from reconciler.errors import UsageError
from reconciler.model.desired import DesiredState
from reconciler.model.observed import ObservedImage
from reconciler.model.regions import is_region
from reconciler.provider.tencent import TencentCloudProvider

API_VERSION = "reconciler/v1"
NAME_MAX = 40
IMAGE_NAME_MAX = 51
"""`spec.imageName` limit: a longer live name is left unmanaged (imageName omitted)."""
_NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedImage:
    """A live custom image to adopt: the image, its live shares and its manifest name."""

    image: ObservedImage
    shares: tuple[str, ...]
    name: str


def manifest_name(text: str, taken: set[str]) -> str:
    """`text` as a valid, unused `metadata.name` (lowercase, `-`, ≤ 40); records it in `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:NAME_MAX].strip("-") or "image"
    candidate, n = base, 1
    while candidate in taken or not _NAME_PATTERN.match(candidate):
        n += 1
        suffix = f"-{n}"
        candidate = base[: NAME_MAX - len(suffix)].strip("-") + suffix
    taken.add(candidate)
    return candidate


def image_documents(imported: ImportedImage) -> list[dict[str, Any]]:
    """The Image document (`source: existing`) and, when shared, its ImageShare document."""
    image = imported.image
    spec: dict[str, Any] = {"region": image.region}
    if 0 < len(image.name) <= IMAGE_NAME_MAX:
        spec["imageName"] = image.name
    if image.description:
        spec["description"] = image.description
    if image.family:
        spec["family"] = image.family
    spec["deprecated"] = image.deprecated
    if image.user_tags:
        spec["tags"] = dict(sorted(image.user_tags.items()))
    spec["source"] = {"existing": {"imageId": image.image_id}}
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Image",
            "metadata": {"name": imported.name},
            "spec": spec,
        }
    ]
    if imported.shares:
        documents.append(
            {
                "apiVersion": API_VERSION,
                "kind": "ImageShare",
                "metadata": {"name": manifest_name(f"{imported.name}-shares", set())},
                "spec": {
                    "image": imported.name,
                    "accounts": list(imported.shares),
                    "regions": [image.region],
                },
            }
        )
    return documents


def render_documents(imported: Sequence[ImportedImage]) -> str:
    """The YAML of every imported image, one commented document set each."""
    parts: list[str] = []
    for entry in imported:
        image = entry.image
        header = (
            f"# Adopts {image.image_id} ({image.name!r}) in {image.region}: planning it only adds\n"
            "# the stack's ownership tags. `source: existing` defaults to deletionPolicy Retain.\n"
        )
        if len(image.name) > IMAGE_NAME_MAX:
            header += (
                f"# Its name is longer than {IMAGE_NAME_MAX} characters: imageName is omitted,\n"
                "# so the stack leaves the name as it is.\n"
            )
        body = yaml.safe_dump_all(
            image_documents(entry), sort_keys=False, allow_unicode=True, explicit_start=True
        )
        parts.append(header + body)
    return "".join(parts)


def _custom_image(provider: TencentCloudProvider, region: str, image_id: str) -> ObservedImage:
    # ImageIds and Filters can't be combined in one DescribeImages: list the custom images.
    for image in provider.describe_private_images(region):
        if image.image_id == image_id:
            return image
    raise UsageError(
        f"{image_id}: no custom image with this ID in {region} "
        "(public and shared-in images can't be imported)"
    )


def _check_unowned(image: ObservedImage, desired: DesiredState) -> None:
    if image.stack is None:
        return
    whose = "this stack" if image.stack == desired.stack.name else f"stack {image.stack!r}"
    raise UsageError(
        f"{image.image_id} in {image.region} is already managed by {whose}"
        + (f" as {image.address}" if image.address else "")
    )


def _adoptable(images: Iterable[ObservedImage]) -> list[ObservedImage]:
    return [i for i in images if i.stack is None and not i.state.failed]


def _imported(
    provider: TencentCloudProvider, images: Sequence[ObservedImage], desired: DesiredState
) -> list[ImportedImage]:
    taken = {image.name for image in desired.images}
    return [
        ImportedImage(
            image=image,
            shares=provider.share_accounts(image.region, image.image_id),
            name=manifest_name(image.name or image.image_id, taken),
        )
        for image in sorted(images, key=lambda i: (i.region, i.name, i.image_id))
    ]


def _warn_outside_regions(imported: Sequence[ImportedImage], desired: DesiredState) -> None:
    outside = sorted({e.image.region for e in imported} - set(desired.stack.regions))
    if outside:
        click.echo(
            f"Note: add {', '.join(outside)} to Stack.spec.regions before planning these "
            "documents.",
            err=True,
        )


@click.command("import")
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--region", metavar="R", help="The image's region (with --all-unmanaged: only this region)."
)
@click.option("--image-id", metavar="IMG", help="The ID of the custom image to import.")
@click.option(
    "--all-unmanaged",
    is_flag=True,
    help="Import every custom image that no stack manages, in the stack's regions.",
)
@db_option
def import_image(
    *,
    path: Path,
    region: str | None,
    image_id: str | None,
    all_unmanaged: bool,
    db: str | None,
) -> None:
    """Print manifests that adopt live images.

    Prints an Image (`source: existing`) and, when it is shared, an ImageShare per custom image
    made outside the stack. Add the output to the manifests in PATH; the next plan only adds
    the ownership tags.
    """
    with reported_errors():
        check_exists(path)
        if all_unmanaged == bool(image_id):
            raise UsageError("give either --region R --image-id IMG or --all-unmanaged")
        if image_id and not region:
            raise UsageError("--image-id needs --region")
        if region and not is_region(region):
            raise UsageError(f"--region {region}: not a Tencent Cloud region")
        desired = app.load(path)
        regions = [region] if region else list(desired.stack.regions)
        with app.open_provider(desired, path, app.Runtime(db=db)) as provider:
            if image_id and region:
                image = _custom_image(provider, region, image_id)
                if image.state.failed:
                    raise UsageError(f"{image_id} in {region} is {image.state.value}: not usable")
                _check_unowned(image, desired)
                found = [image]
            else:
                found = _adoptable(
                    image for r in regions for image in provider.describe_private_images(r)
                )
            imported = _imported(provider, found, desired)
        if not imported:
            click.echo("No unmanaged custom images in " + ", ".join(regions) + ".", err=True)
            return
        _warn_outside_regions(imported, desired)
        click.echo(render_documents(imported), nl=False)


__all__: Sequence[str] = ("ImportedImage", "image_documents", "import_image", "manifest_name")
