"""Go ``text/template`` + Sprig, as the sealed-secrets controller renders ``spec.template.data``.

The controller parses each ``spec.template.data[key]`` as a template named
``key``, with Sprig's generic function map minus ``env``, ``expandenv`` and
``getHostByName``, and executes it with the dot bound to a
``map[string]string`` of the decrypted items. :func:`render` reproduces that
for the subset of the language such templates use: text, actions and trim
markers, comments, fields, variables, pipelines, parenthesised expressions,
literals, ``if``/``else if``/``with``/``else with``/``range``/``break``/
``continue``, and the functions in :mod:`gitsecure.seal.gotemplate_funcs`.
``define``, ``template`` and ``block`` are refused.

It is an interpreter over a parse tree, never ``eval``: no Python attribute is
reachable from a template. Output, iterations, evaluation steps and nesting
are bounded so a hostile template fails fast instead of hanging. Error
messages follow Go's (``template: NAME:LINE: ...``) but carry template
positions and Go type names only, never a data value.
"""

from __future__ import annotations

import bisect
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from gitsecure.errors import InputError
from gitsecure.seal.gotemplate_funcs import (
    FUNCS,
    GO_KIND_NAMES,
    MAX_STRING,
    UNSUPPORTED,
    Func,
    FuncError,
    StrMap,
    fmt_v,
    from_bytes,
    go_quote,
    go_type,
    parse_go_int,
    to_bytes,
    truth,
)

__all__ = ["MAX_OUTPUT", "TemplateError", "render"]

MAX_OUTPUT = 1 << 20  # bytes of rendered output
_MAX_STEPS = 1_000_000  # nodes and commands evaluated per render
_MAX_ITERATIONS = 100_000  # range iterations per render
# Characters and elements passed to and returned by functions: steps alone would let 100k
# iterations of sha256sum or upper over a 1 MiB value run for minutes.
_MAX_WORK = 16 << 20
_MAX_DEPTH = 50  # nested controls or parentheses; real templates use a handful

_SPACE = " \t\r\n"
_KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"})


class TemplateError(InputError):
    """A ``spec.template.data`` template failed to parse or execute."""

    reference = "template-error"


# --- lexer -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "text", "{{", "}}", "space", "ident", "field", "var", "string", "number", "keyword", "error"...
    val: str
    pos: int
    line: int


def _alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"


def _rune_name(c: str) -> str:
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"


