"""Go's dynamic types as Python values, and the function signature type of the table.

Go's dynamic types are mirrored by Python types so that argument type errors
match the controller's: ``str`` is string, ``int`` is int, :class:`Int64` is
int64 (what Sprig arithmetic returns), ``float`` is float64, ``bool`` is bool,
``None`` is nil, ``list`` is []interface{}, ``dict`` is map[string]interface{}
and :class:`StrMap` is map[string]string (the template's dot). Strings hold
bytes that are not UTF-8 as ``surrogateescape`` code points, so byte-oriented
Go functions (``len``, ``trunc``, ``b64enc``...) stay byte-exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gitsecure.seal.gotemplate.errors import TooLarge
from gitsecure.seal.gotemplate.limits import MAX_STRING


class Int64(int):
    """A Go ``int64``: Go refuses one where a function wants ``int`` (``repeat (add 1 1) "x"``)."""


class StrMap(dict[str, object]):
    """A Go ``map[string]string``: Sprig's map functions refuse it, as Go's type check does."""


@dataclass(frozen=True, slots=True)
class Func:
    """A callable with Go parameter kinds: ``any``, ``string``, ``int``, ``bool`` or ``map``."""

    fn: Callable[..., object]
    params: tuple[str, ...]
    variadic: str | None = None


# The parameter kinds, short so that the function table reads as a table.
A, S, N, B, M = "any", "string", "int", "bool", "map"

GO_KIND_NAMES = {
    "any": "interface {}",
    "string": "string",
    "int": "int",
    "bool": "bool",
    "map": "map[string]interface {}",
}


def to_bytes(s: str) -> bytes:
    """The Go string's bytes (see the module docstring on ``surrogateescape``)."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no Go string could hold
        return s.encode("utf-8", "replace")


def from_bytes(b: bytes) -> str:
    """The inverse of :func:`to_bytes`."""
    return b.decode("utf-8", "surrogateescape")


def go_type(v: object) -> str:
    """The Go type name text/template would print for ``v``."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64" if isinstance(v, Int64) else "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]string" if isinstance(v, StrMap) else "map[string]interface {}"
    return "[]interface {}"


def truth(v: object) -> bool:
    """Go's template truth (``isTrue``), which Sprig's ``empty`` negates."""
    if v is None:
        return False
    if isinstance(v, (bool, int, float)):
        return v != 0
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    return True


class Buf:
    """A string builder that refuses to grow past :data:`MAX_STRING` (formatters can multiply input)."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, s: str) -> None:
        self.size += len(s)
        if self.size > MAX_STRING:
            raise TooLarge()
        self.parts.append(s)

    def value(self) -> str:
        return "".join(self.parts)


def sorted_keys(d: dict[str, object]) -> list[str]:
    """A map's keys in the order Go prints and encodes them."""
    return sorted(d, key=to_bytes)  # Go sorts map keys bytewise
