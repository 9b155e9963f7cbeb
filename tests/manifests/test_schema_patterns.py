"""Schema `pattern`s mean "the whole string" under jsonschema too: jsonschema runs them with
Python's `re.search`, whose `$` also matches before a trailing newline, so a value such as
"100000000002\\n" would pass `^[0-9]{5,13}$`. Every pattern ends with `(?![\\s\\S])` instead,
which is the end of the string under both ECMA-262 and Python."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.manifests import validate_path
from reconciler.manifests.schemas import load_schema

from .helpers import IMAGE, STACK, locate

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
Tree = Callable[[dict[str, str | bytes]], Path]


def _patterns(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield where, value
            else:
                yield from _patterns(value, f"{where}/{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from _patterns(item, f"{where}/{n}")


PATTERNS = [
    (f"{file.name}{where}", pattern)
    for file in sorted(SCHEMA_DIR.glob("*.schema.json"))
    for where, pattern in _patterns(json.loads(file.read_text(encoding="utf-8")))
]


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
def test_no_pattern_ends_with_a_dollar(where: str, pattern: str) -> None:
    assert not pattern.endswith("$"), f"{where}: `$` lets a trailing newline through"
    if pattern.startswith("^") and not pattern.startswith("^(?!"):
        assert pattern.endswith("(?![\\s\\S])"), where


@pytest.mark.parametrize(
    ("definition", "valid"),
    [
        ("account", "100000000002"),
        ("name", "web"),
        ("imageId", "img-abcdefgh"),
        ("instanceId", "ins-demo0001"),
        ("snapshotId", "snap-demo0001"),
        ("diskId", "disk-demo0001"),
    ],
)
def test_a_trailing_newline_fails_the_common_definitions(definition: str, valid: str) -> None:
    common = load_schema("common.schema.json")
    schema = common["$defs"][definition]
    validator = Draft202012Validator(schema)
    assert validator.is_valid(valid)
    assert not validator.is_valid(valid + "\n")
    assert not validator.is_valid(valid + "\r\n")
    assert re.search(schema["pattern"], valid)


def _problems(root: Path) -> list[Any]:
    desired, problems = validate_path(root)
    assert desired is None
    return problems


def test_an_account_with_a_trailing_newline_is_refused_where_it_is(tree: Tree) -> None:
    share = (
        "apiVersion: reconciler/v1\nkind: ImageShare\nmetadata:\n  name: web-share\n"
        'spec:\n  image: web\n  accounts: ["100000000002\\n"]\n'
    )
    problems = _problems(tree({"stack.yaml": STACK, "image.yaml": IMAGE, "share.yaml": share}))
    assert len(problems) == 1
    problem = problems[0]
    line, column = locate(share, '"100000000002')
    assert (problem.file, problem.line, problem.column) == ("share.yaml", line, column)
    assert problem.pointer == "/spec/accounts/0"
    assert "must be an account ID" in problem.message


def test_an_instance_id_with_a_trailing_newline_is_refused_where_it_is(tree: Tree) -> None:
    image = IMAGE.replace("{id: ins-demo0001}", '{id: "ins-demo0001\\n"}')
    problems = _problems(tree({"stack.yaml": STACK, "image.yaml": image}))
    assert len(problems) == 1
    problem = problems[0]
    line, column = locate(image, '"ins-demo0001')
    assert (problem.file, problem.line, problem.column) == ("image.yaml", line, column)
    assert problem.pointer == "/spec/source/instance/id"
    assert "must be an instance ID" in problem.message


def test_a_name_with_a_trailing_newline_is_refused_where_it_is(tree: Tree) -> None:
    image = IMAGE.replace("name: web", 'name: "web\\n"')
    problems = _problems(tree({"stack.yaml": STACK, "image.yaml": image}))
    located = [p for p in problems if p.pointer == "/metadata/name"]
    assert len(located) == 1
    line, column = locate(image, '"web')
    assert (located[0].file, located[0].line, located[0].column) == ("image.yaml", line, column)
    assert "lowercase letters" in located[0].message


@pytest.mark.parametrize(
    ("replace", "by", "pointer"),
    [
        (
            "  regions: [ap-guangzhou",
            '  provider: {type: tencentcloud, endpoint: "h:9000\\n"}\n  regions: [ap-guangzhou',
            "/spec/provider/endpoint",
        ),
    ],
)
def test_stack_patterns_refuse_a_trailing_newline(
    tree: Tree, replace: str, by: str, pointer: str
) -> None:
    stack = STACK.replace(replace, by)
    problems = _problems(tree({"stack.yaml": stack}))
    assert [p.pointer for p in problems] == [pointer]
    assert problems[0].file == "stack.yaml"
    assert problems[0].line > 0


@pytest.mark.parametrize(
    ("endpoint", "valid"),
    [
        ("127.0.0.1:9000", True),
        ("localhost", True),
        ("cvm.tencentcloudapi.com", True),
        ("[::1]:9000", True),
        ("http://127.0.0.1:9000", True),
        ("127.0.0.1:65535", True),
        ("127.0.0.1:1", True),
        ("127.0.0.1:0", False),
        ("127.0.0.1:65536", False),
        ("127.0.0.1:99999", False),
        ("127.0.0.1:09000", False),
        ("ftp://127.0.0.1:9000", False),
        ("127.0.0.1:9000/path", False),
    ],
)
def test_stack_endpoint_is_host_and_a_real_port(tree: Tree, endpoint: str, valid: bool) -> None:
    stack = STACK.replace(
        "  regions: [ap-guangzhou",
        f'  provider: {{type: tencentcloud, endpoint: "{endpoint}"}}\n  regions: [ap-guangzhou',
    )
    desired, problems = validate_path(tree({"stack.yaml": stack}))
    if valid:
        assert problems == []
        assert desired is not None
        assert desired.stack.provider.endpoint == endpoint
    else:
        assert [p.pointer for p in problems] == ["/spec/provider/endpoint"]
        assert "port 1-65535" in problems[0].message
