"""Safe YAML loading that keeps the file, line and column of every key and value."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifests.problems import Problem, dotted, pointer_of, quote
from reconciler.manifests.schemas import KIND_SCHEMAS

MAX_ALIAS_NODES = 10_000
"""Nodes that alias expansion may produce per document (stops "billion laughs")."""
MAX_DEPTH = 64
"""Nesting depth of mappings and sequences per document."""

PathKey = tuple[str | int, ...]
"""A path into a document: mapping keys and sequence indexes."""

_TAG = "tag:yaml.org,2002:"
_KEPT_AS_TEXT = {_TAG + "timestamp", _TAG + "binary"}
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")} | _KEPT_AS_TEXT


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LocatedDocument:
    """One YAML document as plain data, with the position of every key and value."""

    file: str
    """Relative to the manifest directory."""
    content: Any
    """dict / list / str / int / float / bool / None."""
    start: Position
    values: Mapping[PathKey, Position]
    keys: Mapping[PathKey, Position]
    """Position of the key of each mapping entry (by the entry's path)."""
    invalid: frozenset[PathKey] = frozenset()
    """Paths whose values the loader already reported (a non-finite number): no further
    problem is reported about them."""

    def value_position(self, path: PathKey) -> Position:
        """Where the value at `path` starts (or its nearest located ancestor)."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return self.start

    def key_position(self, path: PathKey) -> Position:
        """Where the key of the entry at `path` is (the value's position for list items)."""
        found = self.keys.get(path)
        return found if found is not None else self.value_position(path)


class _DocumentError(Exception):
    """A document that can't be turned into data at all (alias bomb, bad tag, too deep)."""

    def __init__(self, message: str, where: Node | Position, path: PathKey | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = where if isinstance(where, Position) else _position(where)
        self.path = path
        """Where in the document (filled in by the innermost `build` when not given)."""


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar_text(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == _TAG + "str":
        return str(node.value)
    return None


def _entry(node: Node, key: str) -> Node | None:
    """The value node of `key` in a mapping node (None when absent or not a mapping)."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if _scalar_text(key_node) == key:
            found: Node = value_node
            return found
    return None


def document_subject(node: Node) -> tuple[str, str]:
    """(kind, metadata.name) of a document read from its nodes, without building it.

    The kind is given only when it is a known kind (as the schema checks report it); the name
    when it is a string.
    """
    kind = _scalar_text(_entry(node, "kind")) or ""
    metadata = _entry(node, "metadata")
    name = _scalar_text(_entry(metadata, "name")) if metadata is not None else None
    return (kind if kind in KIND_SCHEMAS else ""), (name or "")


class _DocumentBuilder:
    """Turns one composed YAML node graph into plain data, recording positions."""

    def __init__(self, file: str, kind: str = "", name: str = "") -> None:
        self.file = file
        self.kind = kind
        self.name = name
        self.values: dict[PathKey, Position] = {}
        self.keys: dict[PathKey, Position] = {}
        self.invalid: set[PathKey] = set()
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        self._built: set[int] = set()
        self._active: set[int] = set()
        self._expanding = 0
        self._alias_nodes = 0
        self._expansion_at = Position(1, 1)
        """Where the outermost alias being expanded is used."""
        self._expansion_path: PathKey = ()

    def build(self, node: Node, path: PathKey = (), depth: int = 0) -> Any:
        try:
            return self._build(node, path, depth)
        except _DocumentError as exc:
            if exc.path is None:
                exc.path = path
            raise

    def _build(self, node: Node, path: PathKey, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _DocumentError(f"nesting deeper than {MAX_DEPTH} levels", node)
        if id(node) in self._active:
            raise _DocumentError("recursive YAML alias (a node that contains itself)", node)
        reused = id(node) in self._built
        self._built.add(id(node))
        if reused:
            if not self._expanding:
                self._expansion_at = self.values.get(path[:-1], _position(node))
                self._expansion_path = path[:-1]
            self._expanding += 1
        if self._expanding:
            self._alias_nodes += 1
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise _DocumentError(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)",
                    self._expansion_at,
                    self._expansion_path,
                )
        self.values.setdefault(path, _position(node))
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path, depth)
            if isinstance(node, SequenceNode):
                if node.tag != _TAG + "seq":
                    raise _DocumentError(f"unsupported YAML tag {node.tag}", node)
                return [
                    self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            return self._scalar(node, path)
        finally:
            self._active.discard(id(node))
            if reused:
                self._expanding -= 1

    def _scalar(self, node: Node, path: PathKey | None = None) -> Any:
        """The scalar's value; `path` is None for mapping keys."""
        if node.tag not in _SCALAR_TAGS:
            raise _DocumentError(f"unsupported YAML tag {node.tag}", node)
        if node.tag in _KEPT_AS_TEXT:
            return str(node.value)
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            raise _DocumentError(f"bad scalar {node.value!r}: {exc}", node) from exc
        if path is not None and isinstance(value, float) and not math.isfinite(value):
            # .nan / .inf / 1.0e+999: no price, size or count is infinite, and JSON can't hold them.
            self.invalid.add(path)
            here = dotted(path) or "the document"
            self.problems.append(
                self._problem(
                    node,
                    f"{here}: {node.value} is not a finite number (NaN and infinity are refused)",
                    path,
                )
            )
        return value

    def _mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            raise _DocumentError(f"unsupported YAML tag {node.tag}", node)
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key in result:
                first = self.keys[(*path, key)]
                self.problems.append(
                    self._problem(
                        key_node,
                        f"duplicate key {quote(key)} (first at line {first.line}); "
                        "YAML would silently keep only one",
                        (*path, key),
                    )
                )
                continue
            self.keys[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        # Merged entries fill in what the mapping does not say itself, earlier sources first;
        # each keeps the position it has where the anchor is written.
        for merge in merges:
            for key, value, values, keys in self._merge(merge, path, depth):
                if key in result:
                    continue
                result[key] = value
                entry = (*path, key)
                for located, recorded in ((values, self.values), (keys, self.keys)):
                    for where, position in located.items():
                        if where[: len(entry)] == entry:
                            recorded.setdefault(where, position)
        return result

    def _merge(
        self, node: Node, path: PathKey, depth: int
    ) -> list[tuple[str, Any, dict[PathKey, Position], dict[PathKey, Position]]]:
        """The entries of a `<<` value, each with the positions recorded while building it."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        entries: list[tuple[str, Any, dict[PathKey, Position], dict[PathKey, Position]]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                raise _DocumentError("a merge key (<<) needs a mapping or a list of mappings", node)
            values, keys = self.values, self.keys
            self.values, self.keys = {}, {}
            try:
                built = self.build(source, path, depth + 1)
                located_values, located_keys = self.values, self.keys
            finally:
                self.values, self.keys = values, keys
            entries.extend((k, v, located_values, located_keys) for k, v in built.items())
        return entries

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise _DocumentError("mapping keys must be plain strings, not lists or mappings", node)
        key = self._scalar(node)
        if not isinstance(key, str):
            raise _DocumentError(
                f"mapping keys must be strings, got {node.value!r} (quote it)", node
            )
        return key

    def _problem(self, node: Node, message: str, path: PathKey) -> Problem:
        position = _position(node)
        return Problem(
            self.file,
            position.line,
            position.column,
            self.kind,
            self.name,
            pointer_of(path),
            message,
        )


def _text_position(text: str, offset: int) -> Position:
    """Line and column of a character offset in `text`."""
    before = text[:offset]
    return Position(before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def decode_manifest_bytes(file: str, data: bytes) -> tuple[str | None, Problem | None]:
    """UTF-8 text of a manifest file, or a located problem for binary content."""
    if b"\x00" in data:
        offset = data.index(b"\x00")
        position = _text_position(data[:offset].decode("utf-8", "replace"), offset)
        return None, Problem(
            file,
            position.line,
            position.column,
            "",
            "",
            "",
            "binary content (a NUL byte): not a YAML text file",
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        position = _text_position(data[: exc.start].decode("utf-8", "replace"), exc.start)
        return None, Problem(
            file,
            position.line,
            position.column,
            "",
            "",
            "",
            f"binary content: byte 0x{data[exc.start]:02x} is not valid UTF-8",
        )


def _yaml_problem(file: str, text: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        position = _text_position(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"control character U+{code:04X} is not allowed in YAML"
    elif isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        position = Position(exc.problem_mark.line + 1, exc.problem_mark.column + 1)
        message = f"malformed YAML: {exc.problem}"
        if exc.context and exc.context_mark is not None:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    else:
        position = Position(1, 1)
        message = f"malformed YAML: {exc}"
    return Problem(file, position.line, position.column, "", "", "", message)


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """The documents of one file, the problems met, and whether every document was read."""

    documents: list[LocatedDocument]
    problems: list[Problem]
    complete: bool
    """False when a document may be missing (malformed YAML, a document that can't be built,
    binary content); a duplicate key or a bad value keeps its document and the file complete."""


def load_manifest(file: str, text: str) -> LoadedFile:
    """Every non-empty document of one file, and the problems found while reading it."""
    documents: list[LocatedDocument] = []
    problems: list[Problem] = []
    complete = True
    try:
        for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
            kind, name = document_subject(node)
            builder = _DocumentBuilder(file, kind, name)
            try:
                content = builder.build(node)
            except _DocumentError as exc:
                complete = False
                problems.append(
                    Problem(
                        file,
                        exc.position.line,
                        exc.position.column,
                        kind,
                        name,
                        pointer_of(exc.path or ()),
                        exc.message,
                    )
                )
                continue
            problems.extend(builder.problems)
            if content is None:
                continue
            documents.append(
                LocatedDocument(
                    file=file,
                    content=content,
                    start=_position(node),
                    values=builder.values,
                    keys=builder.keys,
                    invalid=frozenset(builder.invalid),
                )
            )
    except yaml.YAMLError as exc:
        complete = False
        problems.append(_yaml_problem(file, text, exc))
    except RecursionError:
        complete = False
        problems.append(Problem(file, 1, 1, "", "", "", "YAML nested too deeply to read"))
    return LoadedFile(documents, problems, complete)


def load_manifest_text(file: str, text: str) -> tuple[list[LocatedDocument], list[Problem]]:
    """Every non-empty document of one file, and the problems found while reading it."""
    loaded = load_manifest(file, text)
    return loaded.documents, loaded.problems


def load_manifest_file_bytes(file: str, data: bytes) -> LoadedFile:
    """Decode and load one file's bytes (binary content is a problem, not an exception)."""
    text, problem = decode_manifest_bytes(file, data)
    if text is None:
        return LoadedFile([], [problem] if problem else [], complete=False)
    return load_manifest(file, text)


def load_manifest_bytes(file: str, data: bytes) -> tuple[list[LocatedDocument], list[Problem]]:
    """Decode and load one file's bytes (binary content is a problem, not an exception)."""
    loaded = load_manifest_file_bytes(file, data)
    return loaded.documents, loaded.problems
