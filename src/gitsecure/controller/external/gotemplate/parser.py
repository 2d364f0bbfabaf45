"""Parsing an ExternalSecret template: Go's ``text/template/parse``, with ESO's function names.

The lexer and the recursive-descent parser are the ones :mod:`gitsecure.seal.gotemplate` ports from Go (trim
markers, comments, raw strings, character constants, Go number syntax, parse-time checks of functions and
variables, nesting bounded). Two things differ for ExternalSecrets, and only they are overridden here: the
function names a template may use are ESO's (:mod:`.functions`, plus any the caller adds), and the refusal of
``define``/``template``/``block`` speaks of ExternalSecret templates.
"""

from __future__ import annotations

from collections.abc import Container

from gitsecure.seal.gotemplate.gostrconv import go_quote
from gitsecure.seal.gotemplate.lexer import Lexer
from gitsecure.seal.gotemplate.nodes import Arg, Ident, Node
from gitsecure.seal.gotemplate.parser import Parser

_UNSUPPORTED_ACTIONS = frozenset({"define", "template", "block"})


class TemplateParser(Parser):
    """Go's parser with a function table of the caller's choosing."""

    def __init__(self, source: str, name: str, functions: Container[str], unsupported: Container[str]) -> None:
        """Lex ``source`` (template ``name`` in messages); ``functions`` are the names calls may use."""
        super().__init__(Lexer(source).run(), name)
        self.functions = functions
        self.unsupported = unsupported

    def action(self) -> Node:
        """Refuse ``define``/``template``/``block`` with a message for ExternalSecrets, else Go's action."""
        tok = self.peek_non_space()
        if tok.kind == "keyword" and tok.val in _UNSUPPORTED_ACTIONS:
            self.next_non_space()
            self.errorf(f"{{{{{tok.val}}}}} is not supported in ExternalSecret templates")
        return super().action()

    def term(self) -> Arg | None:
        """A function name is checked against this parser's table; every other term is Go's."""
        tok = self.peek_non_space()
        if tok.kind != "ident":
            return super().term()
        self.next_non_space()
        if tok.val not in self.functions:
            if tok.val in self.unsupported:
                self.errorf(f"function {go_quote(tok.val)} is not supported by gitsecure's template renderer")
            self.errorf(f"function {go_quote(tok.val)} not defined")
        return Ident(tok.pos, tok.val)


def parse(source: str, *, name: str, functions: Container[str], unsupported: Container[str]) -> list[Node]:
    """The tree of ``source``; raises the seal engine's ``TemplateError`` (the caller converts it)."""
    return TemplateParser(source, name, functions, unsupported).parse()
