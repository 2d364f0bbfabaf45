"""Go ``text/template`` as ESO's engine ``v2`` runs it (reference §4): ``missingkey=error`` and ESO's function map.

Existing ExternalSecret manifests must render here exactly as under ESO, so this is Go's template language,
interpreted over a parse tree (never Python evaluation): actions with ``{{-``/``-}}`` trimming, comments,
fields and chains, ``$`` variables with ``:=``/``=``, pipelines, parentheses, string/raw/number/char/bool/nil
literals, ``if``/``else if``/``else``, ``range`` (maps in key order, ``else``, ``break``/``continue``),
``with``/``else``, Go's builtins and printing (``map[a:b]``, ``[a b]``, ``<no value>``, ``printf`` verbs), and
Sprig. The language core is the one :mod:`gitsecure.seal.gotemplate` ports from Go for sealed-secrets
templates; this package adds what ESO does differently (:mod:`.parser`, :mod:`.evaluate`, :mod:`.functions`).

Values follow Go's types: the dot given as a mapping of strings is a ``map[string]string`` (``index`` of a
missing key is ``""``); other mappings are ``map[string]interface{}``. Strings may carry non-UTF-8 bytes as
``surrogateescape`` code points (use :func:`go_string`/:func:`go_bytes`), so ``b64enc`` of binary data is exact.
Output, range iterations, evaluation steps and nesting are bounded. Errors name the template position and the
problem (``template: url:1:3: executing "url" at <.nope>: map has no entry for key "nope"``), never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitsecure.controller.external.gotemplate.errors import TemplateError
from gitsecure.controller.external.gotemplate.evaluate import Executor
from gitsecure.controller.external.gotemplate.functions import FUNCTIONS, UNSUPPORTED, function_table
from gitsecure.controller.external.gotemplate.parser import parse
from gitsecure.seal.gotemplate.errors import FuncError
from gitsecure.seal.gotemplate.errors import TemplateError as _EngineError
from gitsecure.seal.gotemplate.values import StrMap, from_bytes, to_bytes

__all__ = ["DEFAULT_MAX_OUTPUT", "FUNCTIONS", "UNSUPPORTED", "TemplateError", "go_bytes", "go_string", "render"]

DEFAULT_MAX_OUTPUT = 1 << 20

go_string = from_bytes
"""Bytes as a template string (invalid UTF-8 kept as ``surrogateescape`` code points, as Go strings keep it)."""

go_bytes = to_bytes
"""The inverse of :func:`go_string`: a rendered string's exact bytes."""


def _go_value(value: object, where: str) -> object:
    """A context value as the Go type the engine models (see :mod:`gitsecure.seal.gotemplate.values`)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, bytes):
        return from_bytes(value)
    if isinstance(value, Mapping):
        return {str(k): _go_value(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_go_value(v, where) for v in value]
    raise TemplateError(f"template: {where}: the context holds a value of unsupported type {type(value).__name__}")


def _dot(context: Mapping[str, Any], name: str) -> object:
    if all(isinstance(v, (str, bytes)) for v in context.values()):
        # ESO hands templates a map[string]string: index of a missing key gives "", Sprig's dict functions refuse it.
        return StrMap({str(k): v if isinstance(v, str) else from_bytes(v) for k, v in context.items()})
    return _go_value(context, name)


def render(
    source: str,
    context: Mapping[str, Any],
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    name: str = "template",
) -> str:
    """Render ``source`` with ``context`` as ``.`` (template ``name`` in messages); raises :class:`TemplateError`.

    ``functions`` adds to or replaces ESO's function map (a plain callable takes any arguments). The output is
    capped at ``max_output`` bytes.
    """
    table = function_table(functions)
    try:
        tree = parse(source, name=name, functions=table, unsupported=UNSUPPORTED)
        return Executor(name, source, _dot(context, name), table, max_output).run(tree)
    except _EngineError as exc:
        raise TemplateError(exc.message) from None
    except FuncError as exc:  # printing an action's value can pass the string limit outside any function call
        raise TemplateError(f"template: {name}: {exc}") from None
    except RecursionError:
        raise TemplateError(f"template: {name}: nesting too deep") from None
