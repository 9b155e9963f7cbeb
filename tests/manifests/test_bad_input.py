"""Every bad-input case of issue 2: a located message (file, line, column) and exit 1.

The same cases through the CLI are in test_bad_input_cli.py."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler.cli import cli
from reconciler.manifests import validate_path

from .helpers import IMAGE, STACK, locate

Tree = Callable[[dict[str, str | bytes]], Path]


@dataclass(frozen=True)
class Expected:
    """A problem expected in `file` at the `occurrence`-th `needle` (None: the whole file)."""

    file: str
    needle: str | None
    message: str
    occurrence: int = 1
    kind: str = ""
    name: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str]
    expected: list[Expected] = field(default_factory=list)


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}"


COPY = doc("ImageCopy", "web-copies", "  image: web\n  regions: [ap-shanghai]\n")
SHARE = doc("ImageShare", "web-share", '  image: web\n  accounts: ["100000000002"]\n')
BYOL = doc(
    "Image",
    "byol",
    "  region: ap-guangzhou\n  source:\n    import:\n"
    "      url: https://b-1.cos.ap-guangzhou.myqcloud.com/x.qcow2\n"
    '      osType: CentOS\n      osVersion: "7"\n      licenseType: BYOL\n',
)


def existing(name: str, image_id: str, image_name: str) -> str:
    return doc(
        "Image",
        name,
        f"  region: ap-guangzhou\n  imageName: {image_name}\n"
        f"  source:\n    existing: {{imageId: {image_id}}}\n",
    )


CASES = [
    Case(
        "malformed-yaml",
        {
            "stack.yaml": STACK,
            "bad.yaml": "apiVersion: reconciler/v1\nkind: Image\n  metadata: x\n",
        },
        [Expected("bad.yaml", ": x", "malformed YAML: mapping values are not allowed here")],
    ),
    Case(
        "list-document",
        {"stack.yaml": STACK, "list.yaml": "- a\n- b\n"},
        [
            Expected(
                "list.yaml",
                "- a",
                "must be a mapping (apiVersion, kind, metadata, spec), got a list",
            )
        ],
    ),
    Case(
        "scalar-document",
        {"stack.yaml": STACK, "s.yaml": "just text\n"},
        [
            Expected(
                "s.yaml",
                "just",
                "must be a mapping (apiVersion, kind, metadata, spec), got a string",
            )
        ],
    ),
    Case(
        "missing-apiVersion",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("apiVersion: reconciler/v1\n", "")},
        [
            Expected(
                "i.yaml",
                "kind",
                'missing apiVersion (expected "reconciler/v1")',
                kind="Image",
                name="web",
            )
        ],
    ),
    Case(
        "missing-kind",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("kind: Image\n", "")},
        [
            Expected(
                "i.yaml", "apiVersion", "missing kind (one of Stack, Image, ImageCopy, ImageShare)"
            )
        ],
    ),
    Case(
        "missing-metadata-name",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("  name: web\n", "  labels: {a: b}\n")},
        [Expected("i.yaml", "metadata", 'missing required field "name" in metadata', kind="Image")],
    ),
    Case(
        "unknown-kind",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("kind: Image", "kind: Imag")},
        [Expected("i.yaml", "Imag", 'unknown kind "Imag" (did you mean "Image"?)')],
    ),
    Case(
        "unknown-apiVersion",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("reconciler/v1", "reconciler/v2")},
        [
            Expected(
                "i.yaml",
                "reconciler/v2",
                'unknown apiVersion "reconciler/v2"',
                kind="Image",
                name="web",
            )
        ],
    ),
    Case(
        "unknown-field-typo",
        {"stack.yaml": STACK, "i.yaml": IMAGE + "  descripton: hello\n"},
        [
            Expected(
                "i.yaml",
                "descripton",
                'unknown field "descripton" in spec (did you mean "description"?)',
                kind="Image",
                name="web",
            )
        ],
    ),
    Case(
        "unknown-field-no-close-match",
        {"stack.yaml": STACK, "i.yaml": IMAGE + "  zzz: 1\n"},
        [
            Expected(
                "i.yaml", "zzz", 'unknown field "zzz" in spec (allowed: deprecated, description,'
            )
        ],
    ),
    Case(
        "wrong-type",
        {"stack.yaml": STACK, "i.yaml": IMAGE + "  description: 5\n  deprecated: maybe\n"},
        [
            Expected("i.yaml", "5", "spec.description: expected a string, got a number (quote it)"),
            Expected("i.yaml", "maybe", "spec.deprecated: expected true or false, got a string"),
        ],
    ),
    Case(
        "bad-region",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE.replace("region: ap-guangzhou", "region: ap-guangzou"),
        },
        [
            Expected(
                "i.yaml",
                "ap-guangzou",
                'spec.region: unknown value "ap-guangzou" (did you mean "ap-guangzhou"?)',
            )
        ],
    ),
    Case(
        "bad-account",
        {"stack.yaml": STACK, "i.yaml": IMAGE, "s.yaml": SHARE.replace("100000000002", "12ab")},
        [
            Expected(
                "s.yaml",
                '"12ab"',
                'spec.accounts[0]: "12ab" must be an account ID: a string of 5 to 13 digits',
            )
        ],
    ),
    Case(
        "unquoted-account",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE,
            "s.yaml": SHARE.replace('"100000000002"', "100000000002"),
        },
        [
            Expected(
                "s.yaml",
                "100000000002",
                "spec.accounts[0]: expected a string, got a number (quote it)",
            )
        ],
    ),
    Case(
        "name-with-capitals",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("name: web", "name: Web")},
        [Expected("i.yaml", "Web", 'metadata.name: "Web" must be 1-40 lowercase letters, digits')],
    ),
    Case(
        "duplicate-name",
        {"stack.yaml": STACK, "a.yaml": IMAGE, "b.yaml": IMAGE},
        [
            Expected(
                "b.yaml",
                "web",
                'duplicate Image name "web" (first declared at a.yaml:4)',
                kind="Image",
                name="web",
            )
        ],
    ),
    Case(
        "duplicate-key",
        {"stack.yaml": STACK, "i.yaml": IMAGE + "  region: ap-shanghai\n"},
        [Expected("i.yaml", "region", 'duplicate key "region" (first at line 6)', occurrence=2)],
    ),
    Case(
        "dangling-image",
        {"stack.yaml": STACK, "i.yaml": IMAGE, "c.yaml": COPY.replace("image: web", "image: webb")},
        [
            Expected(
                "c.yaml",
                "webb",
                'no Image named "webb" in this stack (did you mean "web"?)',
                kind="ImageCopy",
            )
        ],
    ),
    Case(
        "home-region-outside-stack",
        {"stack.yaml": STACK, "i.yaml": IMAGE.replace("region: ap-guangzhou", "region: ap-tokyo")},
        [Expected("i.yaml", "ap-tokyo", "region ap-tokyo is not in Stack.spec.regions")],
    ),
    Case(
        "copy-region-outside-stack",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE,
            "c.yaml": COPY.replace("[ap-shanghai]", "[ap-shanghai, ap-seoul]"),
        },
        [Expected("c.yaml", "ap-seoul", "region ap-seoul is not in Stack.spec.regions")],
    ),
    Case(
        "copy-into-home-region",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE,
            "c.yaml": COPY.replace("[ap-shanghai]", "[ap-guangzhou]"),
        },
        [Expected("c.yaml", "ap-guangzhou", 'ap-guangzhou is the home region of image "web"')],
    ),
    Case(
        "copy-declared-twice",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE,
            "c.yaml": COPY,
            "d.yaml": COPY.replace("web-copies", "more-copies"),
        },
        [
            Expected(
                "d.yaml",
                "ap-shanghai",
                'the copy of "web" in ap-shanghai is already declared at c.yaml:7',
            )
        ],
    ),
    Case(
        "share-region-without-image",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE,
            "s.yaml": SHARE + "  regions: [ap-guangzhou, ap-singapore]\n",
        },
        [
            Expected(
                "s.yaml",
                "ap-singapore",
                'image "web" is not in ap-singapore: share regions must be',
            )
        ],
    ),
    Case(
        "shared-byol-import",
        {"stack.yaml": STACK, "i.yaml": BYOL, "s.yaml": SHARE.replace("image: web", "image: byol")},
        [
            Expected(
                "s.yaml",
                "byol",
                'image "byol" is a BYOL import (i.yaml:8): the API refuses to share BYOL images',
            )
        ],
    ),
    Case(
        "cloud-names-meet",
        {
            "stack.yaml": STACK,
            "a.yaml": existing("one", "img-aaaaaaaa", "golden"),
            "b.yaml": existing("two", "img-bbbbbbbb", "golden"),
        },
        [
            Expected(
                "b.yaml",
                "golden",
                'cloud image name "golden" in ap-guangzhou is also the name of image "one"',
            )
        ],
    ),
    Case(
        "existing-adopted-twice",
        {
            "stack.yaml": STACK,
            "a.yaml": existing("one", "img-aaaaaaaa", "first"),
            "b.yaml": existing("two", "img-aaaaaaaa", "second"),
        },
        [Expected("b.yaml", "img-aaaaaaaa", 'img-aaaaaaaa is already adopted by image "one"')],
    ),
    Case(
        "no-stack",
        {"i.yaml": IMAGE},
        [Expected(".", None, "no Stack document: exactly one `kind: Stack` is required")],
    ),
    Case(
        "two-stacks",
        {"a.yaml": STACK, "b.yaml": STACK.replace("name: prod", "name: staging")},
        [
            Expected(
                "b.yaml",
                "Stack",
                'a second Stack: exactly one is allowed (the first is "prod" at a.yaml:2)',
            )
        ],
    ),
    Case(
        "alias-bomb",
        {
            "stack.yaml": STACK,
            "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            ),
        },
        [Expected("bomb.yaml", "&d", "YAML aliases expand to more than 10000 nodes")],
    ),
    Case(
        "reserved-tag-key",
        {"stack.yaml": STACK, "i.yaml": IMAGE + "  tags: {reconciler:stack: x}\n"},
        [
            Expected(
                "i.yaml",
                "reconciler:stack",
                "key \"reconciler:stack\": keys starting with 'reconciler:' are reserved",
            )
        ],
    ),
    Case(
        "too-long-imageName-and-description",
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE + f"  imageName: {'n' * 52}\n  description: {'d' * 257}\n",
        },
        [
            Expected("i.yaml", "nnn", "spec.imageName: must be at most 51 characters (got 52)"),
            Expected("i.yaml", "ddd", "spec.description: must be at most 256 characters (got 257)"),
        ],
    ),
    Case(
        "two-sources",
        {"stack.yaml": STACK, "i.yaml": IMAGE + "    existing: {imageId: img-12345678}\n"},
        [
            Expected(
                "i.yaml",
                "instance",
                "spec.source: has 2 entries, at most 1 allowed: "
                "give exactly one of instance, snapshots, import, existing",
            )
        ],
    ),
    Case(
        "malformed-policy",
        {
            "stack.yaml": STACK
            + "  policy:\n    allowedAccounts: 100000000002\n"
            + "    enforcement: block\n    destory: true\n"
        },
        [
            Expected(
                "stack.yaml",
                "100000000002",
                "spec.policy.allowedAccounts: expected a list, got a number",
            ),
            Expected(
                "stack.yaml",
                "block",
                'spec.policy.enforcement: "block" is not one of "deny", "warn"',
            ),
            Expected(
                "stack.yaml",
                "destory",
                'unknown field "destory" in spec.policy (did you mean "destroy"?)',
            ),
        ],
    ),
    Case(
        "malformed-policy-enforcement-map",
        {"stack.yaml": STACK + "  policy:\n    enforcement: {requiredTags: ignore}\n"},
        [
            Expected(
                "stack.yaml",
                "ignore",
                'spec.policy.enforcement.requiredTags: "ignore" is not one of "deny", "warn"',
            )
        ],
    ),
    Case(
        "provider-path-for-real-cloud",
        {"stack.yaml": STACK + "  provider: {type: tencentcloud, path: x.db}\n"},
        [
            Expected(
                "stack.yaml",
                "path",
                "spec.provider.path applies only to type local (this one is tencentcloud)",
            )
        ],
    ),
]


def _assert_case(root: Path, case: Case) -> None:
    _, problems = validate_path(root)
    for expected in case.expected:
        if expected.needle is None:
            line, column = 0, 0
            file = str(root) if expected.file == "." else expected.file
        else:
            text = (root / expected.file).read_text(encoding="utf-8")
            line, column = locate(text, expected.needle, expected.occurrence)
            file = expected.file
        matching = [p for p in problems if expected.message in p.message]
        assert matching, f"no problem says {expected.message!r}; got {[str(p) for p in problems]}"
        problem = matching[0]
        assert (problem.file, problem.line, problem.column) == (file, line, column), str(problem)
        if expected.kind:
            assert problem.kind == expected.kind
        if expected.name:
            assert problem.name == expected.name
    assert len(problems) == len(case.expected), [str(p) for p in problems]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_located(tree: Tree, case: Case) -> None:
    _assert_case(tree(case.files), case)


def test_several_problems_are_reported_at_once(tree: Tree) -> None:
    root = tree(
        {
            "stack.yaml": STACK,
            "i.yaml": IMAGE + "  descripton: x\n",
            "c.yaml": COPY.replace("image: web", "image: nope"),
            "s.yaml": SHARE.replace('"100000000002"', '"1"'),
        }
    )
    _, problems = validate_path(root)
    messages = [p.message for p in problems]
    assert len(problems) == 3
    assert any('unknown field "descripton"' in m for m in messages)
    assert any('no Image named "nope"' in m for m in messages)
    assert any('"1" must be an account ID' in m for m in messages)
    assert [p.file for p in problems] == ["c.yaml", "i.yaml", "s.yaml"]


def test_file_over_one_mib(tree: Tree) -> None:
    root = tree({"stack.yaml": STACK, "big.yaml": "# " + "x" * (1024 * 1024) + "\n"})
    _, problems = validate_path(root)
    assert [(p.file, p.line) for p in problems] == [("big.yaml", 0)]
    assert "file is larger than 1 MiB (1048579 bytes): refused" in problems[0].message
    assert str(problems[0]).startswith("big.yaml: file is larger than 1 MiB")


@pytest.mark.parametrize(
    ("content", "line", "column", "message"),
    [
        (b"a: 1\nb: \x00\x01\x02", 2, 4, "binary content (a NUL byte): not a YAML text file"),
        (b"a: 1\n\nb: caf\xe9\n", 3, 7, "binary content: byte 0xe9 is not valid UTF-8"),
        (b"a: \x07bell\n", 1, 4, "control character U+0007 is not allowed in YAML"),
    ],
)
def test_binary_content(tree: Tree, content: bytes, line: int, column: int, message: str) -> None:
    root = tree({"stack.yaml": STACK, "bin.yaml": content})
    _, problems = validate_path(root)
    assert [(p.file, p.line, p.column, p.message) for p in problems] == [
        ("bin.yaml", line, column, message)
    ]


def test_symlink_outside_directory(tree: Tree, tmp_path: Path) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text(STACK)
    root = tree({"i.yaml": IMAGE})
    (root / "stack.yaml").symlink_to(secret)
    (root / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    _, problems = validate_path(root)
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("elsewhere", 0, "symlink points outside the manifest directory"),
        ("stack.yaml", 0, "symlink points outside the manifest directory"),
    ]


def test_symlink_inside_directory_is_read_once(tree: Tree) -> None:
    root = tree({"real/stack.yaml": STACK, "i.yaml": IMAGE})
    (root / "link.yaml").symlink_to(root / "real" / "stack.yaml")
    (root / "again").symlink_to(root / "real", target_is_directory=True)
    desired, problems = validate_path(root)
    assert problems == []
    assert desired is not None
    assert desired.documents == 2


def test_empty_directory(tmp_path: Path) -> None:
    _, problems = validate_path(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(str(tmp_path), 0)]
    assert "no manifests here: no *.yaml or *.yml files" in problems[0].message


def test_missing_path(tmp_path: Path) -> None:
    _, problems = validate_path(tmp_path / "nope")
    assert [str(p) for p in problems] == [f"{tmp_path / 'nope'}: no such file or directory"]


def test_json_format_lists_problems(tree: Tree) -> None:
    from click.testing import CliRunner

    root = tree({"stack.yaml": STACK, "i.yaml": IMAGE + "  descripton: x\n"})
    result = CliRunner().invoke(
        cli, ["validate", str(root), "--format", "json"], standalone_mode=False
    )
    assert result.return_value == 1
    problems = json.loads(result.stdout)
    assert problems == [
        {
            "file": "i.yaml",
            "line": 9,
            "column": 3,
            "kind": "Image",
            "name": "web",
            "pointer": "/spec/descripton",
            "message": 'unknown field "descripton" in spec (did you mean "description"?)',
            "severity": "error",
        }
    ]


def test_problem_text_format(tree: Tree) -> None:
    root = tree({"stack.yaml": STACK, "sub/i.yaml": IMAGE + "  descripton: x\n"})
    _, problems = validate_path(root)
    assert [str(p) for p in problems] == [
        "sub/i.yaml:9:3: Image/web: "
        'unknown field "descripton" in spec (did you mean "description"?)'
    ]


def test_hidden_folders_and_other_files_are_skipped(tree: Tree) -> None:
    root = tree(
        {
            "stack.yaml": STACK,
            ".git/bad.yaml": "- not: a manifest\n",
            ".hidden.yaml": "[",
            "notes.txt": "- nope",
            "deep/er/i.yml": IMAGE,
        }
    )
    desired, problems = validate_path(root)
    assert problems == []
    assert desired is not None
    assert [i.source_ref.file for i in desired.images] == ["deep/er/i.yml"]


def test_unreadable_file(tree: Tree) -> None:
    if os.geteuid() == 0:
        root = tree({"stack.yaml": STACK, "dir.yaml/x.txt": "x"})
        # a directory named like a manifest is not a file: walked, not read
        desired, problems = validate_path(root)
        assert problems == []
        assert desired is not None
        return
    root = tree({"stack.yaml": STACK, "locked.yaml": IMAGE})
    (root / "locked.yaml").chmod(0)
    _, problems = validate_path(root)
    assert [(p.file, p.line) for p in problems] == [("locked.yaml", 0)]
    assert "cannot read the file" in problems[0].message
