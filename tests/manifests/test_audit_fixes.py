"""Fixes from the audit of the manifests layer: hostile trees, control characters, non-finite
numbers, manifest-only policy in `validate`, merge-key positions, located loader problems,
reference checks on invalid documents, a read-only desired state."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import app
from reconciler.cli import cli
from reconciler.errors import ManifestError
from reconciler.manifests import load_desired, validate_path
from reconciler.manifests.discovery import ManifestFile, discover, read_manifest_file
from reconciler.manifests.problems import Problem, quote
from reconciler.manifests.yaml_loader import load_manifest_text
from reconciler.model.desired import Enforcement
from reconciler.model.plan import Plan
from reconciler.model.policy import manifest_violations
from reconciler.planner.policy import check_policy

from .helpers import IMAGE, STACK, locate, write_tree

Tree = Callable[[dict[str, str | bytes]], Path]


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}"


COPY = doc("ImageCopy", "web-copies", "  image: web\n  regions: [ap-shanghai]\n")
SHARE = doc("ImageShare", "web-share", '  image: web\n  accounts: ["100000000002"]\n')


def where(problem: Problem) -> tuple[str, int, int]:
    return problem.file, problem.line, problem.column


def run_validate(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["validate", str(root), *args], standalone_mode=False)


# 1. An unreadable sub-folder ------------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """`unreadable(folder)`: listing `folder` fails as for a folder without read permission
    (tests run as root, so chmod would not do it)."""
    real_scandir = os.scandir
    blocked: set[str] = set()

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return lambda folder: blocked.add(os.fspath(folder.resolve()))


def test_an_unreadable_folder_is_a_problem_and_the_load_is_incomplete(
    tree: Tree, unreadable: Callable[[Path], None]
) -> None:
    root = tree({"stack.yaml": STACK, "images/web.yaml": IMAGE, "copies.yaml": COPY})
    unreadable(root / "images")
    discovery = discover(root)
    assert discovery.complete is False
    assert [str(p) for p in discovery.problems] == [
        "images: cannot read the directory: Permission denied"
    ]
    desired, problems = validate_path(root)
    assert desired is None
    # The copy's image may well be in the folder that could not be read: no dangling reference.
    assert [str(p) for p in problems] == ["images: cannot read the directory: Permission denied"]


def test_an_unreadable_folder_stops_validate_plan_and_apply(
    tree: Tree, unreadable: Callable[[Path], None]
) -> None:
    root = tree({"stack.yaml": STACK, "images/web.yaml": IMAGE})
    unreadable(root / "images")
    result = run_validate(root)
    assert result.return_value == 1
    assert "images: cannot read the directory: Permission denied" in result.stdout
    assert "OK" not in result.stdout
    with pytest.raises(ManifestError) as raised:
        app.load(root)  # what plan and apply load: nothing declared there is deleted
    assert [str(p) for p in raised.value.problems] == [
        "images: cannot read the directory: Permission denied"
    ]


def test_an_unreadable_manifest_directory_itself(
    tree: Tree, unreadable: Callable[[Path], None]
) -> None:
    root = tree({"stack.yaml": STACK})
    unreadable(root)
    desired, problems = validate_path(root)
    assert desired is None
    assert [str(p) for p in problems] == [f"{root}: cannot read the directory: Permission denied"]


# 2. Symlink loops and files that are not regular files ----------------------------------------


def test_a_symlink_loop_is_a_located_problem(tree: Tree) -> None:
    root = tree({"stack.yaml": STACK, "i.yaml": IMAGE})
    (root / "a.yaml").symlink_to("b.yaml")
    (root / "b.yaml").symlink_to("a.yaml")
    (root / "loop").symlink_to("loop")
    desired, problems = validate_path(root)
    assert desired is None
    assert [str(p) for p in problems] == ["a.yaml: symlink loop", "b.yaml: symlink loop"]


def test_a_symlink_loop_given_as_the_path(tree: Tree) -> None:
    root = tree({"stack.yaml": STACK})
    (root / "a.yaml").symlink_to("b.yaml")
    (root / "b.yaml").symlink_to("a.yaml")
    _, problems = validate_path(root / "a.yaml")
    assert [p.message for p in problems] == ["symlink loop"]


def _finishes(work: Callable[[], object], seconds: float = 10.0) -> object:
    """`work()`'s result; fails (instead of hanging the suite) when it does not return."""
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, "hung: a FIFO was opened for reading"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_a_manifest_is_refused_not_read(tree: Tree) -> None:
    root = tree({"stack.yaml": STACK, "i.yaml": IMAGE})
    os.mkfifo(root / "pipe.yaml")
    desired, problems = _finishes(lambda: validate_path(root))  # type: ignore[misc]
    assert desired is None
    assert [str(p) for p in problems] == [
        "pipe.yaml: not a regular file (a named pipe (FIFO)): refused"
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_when_given_as_the_path_or_read_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    _, problems = _finishes(lambda: validate_path(fifo))  # type: ignore[misc]
    assert [p.message for p in problems] == ["not a regular file (a named pipe (FIFO)): refused"]
    # A FIFO put in place of a discovered file is refused when it is opened, too.
    read = _finishes(lambda: read_manifest_file(ManifestFile(fifo, "pipe.yaml")))
    assert isinstance(read, Problem)
    assert str(read) == "pipe.yaml: not a regular file: refused"


# 3. Control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "needle", "pointer", "message"),
    [
        (
            '  imageName: "a\\u0000b"\n',
            '"a',
            "/spec/imageName",
            'spec.imageName: "a\\x00b" contains a control character U+0000',
        ),
        (
            '  family: "web\\n"\n',
            '"web',
            "/spec/family",
            'spec.family: "web\\n" contains a control character U+000A',
        ),
        (
            '  description: "ring \\a the bell"\n',
            '"ring',
            "/spec/description",
            'spec.description: "ring \\x07 the bell" contains a control character U+0007 '
            "(only tab and line breaks are allowed here)",
        ),
        (
            '  tags: {"own\\ner": web}\n',
            '"own',
            "/spec/tags/own\ner",
            'key "own\\ner" in spec.tags contains a control character U+000A',
        ),
        (
            '  tags: {owner: "web\\rteam"}\n',
            '"web',
            "/spec/tags/owner",
            'spec.tags.owner: "web\\rteam" contains a control character U+000D',
        ),
        (
            '  tags: {owner: "web\\x7f"}\n',
            '"web',
            "/spec/tags/owner",
            'spec.tags.owner: "web\\x7f" contains a control character U+007F',
        ),
    ],
)
def test_control_characters_are_refused_and_printed_on_one_line(
    tree: Tree, extra: str, needle: str, pointer: str, message: str
) -> None:
    text = IMAGE + extra
    root = tree({"stack.yaml": STACK, "i.yaml": text})
    desired, problems = validate_path(root)
    assert desired is None
    (problem,) = problems
    assert where(problem) == ("i.yaml", *locate(text, needle))
    assert (problem.kind, problem.name, problem.pointer) == ("Image", "web", pointer)
    assert problem.message == message
    assert "\n" not in str(problem)
    assert "\r" not in str(problem)


