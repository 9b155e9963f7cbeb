"""Checks across documents that no schema can express (SPEC §2 "Validation and bad input")."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from reconciler.manifests.desired import image_names, image_source, share_regions
from reconciler.manifests.documents import CheckedDocument
from reconciler.manifests.problems import Problem, quote
from reconciler.manifests.schema_messages import did_you_mean
from reconciler.model.desired import ImportSource

MAX_ACCOUNTS_PER_IMAGE_REGION = 500
MAX_IMAGES_PER_REGION = 500


@dataclass(slots=True)
class _Context:
    """What the checks learn about the stack while they run."""

    documents: list[CheckedDocument]
    complete: bool
    """Every file was read: checks about missing things can be trusted."""
    root: str
    problems: list[Problem] = field(default_factory=list)
    stack_regions: set[str] | None = None
    images: dict[str, CheckedDocument] = field(default_factory=dict)
    image_names: set[str] = field(default_factory=set)
    copy_regions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def valid(self, kind: str) -> list[CheckedDocument]:
        return [d for d in self.documents if d.kind == kind and d.valid]

    def of_kind(self, kind: str) -> list[CheckedDocument]:
        """Every document of `kind`, valid or not: checks guard each field with `field_ok`."""
        return [d for d in self.documents if d.kind == kind]


def check_semantics(
    documents: list[CheckedDocument], *, complete: bool, root: str
) -> list[Problem]:
    """Every cross-document problem; `complete` is False when some file could not be read."""
    context = _Context(documents, complete, root)
    _check_stack(context)
    _check_duplicate_names(context)
    _check_images(context)
    _check_copies(context)
    _check_shares(context)
    _check_images_per_region(context)
    _check_cloud_names(context)
    return context.problems


def _check_stack(context: _Context) -> None:
    stacks = [d for d in context.documents if d.kind == "Stack"]
    if not stacks and context.complete:
        context.problems.append(
            Problem(
                context.root,
                0,
                0,
                "",
                "",
                "",
                "no Stack document: exactly one `kind: Stack` is required per manifest directory",
            )
        )
    for extra in stacks[1:]:
        first = stacks[0]
        context.problems.append(
            extra.problem(
                ("kind",),
                f"a second Stack: exactly one is allowed (the first is {quote(first.name)} "
                f"at {first.where(('kind',))})",
            )
        )
    if len(stacks) == 1 and stacks[0].field_ok(("spec", "regions"), list):
        context.stack_regions = set(stacks[0].spec["regions"])
    if len(stacks) == 1 and stacks[0].valid:
        stack = stacks[0]
        provider = stack.spec.get("provider", {})
        kind = provider.get("type", "local")
        for key, only in (
            ("path", "local"),
            ("endpoint", "tencentcloud"),
            ("protocol", "tencentcloud"),
        ):
            if key in provider and kind != only:
                context.problems.append(
                    stack.problem(
                        ("spec", "provider", key),
                        f"spec.provider.{key} applies only to type {only} (this one is {kind})",
                        at_key=True,
                    )
                )


def _check_duplicate_names(context: _Context) -> None:
    first_by_name: dict[tuple[str, str], CheckedDocument] = {}
    for document in context.documents:
        if not document.name or document.kind == "Stack":
            continue
        key = (document.kind, document.name)
        first = first_by_name.setdefault(key, document)
        if first is not document:
            context.problems.append(
                document.problem(
                    ("metadata", "name"),
                    f"duplicate {document.kind} name {quote(document.name)} "
                    f"(first declared at {first.where(('metadata', 'name'))})",
                )
            )


def _check_region_in_stack(
    context: _Context, document: CheckedDocument, path: tuple[str | int, ...], region: str
) -> bool:
    if context.stack_regions is None or region in context.stack_regions:
        return True
    allowed = ", ".join(sorted(context.stack_regions))
    context.problems.append(
        document.problem(path, f"region {region} is not in Stack.spec.regions ({allowed})")
    )
    return False


def _check_images(context: _Context) -> None:
    context.image_names = {d.name for d in context.documents if d.kind == "Image" and d.name}
    for image in context.of_kind("Image"):
        if image.valid:
            context.images.setdefault(image.name, image)
        if image.field_ok(("spec", "region"), str):
            _check_region_in_stack(context, image, ("spec", "region"), image.spec["region"])


def _image_of(context: _Context, document: CheckedDocument) -> CheckedDocument | None:
    """The valid Image a copy or share refers to; reports a dangling reference.

    Runs on any document whose `spec.image` is itself valid, so that a dangling reference is
    reported together with the document's other problems.
    """
    if not document.field_ok(("spec", "image"), str):
        return None
    name = document.spec["image"]
    if name in context.images:
        return context.images[name]
    if name not in context.image_names and context.complete:
        hint = did_you_mean(name, context.image_names)
        context.problems.append(
            document.problem(("spec", "image"), f"no Image named {quote(name)} in this stack{hint}")
        )
    return None


def _check_copies(context: _Context) -> None:
    declared: dict[tuple[str, str], str] = {}
    for document in context.of_kind("ImageCopy"):
        image = _image_of(context, document)
        if not document.field_ok(("spec", "regions"), list):
            continue
        for index, region in enumerate(document.spec["regions"]):
            path = ("spec", "regions", index)
            if not _check_region_in_stack(context, document, path, region) or image is None:
                continue
            if region == image.spec["region"]:
                context.problems.append(
                    document.problem(
                        path,
                        f'{region} is the home region of image "{image.name}": '
                        "a copy must go to another region",
                    )
                )
                continue
            key = (image.name, region)
            if key in declared:
                context.problems.append(
                    document.problem(
                        path,
                        f'the copy of "{image.name}" in {region} is already declared '
                        f"at {declared[key]}",
                    )
                )
                continue
            declared[key] = document.where(path)
            context.copy_regions[image.name].add(region)


def _check_shares(context: _Context) -> None:
    accounts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for document in context.of_kind("ImageShare"):
        image = _image_of(context, document)
        if image is None:
            continue
        home = image.spec["region"]
        holding = {home} | context.copy_regions[image.name]
        source = image_source(image.spec["source"])
        if isinstance(source, ImportSource) and source.license_type == "BYOL":
            context.problems.append(
                document.problem(
                    ("spec", "image"),
                    f'image "{image.name}" is a BYOL import ({image.where(("spec", "source"))}): '
                    "the API refuses to share BYOL images",
                )
            )
        if "regions" in document.spec and not document.field_ok(("spec", "regions"), list):
            continue
        counted = document.field_ok(("spec", "accounts"), list)
        regions = share_regions(document.spec, home, context.copy_regions[image.name])
        for index, region in enumerate(regions):
            if "regions" in document.spec:
                path = ("spec", "regions", index)
                if not _check_region_in_stack(context, document, path, region):
                    continue
                if region not in holding:
                    context.problems.append(
                        document.problem(
                            path,
                            f'image "{image.name}" is not in {region}: share regions must be its '
                            f"home region ({home}) or a region with a declared ImageCopy",
                        )
                    )
                    continue
            if not counted:
                continue
            shared = accounts[(image.name, region)]
            before = len(shared)
            shared.update(document.spec["accounts"])
            if before <= MAX_ACCOUNTS_PER_IMAGE_REGION < len(shared):
                context.problems.append(
                    document.problem(
                        ("spec", "accounts"),
                        f'image "{image.name}" would be shared with {len(shared)} accounts in '
                        f"{region}: at most {MAX_ACCOUNTS_PER_IMAGE_REGION} per image and region",
                    )
                )


def _check_images_per_region(context: _Context) -> None:
    placements: dict[str, list[tuple[CheckedDocument, tuple[str | int, ...]]]] = defaultdict(list)
    for image in context.images.values():
        placements[image.spec["region"]].append((image, ("spec", "region")))
    counted: set[tuple[str, str]] = set()
    for document in context.valid("ImageCopy"):
        name = document.spec["image"]
        for index, region in enumerate(document.spec["regions"]):
            if region in context.copy_regions[name] and (name, region) not in counted:
                counted.add((name, region))
                placements[region].append((document, ("spec", "regions", index)))
    for region, placed in placements.items():
        if len(placed) > MAX_IMAGES_PER_REGION:
            document, path = placed[MAX_IMAGES_PER_REGION]
            context.problems.append(
                document.problem(
                    path,
                    f"{len(placed)} images would be placed in {region}: at most "
                    f"{MAX_IMAGES_PER_REGION} custom images per region",
                )
            )


def _check_cloud_names(context: _Context) -> None:
    stacks = context.valid("Stack")
    if len(stacks) != 1:
        return
    taken: dict[tuple[str, str], CheckedDocument] = {}
    adopted: dict[str, CheckedDocument] = {}
    for image in sorted(context.images.values(), key=lambda d: (d.file, d.document.start.line)):
        _, cloud_name, copy_name = image_names(stacks[0].name, image)
        existing = image.spec["source"].get("existing")
        if existing is not None:
            adopter = adopted.setdefault(existing["imageId"], image)
            if adopter is not image:
                context.problems.append(
                    image.problem(
                        ("spec", "source", "existing", "imageId"),
                        f'{existing["imageId"]} is already adopted by image "{adopter.name}" '
                        f"({adopter.where(('spec', 'source'))})",
                    )
                )
        names = [(image.spec["region"], cloud_name)] + [
            (region, copy_name) for region in sorted(context.copy_regions[image.name])
        ]
        for region, name in names:
            if name is None:
                continue
            first = taken.setdefault((region, name), image)
            if first is not image:
                context.problems.append(
                    image.problem(
                        ("metadata", "name")
                        if "imageName" not in image.spec
                        else ("spec", "imageName"),
                        f"cloud image name {quote(name)} in {region} is also the name of image "
                        f'"{first.name}" ({first.where(("kind",))}): names are unique per region',
                    )
                )