class _Lexer:
    """Go's lexer, run eagerly: the token list ends with ``eof`` or with the first ``error``."""

    def __init__(self, src: str) -> None:
        self.src, self.n = src, len(src)
        self.newlines = [i for i, c in enumerate(src) if c == "\n"]
        self.toks: list[_Tok] = []

    def emit(self, kind: str, start: int, end: int, val: str | None = None) -> None:
        text = self.src[start:end] if val is None else val
        self.toks.append(_Tok(kind, text, start, 1 + bisect.bisect_left(self.newlines, start)))

    def fail(self, msg: str, pos: int) -> int:
        self.emit("error", pos, pos, msg)
        return -1

    def right_delim(self, p: int) -> tuple[bool, bool]:
        """Whether ``p`` is at ``}}``, and whether a `` -`` trim marker precedes it."""
        if self.src.startswith("}}", p):
            return True, False
        marked = p + 1 < self.n and self.src[p] in _SPACE and self.src[p + 1] == "-"
        return (True, True) if marked and self.src.startswith("}}", p + 2) else (False, False)

    def run(self) -> list[_Tok]:
        src, pos = self.src, 0
        while True:
            x = src.find("{{", pos)
            if x < 0:
                if pos < self.n:
                    self.emit("text", pos, self.n)
                self.emit("eof", self.n, self.n)
                return self.toks
            trim = src.startswith("-", x + 2) and x + 3 < self.n and src[x + 3] in _SPACE
            end = pos + len(src[pos:x].rstrip(_SPACE)) if trim else x
            if end > pos:
                self.emit("text", pos, end)
            p = x + (4 if trim else 2)
            if src.startswith("/*", p):
                pos = self.comment(p)
            else:
                self.emit("{{", x, x + 2)
                pos = self.action(p)
            if pos < 0:
                return self.toks

    def skip_space(self, p: int) -> int:
        while p < self.n and self.src[p] in _SPACE:
            p += 1
        return p

    def comment(self, p: int) -> int:
        close = self.src.find("*/", p + 2)
        if close < 0:
            return self.fail("unclosed comment", p)
        delim, trim = self.right_delim(close + 2)
        if not delim:
            return self.fail("comment ends before closing delimiter", p)
        p = close + (6 if trim else 4)
        return self.skip_space(p) if trim else p

    def terminator(self, p: int) -> bool:
        return p >= self.n or self.src[p] in _SPACE or self.src[p] in ".,|:)(" or self.src.startswith("}}", p)

    def action(self, p: int) -> int:
        src, depth = self.src, 0
        while True:
            delim, trim = self.right_delim(p)
            if delim:
                if depth:
                    return self.fail("unclosed left paren", p)
                p += 2 if trim else 0
                self.emit("}}", p, p + 2)
                return self.skip_space(p + 2) if trim else p + 2
            if p >= self.n:
                return self.fail("unclosed action", p)
            c, start = src[p], p
            if c in _SPACE:
                # Stop before " -}}" so the trim marker is seen as such.
                while p < self.n and src[p] in _SPACE and not self.right_delim(p)[0]:
                    p += 1
                self.emit("space", start, p)
                continue
            if c == ":" and not src.startswith("=", p + 1):
                return self.fail("expected :=", p)
            if c in "=|(),:":
                p += 2 if c == ":" else 1
                depth += {"(": 1, ")": -1}.get(c, 0)
                if depth < 0:
                    return self.fail(f"unexpected right paren {_rune_name(c)}", start)
                self.emit(c + "=" if c == ":" else c if c != "," else "char", start, p)
                continue
            if c in "\"'":
                p = self.quoted(p, c)
            elif c == "`":
                close = src.find("`", p + 1)
                if close < 0:
                    return self.fail("unterminated raw quoted string", p)
                p = close + 1
                self.emit("raw", start, p)
            elif c in "$." and not (c == "." and "0" <= src[p + 1 : p + 2] <= "9"):
                p = self.word(p + 1, start, "var" if c == "$" else "field")
            elif c in "+-." or "0" <= c <= "9":
                p = self.number(p)
            elif _alnum(c):
                p = self.word(p, start, "ident")
            elif c <= "\x7f" and c.isprintable():
                p += 1
                self.emit("char", start, p)
            else:
                return self.fail(f"unrecognized character in action: {_rune_name(c)}", p)
            if p < 0:
                return p

    def word(self, p: int, start: int, kind: str) -> int:
        if kind != "ident" and self.terminator(p):
            self.emit("var" if kind == "var" else "dot", start, p)
            return p
        while p < self.n and _alnum(self.src[p]):
            p += 1
        if not self.terminator(p):
            return self.fail(f"bad character {_rune_name(self.src[p])}", start)
        word = self.src[start:p]
        if kind == "ident":
            kind = "keyword" if word in _KEYWORDS else {"true": "bool", "false": "bool", "nil": "nil"}.get(word, kind)
        self.emit(kind, start, p)
        return p

    def quoted(self, start: int, quote: str) -> int:
        src, p = self.src, start + 1
        what = "quoted string" if quote == '"' else "character constant"
        while True:
            step = 2 if src[p : p + 1] == "\\" else 1
            if p + step > self.n or "\n" in src[p : p + step]:
                return self.fail(f"unterminated {what}", start)
            p += step
            if step == 1 and src[p - 1] == quote:
                break
        self.emit("string" if quote == '"' else "charconst", start, p)
        return p

    def scan_number(self, p: int) -> tuple[int, bool]:
        src, n = self.src, self.n
        p += p < n and src[p] in "+-"
        digits = "0123456789_"
        if p < n and src[p] == "0":
            p += 1
            radix = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}.get(src[p : p + 1].lower())
            if radix:
                digits, p = radix, p + 1
        while p < n and src[p] in digits:
            p += 1
        if p < n and src[p] == ".":
            p += 1
            while p < n and src[p] in digits:
                p += 1
        exponent = "eE" if digits == "0123456789_" else "pP" if len(digits) == 23 else ""
        if p < n and exponent and src[p] in exponent:
            p += 1
            p += p < n and src[p] in "+-"
            while p < n and src[p] in "0123456789_":
                p += 1
        p += p < n and src[p] == "i"
        if p < n and _alnum(src[p]):
            return p + 1, False
        return p, True

    def number(self, start: int) -> int:
        p, ok = self.scan_number(start)
        kind = "number"
        if ok and p < self.n and self.src[p] in "+-":
            p, ok = self.scan_number(p)
            ok, kind = ok and self.src[p - 1] == "i", "complex"
        if not ok:
            return self.fail(f"bad number syntax: {go_quote(self.src[start:p])}", start)
        self.emit(kind, start, p)
        return p