def test_a_description_may_hold_tabs_and_line_breaks(tree: Tree) -> None:
    root = tree(
        {"stack.yaml": STACK, "i.yaml": IMAGE + '  description: "Nginx\\tapp\\r\\nruntime"\n'}
    )
    desired, problems = validate_path(root)
    assert problems == []
    assert desired is not None
    assert desired.images[0].description == "Nginx\tapp\r\nruntime"


def test_control_characters_in_labels_and_annotations(tree: Tree) -> None:
    image = IMAGE.replace(
        "  name: web\n",
        '  name: web\n  labels: {team: "a\\nb"}\n  annotations: {note: "line 1\\nline 2"}\n',
    )
    root = tree({"stack.yaml": STACK, "i.yaml": image})
    _, problems = validate_path(root)
    assert [(p.pointer, p.message) for p in problems] == [
        (
            "/metadata/labels/team",
            'metadata.labels.team: "a\\nb" contains a control character U+000A',
        )
    ]


def test_a_value_with_a_newline_is_quoted_on_one_line_in_schema_messages(tree: Tree) -> None:
    text = IMAGE.replace("region: ap-guangzhou", 'region: "ap-guangzhou\\nx"') + (
        '  "descr\\niption": x\n'
    )
    root = tree({"stack.yaml": STACK, "i.yaml": text})
    _, problems = validate_path(root)
    lines = [str(p) for p in problems]
    assert all("\n" not in line for line in lines)
    assert any('unknown field "descr\\niption" in spec' in line for line in lines)
    assert any('"ap-guangzhou\\nx"' in line for line in lines)


def test_quote_escapes_what_would_break_a_line() -> None:
    assert quote("web") == '"web"'
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("a\nb\x00c\u2028d\x85") == '"a\\nb\\x00c\\u2028d\\x85"'
    assert quote(5) == "5"


