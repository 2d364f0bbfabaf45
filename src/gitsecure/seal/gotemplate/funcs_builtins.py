"""Go's text/template builtins: ``and``, ``or``, ``not``, ``len``, ``index``, the prints, comparisons, escapers.

They follow Go's rules where those differ from Python's: comparisons refuse
mixed kinds, ``len`` and ``index`` count a string's bytes, and ``and``/``or``
short-circuit (the evaluator runs them; their table entries only carry the
signature).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from gitsecure.seal.gotemplate.errors import FuncError
from gitsecure.seal.gotemplate.gofmt import sprint, sprintf
from gitsecure.seal.gotemplate.values import A, Func, S, StrMap, go_type, to_bytes, truth


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


BUILTINS: dict[str, Func] = {
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
}
