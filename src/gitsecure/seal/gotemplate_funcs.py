"""The function table behind :mod:`gitsecure.seal.gotemplate`.

Go's text/template builtins, the Sprig functions sealed-secrets users reach
for, and the parts of Go's ``fmt`` and ``encoding/json`` those depend on.

Go's dynamic types are mirrored by Python types so that argument type errors
match the controller's: ``str`` is string, ``int`` is int, :class:`Int64` is
int64 (what Sprig arithmetic returns), ``float`` is float64, ``bool`` is bool,
``None`` is nil, ``list`` is []interface{}, ``dict`` is map[string]interface{}
and :class:`StrMap` is map[string]string (the template's dot). Strings hold
bytes that are not UTF-8 as ``surrogateescape`` code points, so byte-oriented
Go functions (``len``, ``trunc``, ``b64enc``...) stay byte-exact.

Every :class:`FuncError` message is fixed text or Go type names: the values
flowing through these functions are decrypted secrets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote_plus

MAX_STRING = 1 << 20
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
# unicode.IsSpace, which Go's TrimSpace and Sprig's nospace use; str.isspace also counts \x1c-\x1f.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_DELETE_SPACE = str.maketrans("", "", GO_SPACE)


class FuncError(Exception):
    """A template function failed; the message never carries a data value."""


class _TooLarge(FuncError):
    """A result would pass :data:`MAX_STRING`; never swallowed, unlike Go's ignored JSON errors."""

    def __init__(self) -> None:
        super().__init__(f"result exceeds the {MAX_STRING} character limit")


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


class _Buf:
    """A string builder that refuses to grow past :data:`MAX_STRING` (formatters can multiply input)."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, s: str) -> None:
        self.size += len(s)
        if self.size > MAX_STRING:
            raise _TooLarge()
        self.parts.append(s)

    def value(self) -> str:
        return "".join(self.parts)


def _sorted_keys(d: dict[str, object]) -> list[str]:
    return sorted(d, key=to_bytes)  # Go sorts map keys bytewise


# --- Go quoting (strconv.Quote) -----------------------------------------------------------------

_QUOTE_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str, *, quote: str = '"', ascii_only: bool = False) -> str:
    """``strconv.Quote`` (or ``QuoteToASCII``, or ``QuoteRune`` with ``quote="'"``)."""
    if s.isprintable() and quote not in s and "\\" not in s and (not ascii_only or s.isascii()):
        return quote + s + quote
    out = [quote]
    for c in s:
        o = ord(c)
        if c in (quote, "\\"):
            out.append("\\" + c)
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{o - 0xDC00:02x}")
        elif c.isprintable() and not (ascii_only and o >= 0x80):  # Python's isprintable is Go's IsPrint
            out.append(c)
        elif c in _QUOTE_ESC:
            out.append(_QUOTE_ESC[c])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append(quote)
    return "".join(out)


# --- Go fmt ------------------------------------------------------------------------------------


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


def _shortest(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of finite ``f > 0`` and the decimal point position (0.DIGITS x 10^dp)."""
    t = Decimal(repr(f)).as_tuple()
    digits = "".join(map(str, t.digits))
    assert isinstance(t.exponent, int)
    return digits.rstrip("0"), len(digits) + t.exponent


