"""A small, line-aware document tree built from YAML or JSON without trusting the input.

The checks need line numbers, which ``yaml.safe_load`` and ``json.loads`` throw
away, so documents are *composed* (YAML) or tokenised (JSON, see
:mod:`.jsontree`) into :class:`Scalar`, :class:`Mapping` and :class:`Sequence`
nodes carrying 1-based lines. Hostile input is defused here, once:

* an alias (``*a``) that points at a node already in the tree becomes an empty
  scalar, so billion-laughs documents and recursive anchors stay linear: the
  anchored original is still checked where it is written;
* nesting deeper than :data:`MAX_DEPTH` is refused *before* libyaml sees it
  (its composer recurses in C and crashes the process on very deep input);
* any parse error yields ``None`` for that document, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import yaml

MAX_DEPTH = 200
"""Deepest nesting analysed; real manifests, state files and values stay far below it."""

_DOC_START = re.compile(rb"(?m)^---(?=[ \t\r\n]|$)")
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
# Indentation plus compact block indicators (``- - - x``, ``? - x``) bounds block nesting.
_BLOCK_PREFIX = re.compile(rb"(?m)^[ \t?:\-]+")
_CORE_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
    "tag:yaml.org,2002:binary": "binary",
}


@dataclass(slots=True)
class Scalar:
    """A leaf: ``tag`` is ``str``, ``int``, ``float``, ``bool``, ``null`` or ``other`` (custom tags)."""

    value: str
    line: int
    column: int
    end_line: int
    tag: str = "str"

    @property
    def text(self) -> str | None:
        """The value when it is a string literal, else ``None`` (numbers, booleans, ``!vault`` and the like)."""
        return self.value if self.tag == "str" else None


@dataclass(slots=True)
class Mapping:
    """A mapping; only scalar keys are kept (complex keys carry no configuration the checks read)."""

    line: int
    column: int
    end_line: int
    items: list[tuple[Scalar, Node]] = field(default_factory=list)

    def get(self, key: str) -> Node | None:
        """The value under ``key`` (the last one if the key repeats, as Kubernetes decoders keep)."""
        found: Node | None = None
        for k, v in self.items:
            if k.value == key:
                found = v
        return found

    def entry(self, key: str) -> tuple[Scalar, Node] | None:
        """The ``(key, value)`` pair for ``key``, for checks that report on the key's line."""
        found: tuple[Scalar, Node] | None = None
        for pair in self.items:
            if pair[0].value == key:
                found = pair
        return found

    def text(self, key: str) -> str | None:
        """The string value under ``key``, or ``None`` when absent or not a string."""
        node = self.get(key)
        return node.text if isinstance(node, Scalar) else None


@dataclass(slots=True)
class Sequence:
    """A sequence of nodes."""

    line: int
    column: int
    end_line: int
    items: list[Node] = field(default_factory=list)


Node: TypeAlias = Scalar | Mapping | Sequence


def too_deep(data: bytes) -> bool:
    """Whether ``data`` may nest deeper than :data:`MAX_DEPTH` (conservative: quoted brackets count)."""
    brackets = data.translate(None, _BRACKETS)
    if len(brackets) > MAX_DEPTH:
        depth = deepest = 0
        for byte in brackets:
            depth += 1 if byte in b"[{" else -1
            deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return True
    prefixes = _BLOCK_PREFIX.findall(data)
    return bool(prefixes) and max(map(len, prefixes)) > MAX_DEPTH


def split_documents(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``(first_line, chunk)`` for each ``---``-separated YAML document (lines 1-based).

    Splitting before parsing lets a broken document leave the others intact and
    lets the caller skip documents that cannot hold anything to check.
    """
    starts = [m.start() for m in _DOC_START.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 1
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        yield line, chunk
        line += chunk.count(b"\n")


def compose_yaml(chunk: bytes, first_line: int) -> list[Node]:
    """Compose every document in ``chunk`` into trees; an unparsable chunk yields ``[]``."""
    import yaml  # noqa: PLC0415 (kept off the hook's import path)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        roots = [node for node in yaml.compose_all(chunk, Loader=loader) if node is not None]
    except (yaml.YAMLError, RecursionError, ValueError, UnicodeError, MemoryError):
        return []
    seen: set[int] = set()
    return [_convert(root, first_line - 1, seen) for root in roots]


def _convert(root: yaml.Node, offset: int, seen: set[int]) -> Node:
    """Copy a composed yaml node graph into a tree, without recursion and without following repeats."""
    import yaml  # noqa: PLC0415

    def shell(node: yaml.Node) -> Node:
        line = node.start_mark.line + 1 + offset
        col = node.start_mark.column + 1
        end = (
            node.end_mark.line
            + offset
            + (0 if node.end_mark.column == 0 and node.end_mark.line > node.start_mark.line else 1)
        )
        if id(node) in seen or not isinstance(node, yaml.ScalarNode | yaml.MappingNode | yaml.SequenceNode):
            return Scalar("", line, col, max(line, end), "null")
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return Scalar(str(node.value), line, col, max(line, end), _CORE_TAGS.get(node.tag, "other"))
        if isinstance(node, yaml.MappingNode):
            return Mapping(line, col, max(line, end))
        return Sequence(line, col, max(line, end))

    top = shell(root)
    stack: list[tuple[yaml.Node, Node]] = [(root, top)]
    while stack:
        source, target = stack.pop()
        if isinstance(target, Mapping) and isinstance(source, yaml.MappingNode):
            for key_node, value_node in source.value:
                key, value = shell(key_node), shell(value_node)
                if isinstance(key, Scalar):
                    target.items.append((key, value))
                    stack.append((value_node, value))
        elif isinstance(target, Sequence) and isinstance(source, yaml.SequenceNode):
            for item_node in source.value:
                item = shell(item_node)
                target.items.append(item)
                stack.append((item_node, item))
    return top


def lines_of(node: Node, key: Scalar | None = None) -> range:
    """The 1-based lines a value (and its key, if given) spans, for quiet ranges."""
    first = key.line if key is not None else node.line
    return range(min(first, node.line), max(node.end_line, first) + 1)


def walk(root: Node) -> Iterator[tuple[tuple[str, ...], Scalar | None, Node]]:
    """Every node under ``root`` with its key path and the key it sits under (iterative, depth-bounded)."""
    stack: list[tuple[tuple[str, ...], Scalar | None, Node]] = [((), None, root)]
    while stack:
        path, key, node = stack.pop()
        yield path, key, node
        if len(path) >= MAX_DEPTH:
            continue
        if isinstance(node, Mapping):
            for k, v in reversed(node.items):
                stack.append(((*path, k.value), k, v))
        elif isinstance(node, Sequence):
            for i in range(len(node.items) - 1, -1, -1):
                stack.append(((*path, str(i)), key, node.items[i]))
