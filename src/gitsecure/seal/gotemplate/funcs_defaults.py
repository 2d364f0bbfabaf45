"""Sprig's defaults and flow control: ``default``, ``empty``, ``coalesce``, ``ternary``, ``fail``.

Emptiness is Go's template truth (:func:`.values.truth`). ``fail``'s message is
withheld by the evaluator unless it is a template literal, as it may carry data.
"""

from __future__ import annotations

from gitsecure.seal.gotemplate.errors import FuncError
from gitsecure.seal.gotemplate.values import A, B, Func, S, truth


def _fail(msg: str) -> str:
    raise FuncError(msg)


def _default(d: object, *given: object) -> object:
    return given[0] if given and truth(given[0]) else d


def _coalesce(*v: object) -> object:
    return next((x for x in v if truth(x)), None)


DEFAULTS: dict[str, Func] = {
    "default": Func(_default, (A,), A),
    "empty": Func(lambda v: not truth(v), (A,)),
    "coalesce": Func(_coalesce, (), A),
    "ternary": Func(lambda vt, vf, cond: vt if cond else vf, (A, A, B)),
    "fail": Func(_fail, (S,)),
}
