"""Executing an ExternalSecret template: Go's ``exec`` with ``missingkey=error`` and the caller's function table.

The walker is :mod:`gitsecure.seal.gotemplate`'s port of Go's ``text/template`` exec (Go's truth, argument type
checks, ``and``/``or`` short-circuit, ``range`` over maps in key order, ``break``/``continue``, step, iteration
and work limits). ESO differs from sealed-secrets in three ways, overridden here:

* ESO sets ``missingkey=error``: a field naming a missing map key fails (``map has no entry for key "x"``)
  instead of printing ``<no value>``; a field of a nil value fails too. ``index`` is unaffected, as in Go.
* functions come from the table this executor is given (ESO's, plus the caller's), not sealed-secrets' table;
* the output cap is the caller's ``max_output``.
"""

from __future__ import annotations

from collections.abc import Mapping

from gitsecure.seal.gotemplate.evaluate import _MISSING, _Exec
from gitsecure.seal.gotemplate.nodes import Arg, Chain, Field, Ident, Lit, Node, Var, node_str
from gitsecure.seal.gotemplate.values import Func, StrMap, go_type


class Executor(_Exec):
    """Runs one parsed template over ``data`` (both ``.`` and ``$``)."""

    def __init__(self, name: str, source: str, data: object, functions: Mapping[str, Func], max_output: int) -> None:
        """``functions`` must hold every name the parser accepted; output stops at ``max_output`` bytes."""
        super().__init__(name, source, StrMap())
        self.vars[0][1] = data  # the dot need not be the map[string]string sealed-secrets always has
        self.functions = functions
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

    def operand(self, dot: object, node: Field | Chain | Ident | Var, args: list[Arg] | None, final: object) -> object:
        """A function call, field chain, chain or variable, with ``missingkey=error`` field lookups."""
        if isinstance(node, Ident):
            return self.call(dot, node, self.functions[node.name], args[1:] if args else [], final)
        if isinstance(node, Field):
            receiver, idents = dot, node.idents
        elif isinstance(node, Chain):
            if isinstance(node.node, Lit):
                self.fail(node, f"indirection through explicit nil in {node_str(node)}")
            receiver, idents = self.arg(dot, "any", node.node), node.fields
        else:
            receiver, idents = self.var_value(node), node.idents[1:]
            if not idents:
                self.not_a_function(args, final)
                return receiver
        for i, name in enumerate(idents):
            if receiver is None:
                # Go: a nil interface (a JSON null, a missing index result) has no fields, whatever missingkey says.
                self.fail(node, f"nil pointer evaluating interface {{}}.{name}")
            if not isinstance(receiver, dict):
                self.fail(node, f"can't evaluate field {name} in type {go_type(receiver)}")
            if i == len(idents) - 1 and ((args is not None and len(args) > 1) or final is not _MISSING):
                self.fail(node, f"{name} is not a method but has arguments")
            if name not in receiver:
                self.fail(node, f'map has no entry for key "{name}"')  # the key is template text, not data
            receiver = receiver[name]
        return receiver
