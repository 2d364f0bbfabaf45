"""The parts of Go's ``fmt`` templates reach: ``%v`` printing, ``print``/``println`` and ``printf``.

The verbs and flags templates use are modelled for the Go types of
:mod:`.values`, with Go's ``%!`` error forms; output is built in a
:class:`.values.Buf`, so no format can grow past the string limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gitsecure.seal.gotemplate.gostrconv import float_shortest, go_quote
from gitsecure.seal.gotemplate.values import Buf, go_type, sorted_keys, to_bytes


@dataclass(slots=True)
class _Spec:
    plus: bool = False
    minus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None


_PLAIN = _Spec()


def _pad(s: str, spec: _Spec, *, zeros: bool = True) -> str:
    if spec.width is None or len(s) >= spec.width:
        return s
    if spec.minus:
        return s.ljust(spec.width)
    return s.rjust(spec.width, "0" if zeros and spec.zero else " ")


def _rune(v: int) -> str:
    return chr(v) if 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF else "\ufffd"


def _fmt_int(v: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad(_rune(v), spec)
    if verb == "q":
        return _pad(go_quote(_rune(v), quote="'", ascii_only=spec.plus), spec)
    if verb == "U":
        s = f"U+{v:04X}" if v >= 0 else f"U+{v & ((1 << 64) - 1):X}"
        if spec.sharp and 0 <= v <= 0x10FFFF and _rune(v).isprintable():
            s += f" '{chr(v)}'"
        return _pad(s, spec)
    neg, u = v < 0, abs(v)
    digits = {"b": format(u, "b"), "o": format(u, "o"), "O": format(u, "o"), "x": format(u, "x"), "X": format(u, "X")}
    s = digits.get(verb, str(u))
    has_sign = neg or spec.plus or spec.space
    if spec.prec is not None:
        if spec.prec == 0 and u == 0:
            return _pad("", spec, zeros=False)
        s = s.rjust(spec.prec, "0")
    elif spec.zero and not spec.minus and spec.width is not None:
        s = s.rjust(spec.width - has_sign, "0")
    if spec.sharp:
        s = {"b": "0b", "x": "0x", "X": "0X", "o": "" if s.startswith("0") else "0"}.get(verb, "") + s
    if verb == "O":
        s = "0o" + s
    s = ("-" if neg else "+" if spec.plus else " " if spec.space else "") + s
    return _pad(s, spec, zeros=False)


def _fmt_float(f: float, verb: str, spec: _Spec) -> str:
    if verb == "v" or (verb in "gG" and spec.prec is None) or not math.isfinite(f):
        s = float_shortest(f, "g")
    else:
        prec = 6 if spec.prec is None else spec.prec
        s = format(f, f".{prec}{verb.lower() if verb == 'F' else verb}")
    if verb in "EG":
        s = s.upper().replace("INF", "Inf").replace("NAN", "NaN")
    if s[0] not in "+-" and s != "NaN":
        s = ("+" if spec.plus else " " if spec.space else "") + s
    if spec.zero and not spec.minus and spec.width is not None and len(s) < spec.width and math.isfinite(f):
        sign = s[0] if s[0] in "+- " else ""
        return sign + s[len(sign) :].rjust(spec.width - len(sign), "0")
    return _pad(s, spec, zeros=False)


def _fmt_str(s: str, verb: str, spec: _Spec) -> str:
    if verb in "sv":
        return _pad(s if spec.prec is None else s[: spec.prec], spec)
    if verb == "q":
        if spec.sharp and _can_backquote(s):
            return _pad("`" + s + "`", spec)
        return _pad(go_quote(s, ascii_only=spec.plus), spec)
    raw = to_bytes(s) if spec.prec is None else to_bytes(s)[: spec.prec]
    hexes = [f"{b:02X}" if verb == "X" else f"{b:02x}" for b in raw]
    prefix = ("0X" if verb == "X" else "0x") if spec.sharp else ""
    text = " ".join(prefix + h for h in hexes) if spec.space else (prefix if hexes else "") + "".join(hexes)
    return _pad(text, spec)


def _can_backquote(s: str) -> bool:
    # strconv.CanBackquote: no control characters but tab, no backquote, BOM or invalid UTF-8.
    return all(c == "\t" or (" " <= c != "\x7f" and c not in "`\ufeff" and not 0xDC80 <= ord(c) <= 0xDCFF) for c in s)


def _fmt(buf: Buf, v: object, verb: str, spec: _Spec, depth: int = 0) -> None:
    """fmt's printArg/printValue for the Go types modelled here."""
    if v is None:
        # An element of a slice or map is an interface, printed <nil> whatever the verb.
        buf.add(_pad("<nil>", spec) if verb == "v" or depth > 0 else f"%!{verb}(<nil>)")
        return
    if verb == "T" and depth == 0:
        buf.add(_pad(go_type(v), spec))
    elif isinstance(v, bool):
        buf.add(_pad("true" if v else "false", spec) if verb in "tv" else _bad_verb(verb, v))
    elif isinstance(v, int):
        buf.add(_fmt_int(v, verb, spec) if verb in "vdboOxXcqU" else _bad_verb(verb, v))
    elif isinstance(v, float):
        buf.add(_fmt_float(v, verb, spec) if verb in "veEfFgG" else _bad_verb(verb, v))
    elif isinstance(v, str):
        buf.add(_fmt_str(v, verb, spec) if verb in "vsqxX" else _bad_verb(verb, v))
    elif isinstance(v, list):
        buf.add("[")
        for i, item in enumerate(v):
            if i:
                buf.add(" ")
            _fmt(buf, item, verb, spec, depth + 1)
        buf.add("]")
    elif isinstance(v, dict):
        buf.add("map[")
        for i, key in enumerate(sorted_keys(v)):
            if i:
                buf.add(" ")
            _fmt(buf, key, verb, spec, depth + 1)
            buf.add(":")
            _fmt(buf, v[key], verb, spec, depth + 1)
        buf.add("]")
    else:
        buf.add(f"%!{verb}(unknown)")


