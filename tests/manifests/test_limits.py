"""The API's counting limits: 500 accounts per image and region, 500 images per region."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reconciler.manifests import validate_path

from .helpers import IMAGE, STACK, locate

Tree = Callable[[dict[str, str | bytes]], Path]


def _share(name: str, accounts: list[str]) -> str:
    listed = ", ".join(f'"{a}"' for a in accounts)
    return (
        f"apiVersion: reconciler/v1\nkind: ImageShare\nmetadata: {{name: {name}}}\n"
        f"spec:\n  image: web\n  accounts: [{listed}]\n"
    )


def test_500_accounts_per_image_and_region(tree: Tree) -> None:
    first = [str(100000000000 + i) for i in range(500)]
    ok = tree({"stack.yaml": STACK, "i.yaml": IMAGE, "a.yaml": _share("a", first)})
    desired, problems = validate_path(ok)
    assert problems == []
    assert desired is not None
    assert len(desired.shares) == 500
    (ok / "b.yaml").write_text(_share("b", [first[0], "200000000000"]))
    _, problems = validate_path(ok)
    assert [(p.file, p.line, p.column) for p in problems] == [
        ("b.yaml", *locate(_share("b", ["1"]), "["))
    ]
    assert problems[0].message == (
        'image "web" would be shared with 501 accounts in ap-guangzhou: '
        "at most 500 per image and region"
    )


def test_500_images_per_region(tree: Tree) -> None:
    images = "---\n".join(IMAGE.replace("name: web", f"name: web{i}") for i in range(501))
    desired, problems = validate_path(tree({"stack.yaml": STACK, "images.yaml": images}))
    assert desired is None
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.kind, problem.name) == ("images.yaml", "Image", "web500")
    assert problem.line == locate(images, "region: ap-guangzhou", 501)[0]
    assert problem.message == (
        "501 images would be placed in ap-guangzhou: at most 500 custom images per region"
    )
