"""Sprig's lenient conversions (spf13/cast): any value to an int64 or to a string.

Sprig's arithmetic, ``int`` and ``slice`` read their arguments through
:func:`to_int64`, and its string functions through :func:`strval`; neither ever
fails, as in Go.
"""

from __future__ import annotations

import math

from gitsecure.seal.gotemplate.gofmt import fmt_v
from gitsecure.seal.gotemplate.gostrconv import parse_go_int

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def wrap64(n: int) -> int:
    """``n`` wrapped to int64, as Go's integer arithmetic overflows."""
    return ((n - I64_MIN) & ((1 << 64) - 1)) + I64_MIN


def _trim_zero_decimal(s: str) -> str:
    # cast's trimZeroDecimal: "12.000" parses as 12, "12.5" does not parse at all.
    head, dot, tail = s.rpartition(".")
    return head if dot and tail and set(tail) == {"0"} else s


def to_int64(v: object) -> int:
    """spf13/cast ``ToInt64``: Sprig's lenient conversion, 0 for anything it cannot read."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return wrap64(v)
    if isinstance(v, float):
        return wrap64(int(v)) if math.isfinite(v) else I64_MIN
    if isinstance(v, str):
        n = parse_go_int(_trim_zero_decimal(v))
        return n if n is not None and I64_MIN <= n <= I64_MAX else 0
    return 0


def strval(v: object) -> str:
    """Sprig's ``strval``: strings as-is, everything else through ``%v``."""
    return v if isinstance(v, str) else fmt_v(v)