def _bad_verb(verb: str, v: object) -> str:
    return f"%!{verb}({go_type(v)}={fmt_v(v)})"


def fmt_v(v: object) -> str:
    """``fmt.Sprint(v)`` for one operand (``<nil>`` for nil)."""
    if isinstance(v, str):
        return v
    buf = Buf()
    _fmt(buf, v, "v", _PLAIN)
    return buf.value()


def sprint(args: Sequence[object], *, line: bool = False) -> str:
    """``fmt.Sprint`` (spaces only between two non-strings) or ``fmt.Sprintln``."""
    buf = Buf()
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i and (line or not (is_string or prev_string)):
            buf.add(" ")
        buf.add(fmt_v(arg))
        prev_string = is_string
    if line:
        buf.add("\n")
    return buf.value()


def _parsenum(s: str, i: int, end: int) -> tuple[int | None, int]:
    num, j = 0, i
    while j < end and "0" <= s[j] <= "9":
        if num > 1_000_000:  # Go's tooLarge: the whole verb becomes %!(NOVERB)
            return None, end
        num = num * 10 + ord(s[j]) - 48
        j += 1
    return (num if j > i else None), j


def sprintf(fmt: str, args: Sequence[object]) -> str:
    """``fmt.Sprintf`` for the verbs and flags templates use, including Go's ``%!`` error forms."""
    buf = Buf()
    end, i, argn, reordered = len(fmt), 0, 0, False

    def arg_index(i: int) -> tuple[int, bool | None]:
        # Explicit "[n]": returns (new i, True if good / False if bad / None if absent).
        nonlocal argn, reordered
        if i >= end or fmt[i] != "[":
            return i, None
        reordered = True
        close = fmt.find("]", i + 1)
        if close < 0:
            return i + 1, False
        num, j = _parsenum(fmt, i + 1, close)
        if num is None or j != close or not 0 < num <= len(args):
            return close + 1, False
        argn = num - 1
        return close + 1, True

    def star(target: str) -> int | None:
        nonlocal argn
        value = args[argn] if argn < len(args) else None
        argn += argn < len(args)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 1_000_000:
            return value
        buf.add(f"%!(BAD{target})")
        return None

    while i < end:
        pct = fmt.find("%", i)
        if pct < 0:
            buf.add(fmt[i:])
            break
        buf.add(fmt[i:pct])
        i, spec, good = pct + 1, _Spec(), True
        while i < end and fmt[i] in "#0+- ":
            setattr(spec, {"#": "sharp", "0": "zero", "+": "plus", "-": "minus", " ": "space"}[fmt[i]], True)
            i += 1
        i, found = arg_index(i)
        good = found is not False
        if i < end and fmt[i] == "*":
            spec.width = star("WIDTH")
            i += 1
            if spec.width is not None and spec.width < 0:
                spec.width, spec.minus = -spec.width, True
            found = None
        else:
            spec.width, i = _parsenum(fmt, i, end)
            good = good and not (found and spec.width is not None)
        if i < end and fmt[i] == ".":
            good = good and not found
            i, found = arg_index(i + 1)
            good = good and found is not False
            if i < end and fmt[i] == "*":
                spec.prec = star("PREC")
                i += 1
                if spec.prec is not None and spec.prec < 0:
                    spec.prec = None
                found = None
            else:
                spec.prec, i = _parsenum(fmt, i, end)
                spec.prec = spec.prec or 0
        if not found:
            i, found = arg_index(i)
            good = good and found is not False
        if i >= end:
            buf.add("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if spec.minus:
            spec.zero = False
        if verb == "%":
            buf.add("%")
        elif not good:
            buf.add(f"%!{verb}(BADINDEX)")
        elif argn >= len(args):
            buf.add(f"%!{verb}(MISSING)")
        else:
            if verb == "v":
                spec.plus = spec.sharp = False  # they select Go-syntax forms not modelled here
            _fmt(buf, args[argn], verb, spec)
            argn += 1
    if not reordered and argn < len(args):
        extra = ["<nil>" if a is None else f"{go_type(a)}={fmt_v(a)}" for a in args[argn:]]
        buf.add(f"%!(EXTRA {', '.join(extra)})")
    return buf.value()