# --- parse tree --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Field:
    pos: int
    idents: tuple[str, ...]


@dataclass(slots=True)
class _Var:
    pos: int
    idents: tuple[str, ...]


@dataclass(slots=True)
class _Ident:
    pos: int
    name: str


@dataclass(slots=True)
class _Lit:
    """A literal: ``kind`` is dot, nil, bool, number or string; ``text`` is its source spelling."""

    pos: int
    kind: str
    text: str
    value: object = None
    int_value: int | None = None  # numbers usable where Go wants an int


@dataclass(slots=True)
class _Chain:
    pos: int
    node: _Arg
    fields: tuple[str, ...]


@dataclass(slots=True)
class _Command:
    pos: int
    args: list[_Arg]


@dataclass(slots=True)
class _Pipe:
    pos: int
    decl: list[str]
    is_assign: bool
    cmds: list[_Command]


@dataclass(slots=True)
class _Action:
    pipe: _Pipe


@dataclass(slots=True)
class _Control:
    kind: str  # if, with, range
    pipe: _Pipe
    body: list[_Node]
    else_body: list[_Node] | None


@dataclass(slots=True)
class _Jump:
    kind: str  # break, continue


_Arg = _Field | _Var | _Ident | _Lit | _Chain | _Pipe
_Node = str | _Action | _Control | _Jump
# Parse-only markers, never in a finished tree; no text node can equal them, as text never holds "{{".
_END, _ELSE = "{{end}}", "{{else}}"
_OPERAND_START = frozenset(
    {"bool", "charconst", "complex", "dot", "field", "ident", "number", "nil", "raw", "string", "var", "("}
)


def _str(node: _Arg | _Command) -> str:
    """Go's ``Node.String()``: the template source spelling, for error messages."""
    if isinstance(node, _Field):
        return "." + ".".join(node.idents)
    if isinstance(node, _Var):
        return ".".join(node.idents)
    if isinstance(node, _Ident):
        return node.name
    if isinstance(node, _Lit):
        return node.text
    if isinstance(node, _Chain):
        inner = f"({_str(node.node)})" if isinstance(node.node, _Pipe) else _str(node.node)
        return inner + "".join("." + f for f in node.fields)
    if isinstance(node, _Command):
        return " ".join(f"({_str(a)})" if isinstance(a, _Pipe) else _str(a) for a in node.args)
    decl = ", ".join(node.decl) + " := " if node.decl else ""
    return decl + " | ".join(_str(c) for c in node.cmds)


def _tok_str(tok: _Tok) -> str:
    if tok.kind in ("eof", "error"):
        return "EOF" if tok.kind == "eof" else tok.val
    if tok.kind in ("keyword", "dot", "nil"):
        return f"<{tok.val}>"
    return go_quote(tok.val[:10]) + "..." if len(tok.val) > 10 else go_quote(tok.val)


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_ESCAPE_DIGITS = {"x": (2, 16), "u": (4, 16), "U": (8, 16), **{d: (3, 8) for d in "01234567"}}


def _unquote(text: str) -> str | None:
    """``strconv.Unquote`` of a "..." or `...` literal, or the body of a '...' constant; None if malformed."""
    if text[0] == "`":
        return text[1:-1].replace("\r", "")  # Go drops carriage returns from raw strings
    quote, body, out, i = text[0], text[1:-1], bytearray(), 0
    while i < len(body):
        c, e = body[i], body[i + 1 : i + 2]
        if c != "\\":
            out += to_bytes(c)
            i += 1
        elif e in _SIMPLE_ESCAPES or e == quote:  # \' only in '...', \" only in "..."
            out.append(_SIMPLE_ESCAPES.get(e, ord(quote)))
            i += 2
        elif e in _ESCAPE_DIGITS:
            size, base = _ESCAPE_DIGITS[e]
            start = i + 1 if base == 8 else i + 2
            digits = body[start : start + size]
            try:
                value = int(digits, base) if len(digits) == size and digits.isascii() and digits.isalnum() else -1
            except ValueError:
                return None
            if value < 0 or value > (0x10FFFF if e in "uU" else 255) or (e in "uU" and 0xD800 <= value <= 0xDFFF):
                return None
            # In "..." a \x or octal escape is one raw byte, possibly not UTF-8; in '...' it is a code point.
            out += bytes([value]) if quote == '"' and e not in "uU" else chr(value).encode()
            i = start + size
        else:
            return None
    return from_bytes(bytes(out))


