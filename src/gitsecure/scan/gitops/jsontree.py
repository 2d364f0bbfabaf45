"""JSON into the line-aware tree of :mod:`.tree` (Terraform state, Docker config, JSON manifests).

PyYAML is not a JSON parser (it rejects ``\\/`` escapes and tab indentation,
which ``docker login`` writes), so JSON gets this small recursive-descent
reader: strings through the standard library's C ``scanstring``, exact line
numbers, depth bounded by :data:`.tree.MAX_DEPTH`, and ``None`` for anything
that is not valid JSON.
"""

from __future__ import annotations

import bisect
import json.decoder
import re
from collections.abc import Callable

from gitsecure.scan.gitops.tree import MAX_DEPTH, Mapping, Node, Scalar, Sequence

_WS = re.compile(r"[ \t\r\n]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = {"true": "bool", "false": "bool", "null": "null"}
# The C string scanner json.loads uses (not in typeshed): exact JSON escapes, fast.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class _Invalid(Exception):
    """Not JSON (or too deep): the caller falls back to no structural analysis."""


def parse_json(data: bytes) -> Node | None:
    """The tree of one JSON document, or ``None`` if ``data`` is not UTF-8 JSON."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    reader = _Reader(text)
    try:
        node = reader.value(reader.skip(0), 0)
        if reader.skip(reader.pos) != len(text):
            return None
    except (_Invalid, ValueError, IndexError, RecursionError):
        return None
    return node


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def _where(self, pos: int) -> tuple[int, int]:
        index = bisect.bisect_left(self._newlines, pos)
        start = self._newlines[index - 1] + 1 if index else 0
        return index + 1, pos - start + 1

    def skip(self, pos: int) -> int:
        """The position after the whitespace at ``pos``."""
        match = _WS.match(self.text, pos)
        return match.end() if match else pos

    def value(self, pos: int, depth: int) -> Node:
        """Read one value at ``pos`` (no leading whitespace); leaves ``self.pos`` after it."""
        if depth > MAX_DEPTH:
            raise _Invalid
        text = self.text
        line, column = self._where(pos)
        char = text[pos]
        if char == '"':
            value, end = _scanstring(text, pos + 1)
            self.pos = end
            return Scalar(value, line, column, line)
        if char == "{":
            mapping = Mapping(line, column, line)
            pos = self.skip(pos + 1)
            if text[pos] != "}":
                while True:
                    if text[pos] != '"':
                        raise _Invalid
                    key_line, key_column = self._where(pos)
                    key_text, pos = _scanstring(text, pos + 1)
                    pos = self.skip(pos)
                    if text[pos] != ":":
                        raise _Invalid
                    item = self.value(self.skip(pos + 1), depth + 1)
                    mapping.items.append((Scalar(key_text, key_line, key_column, key_line), item))
                    pos = self.skip(self.pos)
                    if text[pos] == "}":
                        break
                    if text[pos] != ",":
                        raise _Invalid
                    pos = self.skip(pos + 1)
            self.pos = pos + 1
            mapping.end_line = self._where(pos)[0]
            return mapping
        if char == "[":
            sequence = Sequence(line, column, line)
            pos = self.skip(pos + 1)
            if text[pos] != "]":
                while True:
                    sequence.items.append(self.value(pos, depth + 1))
                    pos = self.skip(self.pos)
                    if text[pos] == "]":
                        break
                    if text[pos] != ",":
                        raise _Invalid
                    pos = self.skip(pos + 1)
            self.pos = pos + 1
            sequence.end_line = self._where(pos)[0]
            return sequence
        for literal, tag in _LITERALS.items():
            if text.startswith(literal, pos):
                self.pos = pos + len(literal)
                return Scalar(literal, line, column, line, tag)
        number = _NUMBER.match(text, pos)
        if number is None or number.end() == pos:
            raise _Invalid
        self.pos = number.end()
        tag = "float" if number.group(1) or number.group(2) else "int"
        return Scalar(number.group(0), line, column, line, tag)
