"""The YAML loader: positions of keys and values, YAML features kept safe, hostile input refused."""

from __future__ import annotations

import pytest

from reconciler.manifests.yaml_loader import (
    MAX_DEPTH,
    Position,
    load_manifest_bytes,
    load_manifest_text,
)


def test_positions_of_keys_and_values() -> None:
    (document,), problems = load_manifest_text(
        "a.yaml", "spec:\n  regions:\n    - ap-a\n    - ap-b\n"
    )
    assert problems == []
    assert document.content == {"spec": {"regions": ["ap-a", "ap-b"]}}
    assert document.key_position(("spec", "regions")) == Position(2, 3)
    assert document.value_position(("spec", "regions", 1)) == Position(4, 7)
    # an unknown path falls back to its nearest located ancestor
    assert document.value_position(("spec", "regions", 1, "x")) == Position(4, 7)
    assert document.key_position(("spec", "regions", 0)) == Position(3, 7)


def test_several_documents_and_empty_ones_skipped() -> None:
    text = "---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n...\n"
    documents, problems = load_manifest_text("a.yaml", text)
    assert problems == []
    assert [(d.content, d.start.line) for d in documents] == [({"a": 1}, 4), ({"b": 2}, 7)]


def test_timestamps_and_binary_stay_text() -> None:
    (document,), _ = load_manifest_text("a.yaml", "d: 2024-01-02\nb: !!binary aGk=\n")
    assert document.content == {"d": "2024-01-02", "b": "aGk="}


def test_merge_keys_are_supported_and_explicit_keys_win() -> None:
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n"
    (document,), problems = load_manifest_text("a.yaml", text)
    assert problems == []
    assert document.content["d"] == {"x": 1, "y": 3}


def test_small_aliases_are_fine() -> None:
    (document,), problems = load_manifest_text("a.yaml", "a: &r [ap-a, ap-b]\nb: *r\n")
    assert problems == []
    assert document.content["b"] == ["ap-a", "ap-b"]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1, 'duplicate key "a" (first at line 1)'),
        ("a: &x [*x]\n", 1, 4, "recursive YAML alias"),
        ("a: !custom x\n", 1, 4, "unsupported YAML tag !custom"),
        ("a: !!set {x}\n", 1, 4, "unsupported YAML tag tag:yaml.org,2002:set"),
        ("1: x\n", 1, 1, "mapping keys must be strings, got '1' (quote it)"),
        ("? [a]\n: x\n", 1, 3, "mapping keys must be plain strings"),
        ("a:\n  <<: 3\n", 2, 7, "a merge key (<<) needs a mapping"),
        ("a: [1, 2\nb: 3\n", 2, 2, "malformed YAML: expected ',' or ']'"),
        ("a: '\n", 2, 1, "malformed YAML: found unexpected end of stream"),
        ("\t- a\n", 1, 1, "malformed YAML"),
    ],
)
def test_located_problems(text: str, line: int, column: int, message: str) -> None:
    _, problems = load_manifest_text("a.yaml", text)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.file, problem.line, problem.column) == ("a.yaml", line, column)
    assert message in problem.message


def test_deep_nesting_is_refused() -> None:
    _, problems = load_manifest_text("a.yaml", "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))
    assert [p.message for p in problems] == [f"nesting deeper than {MAX_DEPTH} levels"]
    _, problems = load_manifest_text("a.yaml", "[" * 100_000)
    assert len(problems) == 1


def test_a_bad_document_does_not_hide_the_others() -> None:
    documents, problems = load_manifest_text("a.yaml", "a: !custom x\n---\nb: 1\n")
    assert [d.content for d in documents] == [{"b": 1}]
    assert [p.line for p in problems] == [1]


def test_byte_order_mark_is_accepted() -> None:
    (document,), problems = load_manifest_bytes("a.yaml", "\ufeffa: 1\n".encode())
    assert problems == []
    assert document.content == {"a": 1}
    assert document.key_position(("a",)) == Position(1, 1)
