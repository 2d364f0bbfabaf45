"""The template parser: Go's ``text/template/parse`` for the subset sealed-secrets templates use.

It turns the lexer's tokens into a tree of :mod:`.nodes`, checking what Go
checks at parse time (functions defined, variables declared, ``break`` and
``continue`` inside ``range``) with Go's error messages. ``define``,
``template`` and ``block`` are refused; nesting is bounded by
:data:`.limits.MAX_DEPTH`.
"""

from __future__ import annotations

import math
from typing import NoReturn

from gitsecure.seal.gotemplate.errors import TemplateError
from gitsecure.seal.gotemplate.funcs import FUNCS, UNSUPPORTED
from gitsecure.seal.gotemplate.gostrconv import go_quote, parse_go_int, unquote
from gitsecure.seal.gotemplate.lexer import Tok
from gitsecure.seal.gotemplate.limits import MAX_DEPTH
from gitsecure.seal.gotemplate.nodes import (
    Action,
    Arg,
    Chain,
    Command,
    Control,
    Field,
    Ident,
    Jump,
    Lit,
    Node,
    Pipe,
    Var,
)

# Parse-only markers, never in a finished tree; no text node can equal them, as text never holds "{{".
_END, _ELSE = "{{end}}", "{{else}}"
_OPERAND_START = frozenset(
    {"bool", "charconst", "complex", "dot", "field", "ident", "number", "nil", "raw", "string", "var", "("}
)


def _tok_str(tok: Tok) -> str:
    if tok.kind in ("eof", "error"):
        return "EOF" if tok.kind == "eof" else tok.val
    if tok.kind in ("keyword", "dot", "nil"):
        return f"<{tok.val}>"
    return go_quote(tok.val[:10]) + "..." if len(tok.val) > 10 else go_quote(tok.val)


def _number(tok: Tok) -> Lit | str:
    """Go's ``newNumber``: the literal, or the parse error text."""
    text = tok.val
    if tok.kind == "complex" or text.endswith("i"):
        return "complex numbers are not supported"
    if tok.kind == "charconst":
        body = unquote(text)
        if body is None:
            return "invalid syntax"
        if len(body) != 1:
            return f"malformed character constant: {text}"
        return Lit(tok.pos, "number", text, ord(body), ord(body))
    as_int = parse_go_int(text)
    if as_int is not None and -(1 << 63) <= as_int < 1 << 63:
        float_like = any(c in text for c in ".eEpP") and text.lstrip("+-")[:2].lower() != "0x"
        return Lit(tok.pos, "number", text, float(as_int) if float_like else as_int, as_int)
    if as_int is not None:
        return f"{text} overflows int"
    try:
        clean = text.replace("_", "")
        value = float.fromhex(clean) if clean.lstrip("+-")[:2].lower() == "0x" else float(clean)
    except ValueError:
        return f"illegal number syntax: {go_quote(text)}"
    if not math.isfinite(value):
        return f"illegal number syntax: {go_quote(text)}"
    integral = int(value) if value.is_integer() and abs(value) < 2**63 else None
    return Lit(tok.pos, "number", text, value, integral)


