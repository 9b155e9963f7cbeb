"""Property tests: random documents, YAML and bytes either validate or give located problems."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests import validate_documents
from reconciler.manifests.problems import Problem
from reconciler.manifests.yaml_loader import (
    LocatedDocument,
    load_manifest_bytes,
    load_manifest_text,
)
from reconciler.model.desired import DesiredState

from .helpers import IMAGE, STACK

KEYS = [
    "apiVersion", "kind", "metadata", "name", "spec", "region", "regions", "source", "instance",
    "id", "image", "accounts", "imageName", "tags", "lifecycle", "policy", "provider", "import",
    "existing", "imageId", "snapshots", "system", "enforcement", "pricing", "perGBMonth", "x",
]  # fmt: skip
WORDS = [
    "reconciler/v1", "Stack", "Image", "ImageCopy", "ImageShare", "web", "ap-guangzhou",
    "ap-shanghai", "ins-demo0001", "100000000002", "img-12345678", "snap-demo0001", "deny",
    "BYOL", "local", "tencentcloud", "reconciler:x", "",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False),
    st.sampled_from(WORDS),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6) | values
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_located(lines: list[str], problems: list[Problem]) -> None:
    for problem in problems:
        assert problem.file == "doc.yaml"
        assert problem.message
        assert 1 <= problem.line <= max(len(lines), 1) + 1, problem
        assert problem.column >= 1


def _validate(text: str) -> tuple[DesiredState | None, list[Problem]]:
    base: list[LocatedDocument] = []
    for name, fixed in (("stack.yaml", STACK), ("image.yaml", IMAGE)):
        loaded, found = load_manifest_text(name, fixed)
        assert found == []
        base.extend(loaded)
    loaded, problems = load_manifest_text("doc.yaml", text)
    desired, found = validate_documents([*base, *loaded], complete=not problems)
    all_problems = problems + found
    _assert_located(text.splitlines(), [p for p in all_problems if p.file == "doc.yaml"])
    assert (desired is None) == bool(all_problems)
    return desired, all_problems


@FAST
@given(st.lists(documents, min_size=1, max_size=3))
def test_random_documents_validate_or_give_located_problems(docs: list[Any]) -> None:
    text = yaml.safe_dump_all(docs, sort_keys=False)
    _validate(text)


@FAST
@given(
    kind=st.sampled_from(["Image", "ImageCopy", "ImageShare", "Stack"]),
    spec=st.dictionaries(st.sampled_from(KEYS), values, max_size=5),
    name=st.sampled_from(["web", "other", "Bad", ""]),
)
def test_random_specs_of_real_kinds(kind: str, spec: dict[str, Any], name: str) -> None:
    document = {
        "apiVersion": "reconciler/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }
    _validate(yaml.safe_dump(document, sort_keys=False))


@FAST
@given(
    st.text(alphabet=st.sampled_from(list("ab:- \n[]{},&*!|>'\"#?%@`\t0123456789")), max_size=80)
)
def test_random_yaml_text_never_raises(text: str) -> None:
    _validate(text)


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    documents, problems = load_manifest_bytes("doc.yaml", data)
    for problem in problems:
        assert problem.file == "doc.yaml"
        assert problem.line >= 1
    validate_documents(documents)