def _float_shortest(f: float, style: str) -> str:
    """strconv.FormatFloat(f, style, -1, 64) for style ``e``, ``f`` or ``g``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + ("0e+00" if style == "e" else "0")
    digits, dp = _shortest(abs(f))
    exp = dp - 1
    if style == "e" or (style == "g" and (exp < -4 or exp >= 6)):  # shortest %g decides with precision 6
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


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
        s = _float_shortest(f, "g")
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


def _fmt(buf: _Buf, v: object, verb: str, spec: _Spec, depth: int = 0) -> None:
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
        for i, key in enumerate(_sorted_keys(v)):
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
    buf = _Buf()
    _fmt(buf, v, "v", _PLAIN)
    return buf.value()


def sprint(args: Sequence[object], *, line: bool = False) -> str:
    """``fmt.Sprint`` (spaces only between two non-strings) or ``fmt.Sprintln``."""
    buf = _Buf()
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
    buf = _Buf()
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


# --- Go encoding/json --------------------------------------------------------------------------

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_HTML = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')
_JSON_RAW = re.compile('["\\\\\x00-\x1f\u2028\u2029\ud800-\udfff]')


def _json_escape(m: re.Match[str]) -> str:
    c = m.group()
    if c in _JSON_SHORT:
        return _JSON_SHORT[c]
    return "\\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}"


def _json_float(f: float) -> str:
    if not math.isfinite(f):
        raise FuncError("json: unsupported value")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        return re.sub(r"e-0(\d)$", r"e-\1", _float_shortest(f, "e"))
    return _float_shortest(f, "f")


def _json(buf: _Buf, v: object, html: bool, indent: str | None, level: int) -> None:
    if v is None:
        buf.add("null")
    elif isinstance(v, bool):
        buf.add("true" if v else "false")
    elif isinstance(v, int):
        buf.add(str(v))
    elif isinstance(v, float):
        buf.add(_json_float(v))
    elif isinstance(v, str):
        buf.add('"' + (_JSON_HTML if html else _JSON_RAW).sub(_json_escape, v) + '"')
    elif isinstance(v, (list, dict)):
        opener, closer = ("{", "}") if isinstance(v, dict) else ("[", "]")
        buf.add(opener)
        keys: Iterable[object] = _sorted_keys(v) if isinstance(v, dict) else v
        inner = "\n" + indent * (level + 1) if indent is not None else ""
        count = 0
        for count, item in enumerate(keys, 1):
            buf.add(("," if count > 1 else "") + inner)
            if isinstance(v, dict):
                assert isinstance(item, str)
                _json(buf, item, html, None, 0)
                buf.add(": " if indent is not None else ":")
            _json(buf, v[item] if isinstance(v, dict) else item, html, indent, level + 1)
        if count and indent is not None:
            buf.add("\n" + indent * level)
        buf.add(closer)
    else:
        raise FuncError("json: unsupported type")


def json_encode(v: object, *, html: bool = True, indent: str | None = None) -> str:
    """``json.Marshal`` (``html``: escape <, >, &) or ``json.MarshalIndent`` with ``indent``."""
    buf = _Buf()
    _json(buf, v, html, indent, 0)
    return buf.value()


def _json_number(text: str) -> float:
    f = float(text)
    if math.isinf(f):
        raise ValueError("out of range")  # Go refuses a number that overflows float64
    return f


def _reject_constant(_: str) -> float:
    raise ValueError("not JSON")


def _from_json(s: str) -> object:
    try:
        result: object = json.loads(
            s, parse_float=_json_number, parse_int=_json_number, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError):
        return None  # Sprig's fromJson ignores the error and yields nil
    return result


def _json_or_empty(v: object, *, html: bool = True, indent: str | None = None) -> str:
    try:
        return json_encode(v, html=html, indent=indent)
    except _TooLarge:
        raise
    except FuncError:
        return ""  # Sprig's toJson/toPrettyJson ignore marshal errors


# --- Go conversions ----------------------------------------------------------------------------

_GO_INT = re.compile(
    r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)"
)


def parse_go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` syntax (unbounded; callers range-check)."""
    if not _GO_INT.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-").replace("_", "")
    prefixed = {"0x": 16, "0b": 2, "0o": 8}.get(body[:2].lower())
    if prefixed:
        return sign * int(body[2:], prefixed)
    return sign * int(body, 8 if body[0] == "0" else 10)  # a leading 0 means octal, as in Go source


def _wrap64(n: int) -> int:
    return ((n - _I64_MIN) & ((1 << 64) - 1)) + _I64_MIN


def _trim_zero_decimal(s: str) -> str:
    # cast's trimZeroDecimal: "12.000" parses as 12, "12.5" does not parse at all.
    head, dot, tail = s.rpartition(".")
    return head if dot and tail and set(tail) == {"0"} else s


def to_int64(v: object) -> int:
    """spf13/cast ``ToInt64``: Sprig's lenient conversion, 0 for anything it cannot read."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return _wrap64(v)
    if isinstance(v, float):
        return _wrap64(int(v)) if math.isfinite(v) else _I64_MIN
    if isinstance(v, str):
        n = parse_go_int(_trim_zero_decimal(v))
        return n if n is not None and _I64_MIN <= n <= _I64_MAX else 0
    return 0


def strval(v: object) -> str:
    """Sprig's ``strval``: strings as-is, everything else through ``%v``."""
    return v if isinstance(v, str) else fmt_v(v)


