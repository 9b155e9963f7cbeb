"""Safe YAML loading that keeps the file, line and column of every key and value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifests.problems import Problem

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

    def __init__(self, message: str, where: Node | Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = where if isinstance(where, Position) else _position(where)


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _DocumentBuilder:
    """Turns one composed YAML node graph into plain data, recording positions."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[PathKey, Position] = {}
        self.keys: dict[PathKey, Position] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        self._built: set[int] = set()
        self._active: set[int] = set()
        self._expanding = 0
        self._alias_nodes = 0
        self._expansion_at = Position(1, 1)
        """Where the outermost alias being expanded is used."""

    def build(self, node: Node, path: PathKey = (), depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _DocumentError(f"nesting deeper than {MAX_DEPTH} levels", node)
        if id(node) in self._active:
            raise _DocumentError("recursive YAML alias (a node that contains itself)", node)
        reused = id(node) in self._built
        self._built.add(id(node))
        if reused:
            if not self._expanding:
                self._expansion_at = self.values.get(path[:-1], _position(node))
            self._expanding += 1
        if self._expanding:
            self._alias_nodes += 1
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise _DocumentError(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)",
                    self._expansion_at,
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
            return self._scalar(node)
        finally:
            self._active.discard(id(node))
            if reused:
                self._expanding -= 1

    def _scalar(self, node: Node) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise _DocumentError(f"unsupported YAML tag {node.tag}", node)
        if node.tag in _KEPT_AS_TEXT:
            return str(node.value)
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            raise _DocumentError(f"bad scalar {node.value!r}: {exc}", node) from exc

    def _mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            raise _DocumentError(f"unsupported YAML tag {node.tag}", node)
        result: dict[str, Any] = {}
        merged: list[tuple[str, Any]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.extend(self._merge(value_node, path, depth))
                continue
            key = self._key(key_node)
            if key in result:
                first = self.keys[(*path, key)]
                self.problems.append(
                    self._problem(
                        key_node,
                        f'duplicate key "{key}" (first at line {first.line}); '
                        "YAML would silently keep only one",
                    )
                )
                continue
            self.keys[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        for key, value in merged:
            result.setdefault(key, value)
        return result

    def _merge(self, node: Node, path: PathKey, depth: int) -> list[tuple[str, Any]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: list[tuple[str, Any]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                raise _DocumentError("a merge key (<<) needs a mapping or a list of mappings", node)
            value = self.build(source, path, depth + 1)
            pairs.extend(value.items())
        return pairs

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise _DocumentError("mapping keys must be plain strings, not lists or mappings", node)
        key = self._scalar(node)
        if not isinstance(key, str):
            raise _DocumentError(
                f"mapping keys must be strings, got {node.value!r} (quote it)", node
            )
        return key

    def _problem(self, node: Node, message: str) -> Problem:
        position = _position(node)
        return Problem(self.file, position.line, position.column, "", "", "", message)


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


def load_manifest_text(file: str, text: str) -> tuple[list[LocatedDocument], list[Problem]]:
    """Every non-empty document of one file, and the problems found while reading it."""
    documents: list[LocatedDocument] = []
    problems: list[Problem] = []
    try:
        for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
            builder = _DocumentBuilder(file)
            try:
                content = builder.build(node)
            except _DocumentError as exc:
                problems.append(
                    Problem(file, exc.position.line, exc.position.column, "", "", "", exc.message)
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
                )
            )
    except yaml.YAMLError as exc:
        problems.append(_yaml_problem(file, text, exc))
    except RecursionError:
        problems.append(Problem(file, 1, 1, "", "", "", "YAML nested too deeply to read"))
    return documents, problems


def load_manifest_bytes(file: str, data: bytes) -> tuple[list[LocatedDocument], list[Problem]]:
    """Decode and load one file's bytes (binary content is a problem, not an exception)."""
    text, problem = decode_manifest_bytes(file, data)
    if text is None:
        return [], [problem] if problem else []
    return load_manifest_text(file, text)