# 4. Non-finite numbers -------------------------------------------------------------------------


def test_non_finite_numbers_are_located_problems(tree: Tree) -> None:
    text = STACK + "  pricing: {defaultPerGBMonth: .inf, perGBMonth: {ap-guangzhou: .nan}}\n"
    root = tree({"stack.yaml": text, "i.yaml": IMAGE})
    desired, problems = validate_path(root)
    assert desired is None
    assert [(where(p), p.kind, p.name, p.pointer, p.message) for p in problems] == [
        (
            ("stack.yaml", *locate(text, ".inf")),
            "Stack",
            "prod",
            "/spec/pricing/defaultPerGBMonth",
            "spec.pricing.defaultPerGBMonth: .inf is not a finite number "
            "(NaN and infinity are refused)",
        ),
        (
            ("stack.yaml", *locate(text, ".nan")),
            "Stack",
            "prod",
            "/spec/pricing/perGBMonth/ap-guangzhou",
            "spec.pricing.perGBMonth.ap-guangzhou: .nan is not a finite number "
            "(NaN and infinity are refused)",
        ),
    ]
    with pytest.raises(ManifestError):
        load_desired(root)  # so `plan --format json` never meets a NaN


def test_a_non_finite_number_is_reported_once(tree: Tree) -> None:
    text = STACK + "  pricing: {freeTierGB: {ap-guangzhou: -.inf}, defaultPerGBMonth: 1.0e+999}\n"
    root = tree({"stack.yaml": text})
    _, problems = validate_path(root)
    # -.inf is also below the schema's minimum of 0: only the loader's message is shown.
    assert [p.pointer for p in problems] == [
        "/spec/pricing/freeTierGB/ap-guangzhou",
        "/spec/pricing/defaultPerGBMonth",
    ]
    assert all("is not a finite number" in p.message for p in problems)


def test_the_loader_refuses_non_finite_numbers_anywhere() -> None:
    (document,), problems = load_manifest_text("a.yaml", "a: [1, .NaN]\nb: 2.5\n")
    assert [(where(p), p.pointer) for p in problems] == [(("a.yaml", 1, 8), "/a/1")]
    assert document.invalid == frozenset({("a", 1)})
    assert document.content["b"] == 2.5


# 5. Manifest-only policy in validate ----------------------------------------------------------


def policy_stack(enforcement: str) -> str:
    return STACK + (
        '  policy:\n    allowedAccounts: ["100000000002"]\n    requiredTags: [owner]\n'
        f"    enforcement: {enforcement}\n"
    )


POLICY_SHARE = SHARE.replace('["100000000002"]', '["100000000002", "100000000003"]')


def test_deny_policy_rules_fail_validate_with_located_problems(tree: Tree) -> None:
    root = tree({"stack.yaml": policy_stack("deny"), "i.yaml": IMAGE, "s.yaml": POLICY_SHARE})
    result = run_validate(root)
    assert result.return_value == 1
    share_line, share_column = locate(POLICY_SHARE, '"100000000003"')
    assert result.stdout.splitlines() == [
        'i.yaml:5:1: Image/web: policy requiredTags: missing required tag "owner"',
        f"s.yaml:{share_line}:{share_column}: ImageShare/web-share: policy allowedAccounts: "
        "account 100000000003 is not in policy.allowedAccounts (100000000002)",
    ]
    assert "2 problem(s)" in result.stderr


def test_warn_policy_rules_are_warnings_on_stderr_and_validate_passes(tree: Tree) -> None:
    image = IMAGE + "  tags: {team: web}\n"
    root = tree({"stack.yaml": policy_stack("warn"), "i.yaml": image, "s.yaml": POLICY_SHARE})
    result = run_validate(root)
    assert result.return_value == 0
    assert result.stdout == "OK: 3 documents, 1 images, 0 copies, 2 shares\n"
    tags_line, tags_column = locate(image, "tags")
    assert f"i.yaml:{tags_line}:{tags_column}: Image/web: warning: policy requiredTags: " in (
        result.stderr
    )
    assert "ImageShare/web-share: warning: policy allowedAccounts: account 100000000003" in (
        result.stderr
    )