def _strslice(v: object) -> list[str]:
    if isinstance(v, list):
        return [strval(x) for x in v if x is not None]
    return [] if v is None else [strval(v)]


def _checked_join(sep: str, parts: Sequence[str]) -> str:
    if sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0) > MAX_STRING:
        raise _TooLarge()
    return sep.join(parts)


# --- Go builtins -------------------------------------------------------------------------------


def _basic_kind(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "string" if isinstance(v, str) else ""


def _eq(a: object, *others: object) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(a)
    for b in others:
        k2 = _basic_kind(b)
        if k1 != k2:
            if a is not None and b is not None:
                raise FuncError(f"incompatible types for comparison: {go_type(a)} and {go_type(b)}")
            equal = False
        elif k1:
            equal = a == b
        elif a is None or b is None:
            equal = a is None and b is None
        elif isinstance(a, list) != isinstance(b, list):
            raise FuncError(f"non-comparable types {go_type(a)} and {go_type(b)}")
        else:
            raise FuncError(f"non-comparable type {go_type(b)}")  # slices and maps have no == in Go
        if equal:
            return True
    return False


def _lt(a: object, b: object) -> bool:
    k1, k2 = _basic_kind(a), _basic_kind(b)
    if not k1 or not k2:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError(f"incompatible types for comparison: {go_type(a)} and {go_type(b)}")
    if k1 == "bool":
        raise FuncError("invalid type for comparison")
    if isinstance(a, str) and isinstance(b, str):
        return to_bytes(a) < to_bytes(b)
    assert isinstance(a, (int, float)) and isinstance(b, (int, float))
    return a < b


def _le(a: object, b: object) -> bool:
    return _lt(a, b) or _eq(a, b)


def _index(item: object, *indexes: object) -> object:
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, (list, str)):
            if isinstance(index, bool) or not isinstance(index, int):
                raise FuncError(f"cannot index slice/array with type {go_type(index)}")
            seq = to_bytes(item) if isinstance(item, str) else item
            if not 0 <= index < len(seq):
                raise FuncError("index out of range")
            item = seq[index]
        elif isinstance(item, dict):
            if not isinstance(index, str):
                raise FuncError(f"value has type {go_type(index)}; should be string")
            # A missing key yields the element type's zero value: "" for the dot, nil otherwise.
            item = item.get(index, "" if isinstance(item, StrMap) else None)
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _len(item: object) -> int:
    if isinstance(item, str):
        return len(to_bytes(item))
    if isinstance(item, (list, dict)):
        return len(item)
    raise FuncError(f"len of type {go_type(item)}")


def _eval_args(args: tuple[object, ...]) -> str:
    # html, js and urlquery print nil arguments as "<no value>", as the template itself would.
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if a is None else a for a in args])


