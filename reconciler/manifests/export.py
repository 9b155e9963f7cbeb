"""The manifests that adopt live custom images (`reconciler import`): names, documents, YAML."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.manifests.schemas import NAME_MAX, name_pattern
from reconciler.manifests.validate import API_VERSION
from reconciler.model.generation import IMAGE_NAME_MAX
from reconciler.model.observed import ObservedImage


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedImage:
    """A live custom image to adopt: the image, its live shares and its manifest name."""

    image: ObservedImage
    shares: tuple[str, ...]
    name: str


def manifest_name(text: str, taken: set[str]) -> str:
    """`text` as a valid, unused `metadata.name` (lowercase, `-`, ≤ 40); records it in `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:NAME_MAX].strip("-") or "image"
    valid = name_pattern()
    candidate, n = base, 1
    while candidate in taken or not valid.match(candidate):
        n += 1
        suffix = f"-{n}"
        candidate = base[: NAME_MAX - len(suffix)].strip("-") + suffix
    taken.add(candidate)
    return candidate


def image_documents(imported: ImportedImage) -> list[dict[str, Any]]:
    """The Image document (`source: existing`) and, when shared, its ImageShare document.

    A live name longer than `IMAGE_NAME_MAX` is left unmanaged (`imageName` omitted)."""
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
