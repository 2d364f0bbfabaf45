"""A Go ``text/template`` interpreter for the subset ExternalSecret templates use (reference §4).

ESO renders ``target.template`` with Go's text/template and sprig functions; existing manifests must render
the same here. This is an interpreter over a parsed tree, never Python evaluation: actions with ``{{-``/``-}}``
trimming and comments, fields, variables, pipelines, parentheses, ``if``/``else if``/``else``, ``range``,
``with``, the builtins, and the functions in :mod:`.functions`. A missing map key is an error
(``missingkey=error``). Output and loop sizes are capped. Errors name the position and problem, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitsecure.controller.external.gotemplate.errors import TemplateError
from gitsecure.controller.external.gotemplate.evaluate import Evaluator
from gitsecure.controller.external.gotemplate.functions import FUNCTIONS
from gitsecure.controller.external.gotemplate.parser import parse

__all__ = ["FUNCTIONS", "TemplateError", "render"]

DEFAULT_MAX_OUTPUT = 1 << 20


def render(
    source: str,
    context: Any,
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> str:
    """Render ``source`` with ``context`` as ``.``; raises :class:`TemplateError`."""
    tree = parse(source)
    table = dict(FUNCTIONS)
    table.update(functions or {})
    return Evaluator(table, max_output=max_output).run(tree, context)