def _number(tok: _Tok) -> _Lit | str:
    """Go's ``newNumber``: the literal, or the parse error text."""
    text = tok.val
    if tok.kind == "complex" or text.endswith("i"):
        return "complex numbers are not supported"
    if tok.kind == "charconst":
        body = _unquote(text)
        if body is None:
            return "invalid syntax"
        if len(body) != 1:
            return f"malformed character constant: {text}"
        return _Lit(tok.pos, "number", text, ord(body), ord(body))
    as_int = parse_go_int(text)
    if as_int is not None and -(1 << 63) <= as_int < 1 << 63:
        float_like = any(c in text for c in ".eEpP") and text.lstrip("+-")[:2].lower() != "0x"
        return _Lit(tok.pos, "number", text, float(as_int) if float_like else as_int, as_int)
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
    return _Lit(tok.pos, "number", text, value, integral)


# --- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, toks: list[_Tok], name: str) -> None:
        self.toks, self.i, self.name = toks, 0, name
        self.line, self.action_line = 1, 0
        self.vars = ["$"]
        self.range_depth = self.depth = 0

    def errorf(self, msg: str) -> NoReturn:
        raise TemplateError(f"template: {self.name}:{self.line}: {msg}")

    def next(self) -> _Tok:
        tok = self.toks[min(self.i, len(self.toks) - 1)]
        self.i += 1
        self.line = tok.line
        return tok

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> _Tok:
        tok = self.next()
        self.backup()
        return tok

    def next_non_space(self) -> _Tok:
        tok = self.next()
        while tok.kind == "space":
            tok = self.next()
        return tok

    def peek_non_space(self) -> _Tok:
        tok = self.next_non_space()
        self.backup()
        return tok

    def expect(self, kind: str, context: str) -> _Tok:
        tok = self.next_non_space()
        if tok.kind != kind:
            self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: _Tok, context: str) -> NoReturn:
        if tok.kind == "error":
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(tok.val + extra)
        self.errorf(f"unexpected {_tok_str(tok)} in {context}")

    def parse(self) -> list[_Node]:
        root: list[_Node] = []
        while self.peek().kind != "eof":
            node = self.text_or_action()
            if node in (_END, _ELSE):
                self.errorf(f"unexpected {node}")
            root.append(node)
        return root

    def item_list(self) -> tuple[list[_Node], str]:
        body: list[_Node] = []
        while self.peek_non_space().kind != "eof":
            node = self.text_or_action()
            if node in (_END, _ELSE):
                assert isinstance(node, str)
                return body, node
            body.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> _Node:
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

    def action(self) -> _Node:
        tok = self.next_non_space()
        if tok.kind == "keyword":
            if tok.val in ("break", "continue"):
                after = self.next_non_space()
                if after.kind != "}}":
                    self.unexpected(after, f"{{{{{tok.val}}}}}")
                if not self.range_depth:
                    self.errorf(f"{{{{{tok.val}}}}} outside {{{{range}}}}")
                return _Jump(tok.val)
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
        return _Action(self.pipeline("command", "}}"))

    def nest(self, what: str) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.errorf(f"max {what} depth exceeded")

    def control(self, context: str) -> _Control:
        self.nest("nesting")
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, "}}")
            self.range_depth += context == "range"
            body, nxt = self.item_list()
            self.range_depth -= context == "range"
            else_body: list[_Node] | None = None
            if nxt == _ELSE:
                tok = self.peek_non_space()
                if context in ("if", "with") and tok.kind == "keyword" and tok.val == context:
                    self.next_non_space()
                    else_body = [self.control(context)]
                else:
                    else_body, nxt = self.item_list()
                    if nxt != _END:
                        self.errorf(f"expected end; found {nxt}")
            return _Control(context, pipe, body, else_body)
        finally:
            del self.vars[nvars:]
            self.depth -= 1

    def pipeline(self, context: str, end: str) -> _Pipe:
        pipe = _Pipe(self.peek_non_space().pos, [], False, [])
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
                    if isinstance(cmd.args[0], _Lit):
                        self.errorf(f"non executable command in pipeline stage {stage}")
                return pipe
            if tok.kind not in _OPERAND_START:
                self.unexpected(tok, context)
            self.backup()
            pipe.cmds.append(self.command())

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space().pos, [])
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

    def operand(self) -> _Arg | None:
        node = self.term()
        if node is None or self.peek().kind != "field":
            return node
        pos, fields = self.peek().pos, []
        while self.peek().kind == "field":
            fields.append(self.next().val[1:])
        if isinstance(node, _Field):
            return _Field(node.pos, node.idents + tuple(fields))
        if isinstance(node, _Var):
            return _Var(node.pos, node.idents + tuple(fields))
        if isinstance(node, _Lit):
            self.errorf(f"unexpected . after term {go_quote(node.text)}")
        return _Chain(pos, node, tuple(fields))

    def term(self) -> _Arg | None:
        tok = self.next_non_space()
        kind = tok.kind
        if kind == "ident":
            if tok.val not in FUNCS:
                if tok.val in UNSUPPORTED:
                    self.errorf(f"function {go_quote(tok.val)} is not supported by gitsecure's template renderer")
                self.errorf(f"function {go_quote(tok.val)} not defined")
            return _Ident(tok.pos, tok.val)
        if kind == "var":
            if tok.val not in self.vars:
                self.errorf(f"undefined variable {go_quote(tok.val)}")
            return _Var(tok.pos, (tok.val,))
        if kind == "field":
            return _Field(tok.pos, (tok.val[1:],))
        if kind in ("dot", "nil", "bool"):
            return _Lit(tok.pos, kind, tok.val, tok.val == "true" if kind == "bool" else None)
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
            text = _unquote(tok.val)
            if text is None:
                self.errorf("invalid syntax")
            return _Lit(tok.pos, "string", tok.val, text)
        self.backup()
        return None


