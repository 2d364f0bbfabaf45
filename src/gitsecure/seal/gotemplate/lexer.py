"""The template lexer: Go's ``text/template/parse`` lexer for ``{{``/``}}`` delimiters, run eagerly.

It splits a template into text and action tokens, handling trim markers
(``{{-`` and ``-}}``), comments, strings, raw strings, character constants and
Go number syntax. Errors become an ``error`` token carrying Go's message, which
the parser reports with the line.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass

from gitsecure.seal.gotemplate.gostrconv import go_quote

_SPACE = " \t\r\n"
_KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"})


@dataclass(frozen=True, slots=True)
class Tok:
    """A token: its kind, its source text (or an error's message), its offset and its line."""

    kind: str  # "text", "{{", "}}", "space", "ident", "field", "var", "string", "number", "keyword", "error"...
    val: str
    pos: int
    line: int


def _alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"


def _rune_name(c: str) -> str:
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"


class Lexer:
    """Go's lexer, run eagerly: the token list ends with ``eof`` or with the first ``error``."""

    def __init__(self, src: str) -> None:
        self.src, self.n = src, len(src)
        self.newlines = [i for i, c in enumerate(src) if c == "\n"]
        self.toks: list[Tok] = []

    def emit(self, kind: str, start: int, end: int, val: str | None = None) -> None:
        text = self.src[start:end] if val is None else val
        self.toks.append(Tok(kind, text, start, 1 + bisect.bisect_left(self.newlines, start)))

    def fail(self, msg: str, pos: int) -> int:
        self.emit("error", pos, pos, msg)
        return -1

    def right_delim(self, p: int) -> tuple[bool, bool]:
        """Whether ``p`` is at ``}}``, and whether a `` -`` trim marker precedes it."""
        if self.src.startswith("}}", p):
            return True, False
        marked = p + 1 < self.n and self.src[p] in _SPACE and self.src[p + 1] == "-"
        return (True, True) if marked and self.src.startswith("}}", p + 2) else (False, False)

    def run(self) -> list[Tok]:
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
