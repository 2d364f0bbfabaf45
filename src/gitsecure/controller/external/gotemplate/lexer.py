"""Split a template into text and actions, and an action into tokens (Go's text/template lexical rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitsecure.controller.external.gotemplate.errors import TemplateError

LEFT, RIGHT = "{{", "}}"


@dataclass(frozen=True)
class Token:
    """One token of an action: ``kind`` is one of string, number, bool, nil, field, var, ident, dot,
    pipe, lparen, rparen, declare, assign, comma."""

    kind: str
    value: str
    where: str


@dataclass(frozen=True)
class Piece:
    """Literal text, or an action's tokens (``line`` for messages)."""

    text: str | None
    tokens: tuple[Token, ...]
    line: int


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?))
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)


def _tokens(action: str, line: int) -> tuple[Token, ...]:
    out: list[Token] = []
    index = 0
    where = f"line {line}"
    while index < len(action):
        match = _TOKEN.match(action, index)
        if match is None:
            raise TemplateError(f"template: {where}: unexpected character {action[index]!r} in action")
        kind = match.lastgroup or ""
        text = match.group(0)
        index = match.end()
        if kind == "space":
            continue
        if kind == "raw":
            kind = "string"
        if kind == "ident" and text in ("true", "false"):
            kind = "bool"
        elif kind == "ident" and text == "nil":
            kind = "nil"
        elif kind == "ident" and "." in text:
            # a function followed by a field chain (e.g. "index.x") is not Go syntax
            raise TemplateError(f"template: {where}: unexpected {text!r} in action")
        out.append(Token(kind, text, where))
    return tuple(out)


def lex(source: str) -> list[Piece]:
    """Text and action pieces, with ``{{-``/``-}}`` trimming applied and comments dropped."""
    pieces: list[Piece] = []
    index = 0
    trim_next = False
    while index <= len(source):
        start = source.find(LEFT, index)
        text = source[index:] if start < 0 else source[index:start]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        line = source.count("\n", 0, index) + 1
        if start < 0:
            if text:
                pieces.append(Piece(text, (), line))
            break
        inner_start = start + len(LEFT)
        if (
            source.startswith("- ", inner_start)
            or source.startswith("-\t", inner_start)
            or source.startswith("-\n", inner_start)
        ):
            text = text.rstrip(" \t\r\n")
            inner_start += 1
        if text:
            pieces.append(Piece(text, (), line))
        line = source.count("\n", 0, start) + 1
        stripped = source[inner_start:].lstrip()
        if stripped.startswith("/*"):
            end_comment = source.find("*/", inner_start)
            if end_comment < 0:
                raise TemplateError(f"template: line {line}: unclosed comment")
            close = source.find(RIGHT, end_comment)
        else:
            close = _find_close(source, inner_start, line)
        if close < 0:
            raise TemplateError(f"template: line {line}: unclosed action")
        body_end = close
        trim_next = False
        if close >= 2 and source[close - 1] == "-" and source[close - 2] in " \t\r\n":
            body_end = close - 1
            trim_next = True
        body = source[inner_start:body_end]
        if not body.strip().startswith("/*"):
            tokens = _tokens(body, line)
            if not tokens:
                raise TemplateError(f"template: line {line}: missing value for command")
            pieces.append(Piece(None, tokens, line))
        index = close + len(RIGHT)
    return pieces


def _find_close(source: str, start: int, line: int) -> int:
    """The ``}}`` closing the action at ``start``, skipping quoted strings."""
    index = start
    while index < len(source):
        char = source[index]
        if source.startswith(RIGHT, index):
            return index
        if char in "\"'":
            end = index + 1
            while end < len(source) and source[end] != char:
                if source[end] == "\\":
                    end += 1
                if source[end] == "\n":
                    raise TemplateError(f"template: line {line}: unterminated quoted string")
                end += 1
            index = end + 1
            continue
        if char == "`":
            end = source.find("`", index + 1)
            if end < 0:
                raise TemplateError(f"template: line {line}: unterminated raw quoted string")
            index = end + 1
            continue
        index += 1
    return -1