_HTML = str.maketrans({'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"})
_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def _js(*args: object) -> str:
    out = []
    for c in _eval_args(args):
        o = ord(c)
        if c in _JS:
            out.append(_JS[c])
        elif o < 0x20:
            out.append(f"\\u{o:04X}")
        elif o < 0x80 or 0xDC80 <= o <= 0xDCFF or c.isprintable():
            out.append(c)
        else:
            out.append(f"\\u{o:04X}")
    return "".join(out)


def _and_or(*_: object) -> object:
    raise AssertionError("and/or short-circuit in the evaluator")


# --- Sprig -------------------------------------------------------------------------------------

_B64 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_B32 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}
_NL, _PAD = (10, 13), ord("=")


def _b64_decode(src: bytes) -> bytes | int:
    """Go's base64.StdEncoding.DecodeString: the bytes, or the offset of the first bad input byte."""
    out, si, n = bytearray(), 0, len(src)
    while True:
        quantum, j = [0, 0, 0, 0], 0
        while j < 4:
            if si == n:
                return bytes(out) if j == 0 else si - j
            c = src[si]
            si += 1
            if c in _B64:
                quantum[j] = _B64[c]
                j += 1
                continue
            if c in _NL:
                continue
            if c != _PAD or j < 2:
                return si - 1
            if j == 2:  # "==" expected
                while si < n and src[si] in _NL:
                    si += 1
                if si == n:
                    return n
                if src[si] != _PAD:
                    return si - 1
                si += 1
            while si < n and src[si] in _NL:
                si += 1
            if si < n:
                return si  # trailing garbage after padding
            break
        val = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        out += val.to_bytes(3, "big")[: j - 1 if j < 4 else 3]
        if j < 4:
            return bytes(out)


def _b32_decode(text: bytes) -> bytes | int:
    """Go's base32.StdEncoding.DecodeString (newlines stripped first, as Go does)."""
    src = text.replace(b"\r", b"").replace(b"\n", b"")
    out, i, n, done = bytearray(), 0, len(src), False
    while i < n and not done:
        quantum, dlen, j = [0] * 8, 8, 0
        while j < 8:
            if i == n:
                return n - j
            c = src[i]
            i += 1
            rest = n - i
            if c == _PAD and j >= 2 and rest < 8:
                if rest + j < 7:
                    return n
                for k in range(7 - j):
                    if rest > k and src[i + k] != _PAD:
                        return i + k - 1
                dlen, done = j, True
                if dlen in (1, 3, 6):
                    return i - 1
                break
            if c not in _B32:
                return i - 1
            quantum[j] = _B32[c]
            j += 1
        val = 0
        for x in quantum:
            val = val << 5 | x
        out += val.to_bytes(5, "big")[: {8: 5, 7: 4, 5: 3, 4: 2, 2: 1}[dlen]]
    return bytes(out)


def _b64dec(s: str) -> str:
    result = _b64_decode(to_bytes(s))
    return from_bytes(result) if isinstance(result, bytes) else f"illegal base64 data at input byte {result}"


def _b32dec(s: str) -> str:
    result = _b32_decode(to_bytes(s))
    return from_bytes(result) if isinstance(result, bytes) else f"illegal base32 data at input byte {result}"


def _case(s: str, convert: Callable[[str], str]) -> str:
    # Go maps rune by rune (unicode.ToUpper); Python's full mappings can grow ("ß" -> "SS"), Go's cannot.
    if s.isascii():
        return convert(s)
    fast = convert(s)
    # Equal length means every rune mapped to one rune; capital sigma is Python's one contextual rule.
    if len(fast) == len(s) and "\u03a3" not in s:
        return fast
    out = []
    for c in s:
        mapped = "i" if c == "\u0130" and convert is str.lower else convert(c)
        out.append(mapped if len(mapped) == 1 else c)
    return "".join(out)


def _is_separator(c: str) -> bool:
    if c <= "\x7f":
        return not (c.isalnum() or c == "_")
    return not (c.isalpha() or c.isdecimal()) and c in GO_SPACE


def _title(s: str) -> str:
    out, prev = [], " "
    for c in s:
        out.append((c.title() if len(c.title()) == 1 else c) if _is_separator(prev) else c)
        prev = c
    return "".join(out)


def _repeat(count: int, s: str) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    if count * len(s) > MAX_STRING:
        raise _TooLarge()
    return s * count


def _indent(spaces: int, v: str) -> str:
    if spaces < 0:
        raise FuncError("strings: negative Repeat count")
    if len(v) + (v.count("\n") + 1) * spaces > MAX_STRING:
        raise _TooLarge()
    pad = " " * spaces
    return pad + v.replace("\n", "\n" + pad)


def _replace(old: str, new: str, src: str) -> str:
    hits = src.count(old) if old else len(src) + 1
    if len(src) + hits * (len(new) - len(old)) > MAX_STRING:
        raise _TooLarge()
    return src.replace(old, new)


def _trunc(c: int, s: str) -> str:
    raw = to_bytes(s)  # Go slices bytes, so a cut can split a UTF-8 sequence
    if c < 0 and len(raw) + c > 0:
        return from_bytes(raw[len(raw) + c :])
    if 0 <= c < len(raw):
        return from_bytes(raw[:c])
    return s


def _split_parts(sep: str, orig: str) -> list[str]:
    return list(orig) if sep == "" else orig.split(sep)


def _atoi(s: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return 0
    return max(_I64_MIN, min(_I64_MAX, int(s)))  # Atoi's range error still returns the clamped value


def _div(a: object, b: object, *, mod: bool = False) -> Int64:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)  # Go truncates toward zero
    return Int64(_wrap64(x - q * y if mod else q))


def _mul(a: object, *rest: object) -> Int64:
    value = to_int64(a)
    for b in rest:
        value = _wrap64(value * to_int64(b))
    return Int64(value)


def _dict(*v: object) -> dict[str, object]:
    result: dict[str, object] = {}
    for i in range(0, len(v), 2):
        result[strval(v[i])] = v[i + 1] if i + 1 < len(v) else ""
    return result


def _set(d: dict[str, object] | None, key: str, value: object) -> dict[str, object]:
    if d is None:
        raise FuncError("assignment to entry in nil map")
    d[key] = value
    return d


def _keys(*dicts: dict[str, object] | None) -> list[object]:
    # Go's map order is random; sorted is one of the orders it could produce, and a stable one.
    return [k for d in dicts if d for k in _sorted_keys(d)]


def _sort_alpha(v: object) -> list[object]:
    result: list[object] = [*sorted(_strslice(v), key=to_bytes)] if isinstance(v, list) else [strval(v)]
    return result


def _slice(lst: object, *indices: object) -> object:
    # Sprig's slice replaces Go's builtin of that name (template Funcs win), so strings are refused.
    if not isinstance(lst, list):
        raise FuncError(f"list should be type of slice or array but {go_type(lst)}")
    if not lst:
        return None
    start = to_int64(indices[0]) if indices else 0
    stop = to_int64(indices[1]) if len(indices) > 1 else len(lst)
    if not 0 <= start <= stop <= len(lst):
        raise FuncError("runtime error: slice bounds out of range")
    return lst[start:stop]


def _fail(msg: str) -> str:
    raise FuncError(msg)


def _default(d: object, *given: object) -> object:
    return given[0] if given and truth(given[0]) else d


def _coalesce(*v: object) -> object:
    return next((x for x in v if truth(x)), None)


A, S, N, B, M = "any", "string", "int", "bool", "map"

FUNCS: dict[str, Func] = {
    # Go builtins.
    "and": Func(_and_or, (A,), A),
    "or": Func(_and_or, (A,), A),
    "not": Func(lambda v: not truth(v), (A,)),
    "len": Func(_len, (A,)),
    "index": Func(_index, (A,), A),
    "print": Func(lambda *a: sprint(a), (), A),
    "printf": Func(lambda f, *a: sprintf(f, a), (S,), A),
    "println": Func(lambda *a: sprint(a, line=True), (), A),
    "eq": Func(_eq, (A,), A),
    "ne": Func(lambda a, b: not _eq(a, b), (A, A)),
    "lt": Func(_lt, (A, A)),
    "le": Func(_le, (A, A)),
    "gt": Func(lambda a, b: not _le(a, b), (A, A)),
    "ge": Func(lambda a, b: not _lt(a, b), (A, A)),
    "html": Func(lambda *a: _eval_args(a).translate(_HTML), (), A),
    "js": Func(_js, (), A),
    "urlquery": Func(lambda *a: quote_plus(to_bytes(_eval_args(a)), safe=""), (), A),
    # Sprig: encoding and hashing.
    "b64enc": Func(lambda s: base64.b64encode(to_bytes(s)).decode("ascii"), (S,)),
    "b64dec": Func(_b64dec, (S,)),
    "b32enc": Func(lambda s: base64.b32encode(to_bytes(s)).decode("ascii"), (S,)),
    "b32dec": Func(_b32dec, (S,)),
    "sha256sum": Func(lambda s: hashlib.sha256(to_bytes(s)).hexdigest(), (S,)),
    "sha1sum": Func(lambda s: hashlib.sha1(to_bytes(s)).hexdigest(), (S,)),  # noqa: S324 - Sprig's digest, not security
    "toJson": Func(_json_or_empty, (A,)),
    "toPrettyJson": Func(lambda v: _json_or_empty(v, indent="  "), (A,)),
    "toRawJson": Func(lambda v: json_encode(v, html=False), (A,)),
    "fromJson": Func(_from_json, (S,)),
    # Sprig: strings.
    "quote": Func(lambda *a: _checked_join(" ", [go_quote(strval(x)) for x in a if x is not None]), (), A),
    "squote": Func(lambda *a: _checked_join(" ", [f"'{fmt_v(x)}'" for x in a if x is not None]), (), A),
    "cat": Func(lambda *a: _checked_join(" ", [fmt_v(x) for x in a if x is not None]), (), A),
    "upper": Func(lambda s: _case(s, str.upper), (S,)),
    "lower": Func(lambda s: _case(s, str.lower), (S,)),
    "title": Func(_title, (S,)),
    "trim": Func(lambda s: s.strip(GO_SPACE), (S,)),
    "trimAll": Func(lambda cut, s: s.strip(cut), (S, S)),
    "trimPrefix": Func(lambda p, s: s.removeprefix(p), (S, S)),
    "trimSuffix": Func(lambda p, s: s.removesuffix(p), (S, S)),
    "nospace": Func(lambda s: s.translate(_DELETE_SPACE), (S,)),
    "trunc": Func(_trunc, (N, S)),
    "replace": Func(_replace, (S, S, S)),
    "repeat": Func(_repeat, (N, S)),
    "indent": Func(_indent, (N, S)),
    "nindent": Func(lambda n, s: "\n" + _indent(n, s), (N, S)),
    "contains": Func(lambda sub, s: sub in s, (S, S)),
    "hasPrefix": Func(lambda p, s: s.startswith(p), (S, S)),
    "hasSuffix": Func(lambda p, s: s.endswith(p), (S, S)),
    "toString": Func(strval, (A,)),
    "join": Func(lambda sep, v: _checked_join(sep, _strslice(v)), (S, A)),
    "split": Func(lambda sep, s: StrMap({f"_{i}": p for i, p in enumerate(_split_parts(sep, s))}), (S, S)),
    "splitList": Func(lambda sep, s: list[object](_split_parts(sep, s)), (S, S)),
    "sortAlpha": Func(_sort_alpha, (A,)),
    # Sprig: numbers.
    "atoi": Func(_atoi, (S,)),
    "int": Func(lambda v: int(to_int64(v)), (A,)),
    "add": Func(lambda *a: Int64(_wrap64(sum(map(to_int64, a)))), (), A),
    "sub": Func(lambda a, b: Int64(_wrap64(to_int64(a) - to_int64(b))), (A, A)),
    "mul": Func(_mul, (A,), A),
    "div": Func(_div, (A, A)),
    "mod": Func(lambda a, b: _div(a, b, mod=True), (A, A)),
    # Sprig: defaults and flow control.
    "default": Func(_default, (A,), A),
    "empty": Func(lambda v: not truth(v), (A,)),
    "coalesce": Func(_coalesce, (), A),
    "ternary": Func(lambda vt, vf, cond: vt if cond else vf, (A, A, B)),
    "fail": Func(_fail, (S,)),
    # Sprig: lists and dicts.
    "list": Func(lambda *a: list(a), (), A),
    "slice": Func(_slice, (A,), A),
    "dict": Func(_dict, (), A),
    "get": Func(lambda d, k: "" if d is None else d.get(k, ""), (M, S)),
    "set": Func(_set, (M, S, A)),
    "hasKey": Func(lambda d, k: d is not None and k in d, (M, S)),
    "keys": Func(_keys, (), M),
}

# Every other name the controller would accept (Go's call, the rest of Sprig's generic map):
# a template using one renders there, so refusing it here must say "unsupported", not "undefined".
UNSUPPORTED = frozenset(
    """call hello ago date date_in_zone date_modify dateInZone dateModify duration durationRound htmlDate
    htmlDateInZone must_date_modify mustDateModify mustToDate now toDate unixEpoch abbrev abbrevboth untitle substr
    trimall initials randAlphaNum randAlpha randAscii randNumeric swapcase shuffle snakecase camelcase kebabcase
    wrap wrapWith plural sha512sum adler32sum int64 float64 seq toDecimal splitn toStrings until untilStep add1
    randInt add1f addf subf divf mulf biggest max min maxf minf ceil floor round all any compact mustCompact
    mustFromJson mustToJson mustToPrettyJson mustToRawJson deepCopy mustDeepCopy typeOf typeIs typeIsLike kindOf
    kindIs deepEqual base dir clean ext isAbs osBase osClean osDir osExt osIsAbs tuple unset pluck pick omit merge
    mergeOverwrite mustMerge mustMergeOverwrite values append push mustAppend mustPush prepend mustPrepend first
    mustFirst rest mustRest last mustLast initial mustInitial reverse mustReverse uniq mustUniq without mustWithout
    has mustHas mustSlice concat dig chunk mustChunk bcrypt htpasswd genPrivateKey derivePassword buildCustomCert
    genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey encryptAES
    decryptAES randBytes uuidv4 semver semverCompare regexMatch mustRegexMatch regexFindAll mustRegexFindAll
    regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral
    regexSplit mustRegexSplit regexQuoteMeta urlParse urlJoin""".split()  # noqa: SIM905 - a word list reads better
)