def test_json_format_marks_each_entry_with_its_severity(tree: Tree, tmp_path: Path) -> None:
    stack = policy_stack("{allowedAccounts: deny, requiredTags: warn}")
    root = tree({"stack.yaml": stack, "i.yaml": IMAGE, "s.yaml": POLICY_SHARE})
    result = run_validate(root, "--format", "json")
    assert result.return_value == 1
    entries = json.loads(result.stdout)
    assert [(e["kind"], e["pointer"], e["severity"]) for e in entries] == [
        ("Image", "/spec", "warning"),
        ("ImageShare", "/spec/accounts/1", "error"),
    ]
    only_warnings = write_tree(
        tmp_path / "warnings", {"stack.yaml": policy_stack("warn"), "i.yaml": IMAGE}
    )
    result = run_validate(only_warnings, "--format", "json")
    assert result.return_value == 0
    assert [e["severity"] for e in json.loads(result.stdout)] == ["warning"]


def test_plan_and_apply_leave_policy_to_the_plan(tree: Tree) -> None:
    root = tree({"stack.yaml": policy_stack("deny"), "i.yaml": IMAGE, "s.yaml": POLICY_SHARE})
    desired = load_desired(root)  # the planner decides (new shares only), with its own report
    assert len(desired.shares) == 2


def test_validate_and_the_planner_share_one_rule_implementation(tree: Tree) -> None:
    root = tree({"stack.yaml": policy_stack("warn"), "i.yaml": IMAGE, "s.yaml": POLICY_SHARE})
    desired = load_desired(root)
    found = manifest_violations(desired)
    assert [(v.rule, v.address, v.enforcement) for v in found] == [
        ("allowedAccounts", "share.web@ap-guangzhou:100000000003", "warn"),
        ("requiredTags", "image.web", "warn"),
    ]
    empty_plan = Plan(stack="prod", created_at="", expires_at="")
    planned = [v for v in check_policy(desired, empty_plan) if v.rule == "requiredTags"]
    assert planned == [v for v in found if v.rule == "requiredTags"]


# 6. Merge keys keep explicit positions --------------------------------------------------------


@pytest.mark.parametrize("merge_first", [True, False])
def test_explicit_keys_keep_their_position_next_to_a_merge_key(merge_first: bool) -> None:
    lines = ["  <<: *b\n", "  y: 3\n"]
    text = "base: &b {x: 1, y: 2}\nd:\n" + "".join(lines if merge_first else lines[::-1])
    (document,), problems = load_manifest_text("a.yaml", text)
    assert problems == []
    assert document.content["d"] == {"x": 1, "y": 3}
    explicit = 4 if merge_first else 3
    assert document.key_position(("d", "y")) == type(document.start)(explicit, 3)
    assert document.value_position(("d", "y")) == type(document.start)(explicit, 6)
    # the merged entry is where the anchor writes it
    assert document.key_position(("d", "x")) == type(document.start)(1, 11)
    assert document.value_position(("d", "x")) == type(document.start)(1, 14)


def test_a_problem_in_an_explicit_key_beside_a_merge_is_located_there(tree: Tree) -> None:
    text = (
        "apiVersion: reconciler/v1\nkind: Image\nmetadata: {name: web}\n"
        "spec:\n  <<: &common {region: ap-guangzhou, source: {instance: {id: ins-demo0001}}}\n"
        "  region: ap-tokyo\n"
    )
    root = tree({"stack.yaml": STACK, "i.yaml": text})
    _, problems = validate_path(root)
    (problem,) = problems
    assert "region ap-tokyo is not in Stack.spec.regions" in problem.message
    assert where(problem) == ("i.yaml", *locate(text, "ap-tokyo"))


# 7. Loader problems name their document and field ---------------------------------------------


def test_a_duplicate_key_names_the_document_and_field(tree: Tree) -> None:
    text = IMAGE + "  region: ap-shanghai\n"
    root = tree({"stack.yaml": STACK, "i.yaml": text})
    _, problems = validate_path(root)
    (problem,) = problems
    line, column = locate(text, "region", 2)
    assert str(problem) == (
        f'i.yaml:{line}:{column}: Image/web: duplicate key "region" (first at line 6); '
        "YAML would silently keep only one"
    )
    assert problem.pointer == "/spec/region"


