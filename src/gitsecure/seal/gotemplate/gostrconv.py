"""The parts of Go's ``strconv`` the engine needs: quoting, unquoting, integer syntax, shortest floats.

The lexer and parser use them to read literals and spell error messages, the
formatters to print ``%q``, ``%v`` and JSON numbers as Go does.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from gitsecure.seal.gotemplate.values import from_bytes, to_bytes

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


# --- Go unquoting (strconv.Unquote) -------------------------------------------------------------

_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_ESCAPE_DIGITS = {"x": (2, 16), "u": (4, 16), "U": (8, 16), **{d: (3, 8) for d in "01234567"}}


def unquote(text: str) -> str | None:
    """``strconv.Unquote`` of a "..." or `...` literal, or the body of a '...' constant; None if malformed."""
    if text[0] == "`":
        return text[1:-1].replace("\r", "")  # Go drops carriage returns from raw strings
    quote, body, out, i = text[0], text[1:-1], bytearray(), 0
    while i < len(body):
        c, e = body[i], body[i + 1 : i + 2]
        if c != "\\":
            out += to_bytes(c)
            i += 1
        elif e in _SIMPLE_ESCAPES or e == quote:  # \' only in '...', \" only in "..."
            out.append(_SIMPLE_ESCAPES.get(e, ord(quote)))
            i += 2
        elif e in _ESCAPE_DIGITS:
            size, base = _ESCAPE_DIGITS[e]
            start = i + 1 if base == 8 else i + 2
            digits = body[start : start + size]
            try:
                value = int(digits, base) if len(digits) == size and digits.isascii() and digits.isalnum() else -1
            except ValueError:
                return None
            if value < 0 or value > (0x10FFFF if e in "uU" else 255) or (e in "uU" and 0xD800 <= value <= 0xDFFF):
                return None
            # In "..." a \x or octal escape is one raw byte, possibly not UTF-8; in '...' it is a code point.
            out += bytes([value]) if quote == '"' and e not in "uU" else chr(value).encode()
            i = start + size
        else:
            return None
    return from_bytes(bytes(out))


# --- Go integer syntax (strconv.ParseInt) -------------------------------------------------------

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


# --- Go shortest floats (strconv.FormatFloat with precision -1) ---------------------------------


def _shortest(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of finite ``f > 0`` and the decimal point position (0.DIGITS x 10^dp)."""
    t = Decimal(repr(f)).as_tuple()
    digits = "".join(map(str, t.digits))
    assert isinstance(t.exponent, int)
    return digits.rstrip("0"), len(digits) + t.exponent


def float_shortest(f: float, style: str) -> str:
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
