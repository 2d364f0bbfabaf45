"""Sprig's string functions: quoting and joining, case, trimming, padding, splitting, sorting.

Go's semantics are kept where Python's differ: case maps rune by rune, trimming
uses Go's notion of space, ``trunc`` cuts bytes. Functions that can multiply
their input check the result size before building it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gitsecure.seal.gotemplate.convert import strval
from gitsecure.seal.gotemplate.errors import FuncError, TooLarge
from gitsecure.seal.gotemplate.gofmt import fmt_v
from gitsecure.seal.gotemplate.gostrconv import go_quote
from gitsecure.seal.gotemplate.limits import MAX_STRING
from gitsecure.seal.gotemplate.values import A, Func, N, S, StrMap, from_bytes, to_bytes

# unicode.IsSpace, which Go's TrimSpace and Sprig's nospace use; str.isspace also counts \x1c-\x1f.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_DELETE_SPACE = str.maketrans("", "", GO_SPACE)


def _strslice(v: object) -> list[str]:
    if isinstance(v, list):
        return [strval(x) for x in v if x is not None]
    return [] if v is None else [strval(v)]


def _checked_join(sep: str, parts: Sequence[str]) -> str:
    if sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0) > MAX_STRING:
        raise TooLarge()
    return sep.join(parts)


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
        raise TooLarge()
    return s * count


def _indent(spaces: int, v: str) -> str:
    if spaces < 0:
        raise FuncError("strings: negative Repeat count")
    if len(v) + (v.count("\n") + 1) * spaces > MAX_STRING:
        raise TooLarge()
    pad = " " * spaces
    return pad + v.replace("\n", "\n" + pad)


def _replace(old: str, new: str, src: str) -> str:
    hits = src.count(old) if old else len(src) + 1
    if len(src) + hits * (len(new) - len(old)) > MAX_STRING:
        raise TooLarge()
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


def _sort_alpha(v: object) -> list[object]:
    result: list[object] = [*sorted(_strslice(v), key=to_bytes)] if isinstance(v, list) else [strval(v)]
    return result


STRINGS: dict[str, Func] = {
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
}