def test_a_bad_tag_and_an_alias_bomb_name_the_document_and_field(tree: Tree) -> None:
    tagged = IMAGE + "  description: !secret x\n"
    bomb = (
        STACK
        + "  policy:\n    requiredTags: &a [a, a, a, a, a, a, a, a, a, a]\n"
        + "".join(
            f"x{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
    )
    root = tree({"stack.yaml": bomb, "i.yaml": tagged})
    _, problems = validate_path(root)
    by_file = {p.file: p for p in problems}
    assert (by_file["i.yaml"].kind, by_file["i.yaml"].name) == ("Image", "web")
    assert by_file["i.yaml"].pointer == "/spec/description"
    assert "unsupported YAML tag !secret" in by_file["i.yaml"].message
    assert (by_file["stack.yaml"].kind, by_file["stack.yaml"].name) == ("Stack", "prod")
    assert by_file["stack.yaml"].pointer.startswith("/x")
    assert "alias bomb" in by_file["stack.yaml"].message


def test_a_loader_problem_in_a_document_of_unknown_kind_has_no_subject() -> None:
    _, problems = load_manifest_text("a.yaml", "kind: Imag\nmetadata: {name: x}\na: 1\na: 2\n")
    (problem,) = problems
    assert (problem.kind, problem.name, problem.pointer) == ("", "x", "/a")


# 8. Reference checks on invalid documents -----------------------------------------------------


def test_a_dangling_image_is_reported_beside_a_bad_account(tree: Tree) -> None:
    share = SHARE.replace("image: web", "image: nope").replace("100000000002", "12ab")
    root = tree({"stack.yaml": STACK, "i.yaml": IMAGE, "s.yaml": share})
    _, problems = validate_path(root)
    assert sorted(p.message for p in problems) == [
        'no Image named "nope" in this stack',
        'spec.accounts[0]: "12ab" must be an account ID: a string of 5 to 13 digits',
    ]
    assert {p.kind for p in problems} == {"ImageShare"}


def test_copy_regions_are_checked_in_a_copy_with_another_problem(tree: Tree) -> None:
    copy = COPY.replace("[ap-shanghai]", "[ap-guangzhou, ap-seoul]") + "  extra: 1\n"
    root = tree({"stack.yaml": STACK, "i.yaml": IMAGE, "c.yaml": copy})
    _, problems = validate_path(root)
    assert sorted(p.message for p in problems) == [
        'ap-guangzhou is the home region of image "web": a copy must go to another region',
        "region ap-seoul is not in Stack.spec.regions (ap-guangzhou, ap-shanghai, ap-singapore)",
        'unknown field "extra" in spec (allowed: image, regions)',
    ]


def test_an_invalid_reference_field_is_not_checked_again(tree: Tree) -> None:
    copy = COPY.replace("image: web", "image: Web!")
    root = tree({"stack.yaml": STACK, "i.yaml": IMAGE, "c.yaml": copy})
    _, problems = validate_path(root)
    (problem,) = problems
    assert problem.pointer == "/spec/image"
    assert "no Image named" not in problem.message


def test_an_image_home_region_is_checked_beside_another_problem(tree: Tree) -> None:
    image = IMAGE.replace("region: ap-guangzhou", "region: ap-tokyo") + "  deprecated: maybe\n"
    root = tree({"stack.yaml": STACK, "i.yaml": image})
    _, problems = validate_path(root)
    assert sorted(p.pointer for p in problems) == ["/spec/deprecated", "/spec/region"]


# 9. A read-only desired state -----------------------------------------------------------------


def _maps(root: Path) -> Iterator[object]:
    desired = load_desired(root)
    image = desired.images[0]
    yield image.tags
    yield image.labels
    yield image.annotations
    yield desired.stack.policy.enforcement
    yield desired.stack.pricing.per_gb_month
    yield desired.stack.pricing.free_tier_gb


def test_the_desired_state_maps_are_read_only(tree: Tree) -> None:
    stack = STACK + (
        "  policy: {enforcement: warn}\n"
        "  pricing: {perGBMonth: {ap-guangzhou: 0.02}, freeTierGB: {ap-guangzhou: 10}}\n"
    )
    image = IMAGE.replace(
        "  name: web\n", "  name: web\n  labels: {a: b}\n  annotations: {c: d}\n"
    ) + ("  tags: {owner: web}\n")
    root = tree({"stack.yaml": stack, "i.yaml": image})
    maps = list(_maps(root))
    assert all(isinstance(m, MappingProxyType) for m in maps)
    for mapping in maps:
        with pytest.raises(TypeError):
            mapping["new"] = "x"  # type: ignore[index]
    desired = load_desired(root)
    assert desired.stack.policy.enforcement_of("requiredTags") is Enforcement.WARN
    assert dict(desired.images[0].tags) == {"owner": "web"}