# --- evaluator ---------------------------------------------------------------------------------


class _Missing:
    """No previous pipeline value (Go's ``missingVal``), as opposed to nil."""


_MISSING = _Missing()


class _BreakLoop(Exception):
    pass


class _ContinueLoop(Exception):
    pass


class _Exec:
    def __init__(self, name: str, src: str, data: StrMap) -> None:
        self.name, self.src = name, src
        self.vars: list[list[object]] = [["$", data]]  # [name, value] pairs; a stack like Go's
        self.out: list[str] = []
        self.size = self.steps = self.iterations = self.work = 0

    def fail(self, node: _Arg | _Command, msg: str) -> NoReturn:
        before = self.src[: node.pos]
        line, col = before.count("\n") + 1, node.pos - (before.rfind("\n") + 1)
        context = _str(node)
        context = context if len(context) <= 60 else context[:57] + "..."
        raise TemplateError(f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{context}>: {msg}')

    def limit(self, msg: str) -> NoReturn:
        raise TemplateError(f"template: {self.name}: {msg}")

    def tick(self) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            self.limit(f"evaluation exceeds {_MAX_STEPS} steps")

    def write(self, s: str) -> None:
        self.size += len(s) if len(s) > MAX_OUTPUT else len(s.encode("utf-8", "surrogatepass"))
        if self.size > MAX_OUTPUT:
            self.limit(f"output exceeds {MAX_OUTPUT} bytes")
        self.out.append(s)

    def walk(self, dot: object, nodes: list[_Node]) -> None:
        for node in nodes:
            self.tick()
            if isinstance(node, str):
                self.write(node)
            elif isinstance(node, _Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    # An invalid value (missing map key, nil) prints as Go's "<no value>".
                    self.write("<no value>" if value is None else fmt_v(value))
            elif isinstance(node, _Control) and node.kind == "range":
                self.walk_range(dot, node)
            elif isinstance(node, _Control):
                self.walk_if(dot, node)
            else:
                raise _BreakLoop() if node.kind == "break" else _ContinueLoop()

    def walk_if(self, dot: object, node: _Control) -> None:
        mark = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: object, node: _Control) -> None:
        outer = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            mark, decl = len(self.vars), node.pipe.decl
            items: Iterable[tuple[object, object]]
            if isinstance(value, list):
                items = enumerate(value)
            elif isinstance(value, dict):
                items = ((k, value[k]) for k in sorted(value, key=to_bytes))  # Go ranges maps in key order
            elif isinstance(value, int) and not isinstance(value, bool):
                if len(decl) > 1:
                    self.fail(node.pipe, "can't use an int to iterate over more than one variable")
                items = ((None, i) for i in range(max(value, 0)))
            elif value is None:
                items = ()
            else:
                self.fail(node.pipe, f"range can't iterate over a value of type {go_type(value)}")
            ran = False
            for index, elem in items:
                ran = True
                self.iterations += 1
                if self.iterations > _MAX_ITERATIONS:
                    self.limit(f"range iterations exceed {_MAX_ITERATIONS}")
                if decl and node.pipe.is_assign:
                    self.set_var(node.pipe, decl[0], index if len(decl) > 1 else elem)
                    if len(decl) > 1:
                        self.set_var(node.pipe, decl[1], elem)
                elif decl:
                    self.vars[mark - 1][1] = elem
                    if len(decl) > 1:
                        self.vars[mark - 2][1] = index
                try:
                    self.walk(elem, node.body)
                except _ContinueLoop:
                    pass
                except _BreakLoop:
                    break
                finally:
                    del self.vars[mark:]
            if not ran and node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[outer:]

    def set_var(self, node: _Pipe, name: str, value: object) -> None:
        for pair in reversed(self.vars):
            if pair[0] == name:
                pair[1] = value
                return
        self.fail(node, f"undefined variable: {name}")

    def var_value(self, node: _Var) -> object:
        for name, value in reversed(self.vars):
            if name == node.idents[0]:
                return value
        self.fail(node, f"undefined variable: {node.idents[0]}")

    def pipeline(self, dot: object, pipe: _Pipe) -> object:
        value: object = _MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(pipe, name, value)
            else:
                self.vars.append([name, value])
        return value

    def not_a_function(self, args: list[_Arg] | None, final: object) -> None:
        if args and (len(args) > 1 or final is not _MISSING):
            self.fail(args[0], f"can't give argument to non-function {_str(args[0])}")

    def command(self, dot: object, cmd: _Command, final: object) -> object:
        self.tick()
        first = cmd.args[0]
        if isinstance(first, (_Field, _Chain, _Ident, _Var)):
            return self.operand(dot, first, cmd.args, final)
        self.not_a_function(cmd.args, final)
        if isinstance(first, _Pipe):
            return self.pipeline(dot, first)
        if first.kind == "nil":
            self.fail(first, "nil is not a command")
        return dot if first.kind == "dot" else self.constant(first)

    def operand(
        self, dot: object, node: _Field | _Chain | _Ident | _Var, args: list[_Arg] | None, final: object
    ) -> object:
        """Evaluate a field chain, chain, function call or variable; ``args`` is the command, if any."""
        if isinstance(node, _Ident):
            return self.call(dot, node, FUNCS[node.name], args[1:] if args else [], final)
        if isinstance(node, _Field):
            receiver, idents = dot, node.idents
        elif isinstance(node, _Chain):
            if isinstance(node.node, _Lit):
                self.fail(node, f"indirection through explicit nil in {_str(node)}")
            receiver, idents = self.arg(dot, "any", node.node), node.fields
        else:
            receiver, idents = self.var_value(node), node.idents[1:]
            if not idents:
                self.not_a_function(args, final)
                return receiver
        for i, name in enumerate(idents):
            last = i == len(idents) - 1
            if receiver is None:
                return None  # Go: fields of an invalid value are invalid too
            if not isinstance(receiver, dict):
                self.fail(node, f"can't evaluate field {name} in type {go_type(receiver)}")
            if last and ((args is not None and len(args) > 1) or final is not _MISSING):
                self.fail(node, f"{name} is not a method but has arguments")
            # Go's default missingkey=invalid: a missing key is an invalid value, printed "<no value>",
            # for map[string]string too (only missingkey=zero would give ""; sealed-secrets sets no option).
            receiver = receiver.get(name)
        return receiver

    def call(self, dot: object, node: _Ident, func: Func, args: list[_Arg], final: object) -> object:
        name, nfixed = node.name, len(func.params)
        num_in = len(args) + (final is not _MISSING)
        if func.variadic is not None and num_in < nfixed:
            self.fail(node, f"wrong number of args for {name}: want at least {nfixed} got {len(args)}")
        if func.variadic is None and num_in != nfixed:
            self.fail(node, f"wrong number of args for {name}: want {nfixed} got {num_in}")
        if name in ("and", "or"):
            value: object = None
            for arg in args:  # evaluated lazily: Go's and/or short-circuit
                value = self.arg(dot, "any", arg)
                if truth(value) == (name == "or"):
                    return value
            return final if final is not _MISSING else value
        argv = [self.arg(dot, kind, arg) for kind, arg in zip(func.params, args, strict=False)]
        argv += [self.arg(dot, func.variadic or "any", arg) for arg in args[nfixed:]]
        if final is not _MISSING:
            kind = func.params[num_in - 1] if num_in - 1 < nfixed else func.variadic or "any"
            argv.append(self.validate(node, final, kind))
        where = _Command(node.pos, [node, *args])  # Go reports call errors at the whole command
        try:
            result = func.fn(*argv)
        except FuncError as exc:
            message = str(exc)
            if name == "fail" and not (len(args) == 1 and isinstance(args[0], _Lit) and final is _MISSING):
                message = "(message withheld: it is not a template literal and may hold secret data)"
            self.fail(where, f"error calling {name}: {message}")
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            self.fail(where, f"error calling {name}: internal error ({type(exc).__name__})")
        if isinstance(result, str) and len(result) > MAX_STRING:
            self.fail(where, f"error calling {name}: result exceeds the {MAX_STRING} character limit")
        self.work += 1 + sum(len(v) for v in (*argv, result) if isinstance(v, (str, list, dict)))
        if self.work > _MAX_WORK:
            self.limit(f"functions processed more than {_MAX_WORK} characters")
        return result

    def arg(self, dot: object, kind: str, node: _Arg) -> object:
        """Go's ``evalArg``: evaluate ``node`` for a parameter of ``kind``."""
        if isinstance(node, (_Field, _Chain, _Ident, _Var)):
            return self.validate(node, self.operand(dot, node, None, _MISSING), kind)
        if isinstance(node, _Pipe):
            return self.validate(node, self.pipeline(dot, node), kind)
        if node.kind == "dot":
            return self.validate(node, dot, kind)
        if node.kind == "nil":
            if kind in ("any", "map"):
                return None
            self.fail(node, f"cannot assign nil to {GO_KIND_NAMES[kind]}")
        if kind == "any":
            return self.constant(node)
        if kind == "int" and node.kind == "number" and node.int_value is not None:
            return node.int_value
        if (kind, node.kind) in (("string", "string"), ("bool", "bool")):
            return node.value
        expected = {"int": "integer", "string": "string", "bool": "bool"}.get(kind)
        if expected:
            self.fail(node, f"expected {expected}; found {node.text}")
        self.fail(node, f"can't handle {node.text} for arg of type {GO_KIND_NAMES[kind]}")

    def validate(self, node: _Arg, value: object, kind: str) -> object:
        """Go's ``validateType``: is ``value`` assignable to a parameter of ``kind``?"""
        if value is None:
            if kind in ("any", "map"):
                return None
            self.fail(node, f"invalid value; expected {GO_KIND_NAMES[kind]}")
        ok = (
            kind == "any"
            or (kind == "string" and isinstance(value, str))
            or (kind == "int" and type(value) is int)  # not bool, not Int64
            or (kind == "bool" and isinstance(value, bool))
            or (kind == "map" and type(value) is dict)  # not the dot's map[string]string
        )
        if not ok:
            self.fail(node, f"wrong type for value; expected {GO_KIND_NAMES[kind]}; got {go_type(value)}")
        return value

    def constant(self, node: _Lit) -> object:
        # Go's idealConstant: a number is a float only if its spelling looks like one.
        float_spelling = any(c in node.text for c in ".eEpP") and node.text.lstrip("+-")[:2].lower() != "0x"
        if node.kind == "number" and node.int_value is not None and not float_spelling:
            return node.int_value
        return node.value


def render(source: str, data: Mapping[str, str], *, name: str) -> str:
    """Render ``source`` as the sealed-secrets controller renders ``spec.template.data[name]``.

    ``data`` maps item keys to decrypted values (bytes that are not UTF-8 as
    ``surrogateescape`` code points, and the result uses the same convention).
    Raises :class:`TemplateError` on a parse or execution error, or when a
    limit is hit; its message never contains a value from ``data``.
    """
    try:
        tree = _Parser(_Lexer(source).run(), name).parse()
        executor = _Exec(name, source, StrMap(data))
        executor.walk(executor.vars[0][1], tree)
        return "".join(executor.out)
    except RecursionError:
        raise TemplateError(f"template: {name}: nesting too deep") from None
