"""Sprig's integer functions: ``atoi``, ``int``, ``add``, ``sub``, ``mul``, ``div``, ``mod``.

Arguments go through cast's lenient :func:`.convert.to_int64`; the arithmetic
returns Go ``int64`` values (:class:`.values.Int64`) that wrap on overflow and
divide toward zero, as Go's do.
"""

from __future__ import annotations

import re

from gitsecure.seal.gotemplate.convert import I64_MAX, I64_MIN, to_int64, wrap64
from gitsecure.seal.gotemplate.errors import FuncError
from gitsecure.seal.gotemplate.values import A, Func, Int64, S


def _atoi(s: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return 0
    return max(I64_MIN, min(I64_MAX, int(s)))  # Atoi's range error still returns the clamped value


def _div(a: object, b: object, *, mod: bool = False) -> Int64:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)  # Go truncates toward zero
    return Int64(wrap64(x - q * y if mod else q))


def _mul(a: object, *rest: object) -> Int64:
    value = to_int64(a)
    for b in rest:
        value = wrap64(value * to_int64(b))
    return Int64(value)


NUMBERS: dict[str, Func] = {
    "atoi": Func(_atoi, (S,)),
    "int": Func(lambda v: int(to_int64(v)), (A,)),
    "add": Func(lambda *a: Int64(wrap64(sum(map(to_int64, a)))), (), A),
    "sub": Func(lambda a, b: Int64(wrap64(to_int64(a) - to_int64(b))), (A, A)),
    "mul": Func(_mul, (A,), A),
    "div": Func(_div, (A, A)),
    "mod": Func(lambda a, b: _div(a, b, mod=True), (A, A)),
}
