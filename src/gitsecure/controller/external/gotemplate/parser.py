"""The parse tree of a template: text, output actions, ``if``/``range``/``with`` blocks and pipelines."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from gitsecure.controller.external.gotemplate.errors import TemplateError
from gitsecure.controller.external.gotemplate.lexer import Piece, Token, lex


@dataclass(frozen=True)
class Operand:
    """One argument: ``kind`` is literal, field (from dot), var, dot, ident (a function) or sub (parentheses)."""

    kind: str
    value: object = None
    chain: tuple[str, ...] = ()
    sub: Pipeline | None = None


@dataclass(frozen=True)
class Command:
    """Operands of one pipeline stage; the first may be a function identifier."""

    operands: tuple[Operand, ...]
    where: str


@dataclass(frozen=True)
class Pipeline:
    """``[$a, $b :=|=] command | command ...``."""

    commands: tuple[Command, ...]
    variables: tuple[str, ...] = ()
    declare: bool = True
    where: str = ""


@dataclass
class Node:
    """A tree node: ``kind`` text, action, if, range or with."""

    kind: str
    text: str = ""
    pipeline: Pipeline | None = None
    branches: list[tuple[Pipeline, list[Node]]] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    otherwise: list[Node] | None = None


_KEYWORDS = {"if", "else", "end", "range", "with"}
_UNSUPPORTED = {"define", "template", "block", "break", "continue"}


def _literal(token: Token) -> object:
    if token.kind == "bool":
        return token.value == "true"
    if token.kind == "nil":
        return None
    if token.kind == "string":
        if token.value.startswith("`"):
            return token.value[1:-1]
        try:
            return str(ast.literal_eval(token.value))
        except (ValueError, SyntaxError):
            raise TemplateError(f"template: {token.where}: malformed string literal") from None
    if token.kind == "char":
        try:
            return ord(str(ast.literal_eval(token.value)))
        except (ValueError, SyntaxError, TypeError):
            raise TemplateError(f"template: {token.where}: malformed character constant") from None
    text = token.value.replace("_", "")
    try:
        if text.lower().startswith(("0x", "-0x", "+0x")):
            return int(text, 16)
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)
    except ValueError:
        raise TemplateError(f"template: {token.where}: malformed number {token.value!r}") from None


class _Tokens:
    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token


def _pipeline(stream: _Tokens, where: str, *, closing: str | None = None) -> Pipeline:
    variables: list[str] = []
    declare = True
    # A declaration: $x := ... or $k, $v := ... (or = for assignment)
    save = stream.index
    names: list[str] = []
    while (token := stream.peek()) is not None and token.kind == "var" and "." not in token.value:
        names.append(stream.take().value)
        nxt = stream.peek()
        if nxt is not None and nxt.kind == "comma":
            stream.take()
            continue
        break
    nxt = stream.peek()
    if names and nxt is not None and nxt.kind in ("declare", "assign"):
        stream.take()
        variables, declare = names, nxt.kind == "declare"
    else:
        stream.index = save
    commands: list[Command] = []
    operands: list[Operand] = []
    while (token := stream.peek()) is not None:
        if token.kind == "rparen" and closing == "rparen":
            break
        stream.take()
        if token.kind == "pipe":
            if not operands:
                raise TemplateError(f"template: {where}: missing command before '|'")
            commands.append(Command(tuple(operands), where))
            operands = []
            continue
        operands.append(_operand(token, stream, where))
    if operands:
        commands.append(Command(tuple(operands), where))
    elif commands:
        raise TemplateError(f"template: {where}: missing command after '|'")
    if not commands:
        raise TemplateError(f"template: {where}: missing value for command")
    return Pipeline(tuple(commands), tuple(variables), declare, where)


def _operand(token: Token, stream: _Tokens, where: str) -> Operand:
    if token.kind in ("string", "number", "bool", "nil", "char"):
        return Operand("literal", _literal(token))
    if token.kind == "field":
        return Operand("field", chain=tuple(token.value[1:].split(".")))
    if token.kind == "var":
        name, *chain = token.value.split(".")
        return Operand("var", name, tuple(chain))
    if token.kind == "dot":
        return Operand("dot")
    if token.kind == "ident":
        if token.value in _KEYWORDS:
            raise TemplateError(f"template: {where}: unexpected {token.value!r} in operand")
        return Operand("ident", token.value)
    if token.kind == "lparen":
        sub = _pipeline(stream, where, closing="rparen")
        closing = stream.peek()
        if closing is None or closing.kind != "rparen":
            raise TemplateError(f"template: {where}: unclosed left paren")
        stream.take()
        return Operand("sub", sub=sub)
    raise TemplateError(f"template: {where}: unexpected {token.value!r} in operand")


def parse(source: str) -> list[Node]:
    """The tree of ``source``; raises :class:`TemplateError` for any syntax error."""
    pieces = lex(source)
    position = 0

    def block(stop: set[str]) -> tuple[list[Node], Piece | None]:
        nonlocal position
        nodes: list[Node] = []
        while position < len(pieces):
            piece = pieces[position]
            position += 1
            if piece.text is not None:
                nodes.append(Node("text", text=piece.text))
                continue
            first = piece.tokens[0]
            where = f"line {piece.line}"
            keyword = first.value if first.kind == "ident" else ""
            if keyword in _UNSUPPORTED:
                raise TemplateError(f"template: {where}: {keyword!r} is not supported")
            if keyword in stop:
                return nodes, piece
            if keyword in ("end", "else"):
                raise TemplateError(f"template: {where}: unexpected {{{{{keyword}}}}}")
            if keyword in ("if", "range", "with"):
                nodes.append(control(keyword, piece, where))
                continue
            nodes.append(Node("action", pipeline=_pipeline(_Tokens(piece.tokens), where)))
        if stop:
            raise TemplateError("template: unexpected EOF: missing {{end}}")
        return nodes, None

    def control(keyword: str, piece: Piece, where: str) -> Node:
        node = Node(keyword)
        condition = _pipeline(_Tokens(piece.tokens[1:]), where)
        while True:
            body, ended = block({"else", "end"})
            node.branches.append((condition, body))
            assert ended is not None
            if ended.tokens[0].value == "end":
                if len(ended.tokens) > 1:
                    raise TemplateError(f"template: line {ended.line}: unexpected tokens after end")
                return node
            rest = ended.tokens[1:]
            if keyword == "if" and rest and rest[0].kind == "ident" and rest[0].value == "if":
                condition = _pipeline(_Tokens(rest[1:]), f"line {ended.line}")
                continue
            if rest:
                raise TemplateError(f"template: line {ended.line}: unexpected tokens after else")
            node.otherwise, final = block({"end"})
            assert final is not None
            return node

    tree, _ = block(set())
    return tree
