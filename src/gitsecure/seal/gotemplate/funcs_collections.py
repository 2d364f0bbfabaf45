"""Sprig's list and dict functions: ``list``, ``slice``, ``dict``, ``get``, ``set``, ``hasKey``, ``keys``.

``get``, ``set``, ``hasKey`` and ``keys`` take a Go ``map[string]interface{}``
only: the template's dot, a ``map[string]string``, is refused as Go's type
check refuses it.
"""

from __future__ import annotations

from gitsecure.seal.gotemplate.convert import strval, to_int64
from gitsecure.seal.gotemplate.errors import FuncError
from gitsecure.seal.gotemplate.values import A, Func, M, S, go_type, sorted_keys


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
    return [k for d in dicts if d for k in sorted_keys(d)]


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


COLLECTIONS: dict[str, Func] = {
    "list": Func(lambda *a: list(a), (), A),
    "slice": Func(_slice, (A,), A),
    "dict": Func(_dict, (), A),
    "get": Func(lambda d, k: "" if d is None else d.get(k, ""), (M, S)),
    "set": Func(_set, (M, S, A)),
    "hasKey": Func(lambda d, k: d is not None and k in d, (M, S)),
    "keys": Func(_keys, (), M),
}