class Parser:
    """Go's recursive-descent parser over the lexer's tokens; :meth:`parse` returns the tree."""

    def __init__(self, toks: list[Tok], name: str) -> None:
        self.toks, self.i, self.name = toks, 0, name
        self.line, self.action_line = 1, 0
        self.vars = ["$"]
        self.range_depth = self.depth = 0

    def errorf(self, msg: str) -> NoReturn:
        raise TemplateError(f"template: {self.name}:{self.line}: {msg}")

    def next(self) -> Tok:
        tok = self.toks[min(self.i, len(self.toks) - 1)]
        self.i += 1
        self.line = tok.line
        return tok

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> Tok:
        tok = self.next()
        self.backup()
        return tok

    def next_non_space(self) -> Tok:
        tok = self.next()
        while tok.kind == "space":
            tok = self.next()
        return tok

    def peek_non_space(self) -> Tok:
        tok = self.next_non_space()
        self.backup()
        return tok

    def expect(self, kind: str, context: str) -> Tok:
        tok = self.next_non_space()
        if tok.kind != kind:
            self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Tok, context: str) -> NoReturn:
        if tok.kind == "error":
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(tok.val + extra)
        self.errorf(f"unexpected {_tok_str(tok)} in {context}")

    def parse(self) -> list[Node]:
        root: list[Node] = []
        while self.peek().kind != "eof":
            node = self.text_or_action()
            if node in (_END, _ELSE):
                self.errorf(f"unexpected {node}")
            root.append(node)
        return root

    def item_list(self) -> tuple[list[Node], str]:
        body: list[Node] = []
        while self.peek_non_space().kind != "eof":
            node = self.text_or_action()
            if node in (_END, _ELSE):
                assert isinstance(node, str)
                return body, node
            body.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.kind == "text":
            return tok.val
        if tok.kind != "{{":
            self.unexpected(tok, "input")
        self.action_line = tok.line
        try:
            return self.action()
        finally:
            self.action_line = 0

    def action(self) -> Node:
        tok = self.next_non_space()
        if tok.kind == "keyword":
            if tok.val in ("break", "continue"):
                after = self.next_non_space()
                if after.kind != "}}":
                    self.unexpected(after, f"{{{{{tok.val}}}}}")
                if not self.range_depth:
                    self.errorf(f"{{{{{tok.val}}}}} outside {{{{range}}}}")
                return Jump(tok.val)
            if tok.val == "else":
                if self.peek_non_space().kind == "keyword" and self.peek_non_space().val in ("if", "with"):
                    return _ELSE  # "else if" / "else with": the keyword stays pending for parse_control
                self.expect("}}", "else")
                return _ELSE
            if tok.val == "end":
                self.expect("}}", "end")
                return _END
            if tok.val in ("if", "with", "range"):
                return self.control(tok.val)
            self.errorf(f"{{{{{tok.val}}}}} is not supported in sealed secret templates")
        self.backup()
        return Action(self.pipeline("command", "}}"))

    def nest(self, what: str) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.errorf(f"max {what} depth exceeded")

    def control(self, context: str) -> Control:
        self.nest("nesting")
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, "}}")
            self.range_depth += context == "range"
            body, nxt = self.item_list()
            self.range_depth -= context == "range"
            else_body: list[Node] | None = None
            if nxt == _ELSE:
                tok = self.peek_non_space()
                if context in ("if", "with") and tok.kind == "keyword" and tok.val == context:
                    self.next_non_space()
                    else_body = [self.control(context)]
                else:
                    else_body, nxt = self.item_list()
                    if nxt != _END:
                        self.errorf(f"expected end; found {nxt}")
            return Control(context, pipe, body, else_body)
        finally:
            del self.vars[nvars:]
            self.depth -= 1

    def pipeline(self, context: str, end: str) -> Pipe:
        pipe = Pipe(self.peek_non_space().pos, [], False, [])
        while self.peek_non_space().kind == "var":
            save = self.i
            var = self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in (":=", "="):
                self.next_non_space()
                pipe.is_assign = nxt.kind == "="
                pipe.decl.append(var.val)
                self.vars.append(var.val)
            elif nxt.kind == "char" and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(var.val)
                self.vars.append(var.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in ("var", "}}", ")"):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            else:
                self.i = save
            break
        while True:
            tok = self.next_non_space()
            if tok.kind == end:
                if not pipe.cmds:
                    self.errorf(f"missing value for {context}")
                for stage, cmd in enumerate(pipe.cmds[1:], 2):
                    if isinstance(cmd.args[0], Lit):
                        self.errorf(f"non executable command in pipeline stage {stage}")
                return pipe
            if tok.kind not in _OPERAND_START:
                self.unexpected(tok, context)
            self.backup()
            pipe.cmds.append(self.command())

    def command(self) -> Command:
        cmd = Command(self.peek_non_space().pos, [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.kind == "space":
                continue
            if tok.kind in ("}}", ")"):
                self.backup()
            elif tok.kind != "|":
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Arg | None:
        node = self.term()
        if node is None or self.peek().kind != "field":
            return node
        pos, fields = self.peek().pos, []
        while self.peek().kind == "field":
            fields.append(self.next().val[1:])
        if isinstance(node, Field):
            return Field(node.pos, node.idents + tuple(fields))
        if isinstance(node, Var):
            return Var(node.pos, node.idents + tuple(fields))
        if isinstance(node, Lit):
            self.errorf(f"unexpected . after term {go_quote(node.text)}")
        return Chain(pos, node, tuple(fields))

    def term(self) -> Arg | None:
        tok = self.next_non_space()
        kind = tok.kind
        if kind == "ident":
            if tok.val not in FUNCS:
                if tok.val in UNSUPPORTED:
                    self.errorf(f"function {go_quote(tok.val)} is not supported by gitsecure's template renderer")
                self.errorf(f"function {go_quote(tok.val)} not defined")
            return Ident(tok.pos, tok.val)
        if kind == "var":
            if tok.val not in self.vars:
                self.errorf(f"undefined variable {go_quote(tok.val)}")
            return Var(tok.pos, (tok.val,))
        if kind == "field":
            return Field(tok.pos, (tok.val[1:],))
        if kind in ("dot", "nil", "bool"):
            return Lit(tok.pos, kind, tok.val, tok.val == "true" if kind == "bool" else None)
        if kind in ("number", "charconst", "complex"):
            number = _number(tok)
            if isinstance(number, str):
                self.errorf(number)
            return number
        if kind == "(":
            self.nest("expression")
            try:
                return self.pipeline("parenthesized pipeline", ")")
            finally:
                self.depth -= 1
        if kind in ("string", "raw"):
            text = unquote(tok.val)
            if text is None:
                self.errorf("invalid syntax")
            return Lit(tok.pos, "string", tok.val, text)
        self.backup()
        return None
