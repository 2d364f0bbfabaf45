"""Executing an ExternalSecret template: Go's ``exec`` with ``missingkey=error`` and the caller's function table.

The walker is :mod:`gitsecure.seal.gotemplate`'s port of Go's ``text/template`` exec (Go's truth, argument type
checks, ``and``/``or`` short-circuit, ``range`` over maps in key order, ``break``/``continue``, step, iteration
and work limits). ESO differs from sealed-secrets in three ways, set here through the executor's hooks:

* ESO sets ``missingkey=error``: a field naming a missing map key fails (``map has no entry for key "x"``)
  instead of printing ``<no value>``; a field of a nil value fails too. ``index`` is unaffected, as in Go.
* functions come from the table this executor is given (ESO's, plus the caller's), not sealed-secrets' table;
* the output cap is the caller's ``max_output``.
"""

from __future__ import annotations

from collections.abc import Mapping

from gitsecure.seal.gotemplate.evaluate import _Exec
from gitsecure.seal.gotemplate.nodes import Node
from gitsecure.seal.gotemplate.values import Func, StrMap


class Executor(_Exec):
    """Runs one parsed template over ``data`` (both ``.`` and ``$``)."""

    def __init__(self, name: str, source: str, data: object, functions: Mapping[str, Func], max_output: int) -> None:
        """``functions`` must hold every name the parser accepted; output stops at ``max_output`` bytes."""
        super().__init__(name, source, StrMap())
        self.vars[0][1] = data  # the dot need not be the map[string]string sealed-secrets always has
        self.functions = functions
        self.missing_key_error = True
        self.max_output = max_output

    def run(self, tree: list[Node]) -> str:
        """The rendered text."""
        self.walk(self.vars[0][1], tree)
        return "".join(self.out)

    def write(self, s: str) -> None:
        """Append output, counting UTF-8 bytes as Go does, up to ``max_output``."""
        self.size += len(s) if len(s) > self.max_output else len(s.encode("utf-8", "surrogateescape"))
        if self.size > self.max_output:
            self.limit(f"output exceeds {self.max_output} bytes")
        self.out.append(s)
