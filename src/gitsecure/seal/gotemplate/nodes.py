"""The parse tree of a template, and Go's ``Node.String()`` for the error messages that quote it.

A template is a list of :data:`Node`: text, an :class:`Action` that prints a
pipeline, a :class:`Control` (``if``, ``with``, ``range``) or a :class:`Jump`
(``break``, ``continue``). Pipelines are commands of :data:`Arg` operands.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Field:
    """``.a.b``: fields of the dot."""

    pos: int
    idents: tuple[str, ...]


@dataclass(slots=True)
class Var:
    """``$x`` or ``$x.a.b``: a variable, then fields of its value."""

    pos: int
    idents: tuple[str, ...]


@dataclass(slots=True)
class Ident:
    """A function name."""

    pos: int
    name: str


@dataclass(slots=True)
class Lit:
    """A literal: ``kind`` is dot, nil, bool, number or string; ``text`` is its source spelling."""

    pos: int
    kind: str
    text: str
    value: object = None
    int_value: int | None = None  # numbers usable where Go wants an int


@dataclass(slots=True)
class Chain:
    """``(pipeline).a.b`` or ``func.a``: fields of a parenthesised pipeline's or a function's value."""

    pos: int
    node: Arg
    fields: tuple[str, ...]


@dataclass(slots=True)
class Command:
    """One stage of a pipeline: an operand, or a function name and its arguments."""

    pos: int
    args: list[Arg]


@dataclass(slots=True)
class Pipe:
    """``$x := cmd | cmd``: commands and the variables they declare (or, ``is_assign``, assign)."""

    pos: int
    decl: list[str]
    is_assign: bool
    cmds: list[Command]


@dataclass(slots=True)
class Action:
    """``{{pipeline}}``: prints its value unless the pipeline declares variables."""

    pipe: Pipe


@dataclass(slots=True)
class Control:
    """``if``, ``with`` or ``range``, with its body and its ``else`` body if any."""

    kind: str  # if, with, range
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] | None


@dataclass(slots=True)
class Jump:
    """``break`` or ``continue``, inside a ``range``."""

    kind: str  # break, continue


Arg = Field | Var | Ident | Lit | Chain | Pipe  # an operand of a command
Node = str | Action | Control | Jump  # an item of a template or a body; a str is text


def node_str(node: Arg | Command) -> str:
    """Go's ``Node.String()``: the template source spelling, for error messages."""
    if isinstance(node, Field):
        return "." + ".".join(node.idents)
    if isinstance(node, Var):
        return ".".join(node.idents)
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Lit):
        return node.text
    if isinstance(node, Chain):
        inner = f"({node_str(node.node)})" if isinstance(node.node, Pipe) else node_str(node.node)
        return inner + "".join("." + f for f in node.fields)
    if isinstance(node, Command):
        return " ".join(f"({node_str(a)})" if isinstance(a, Pipe) else node_str(a) for a in node.args)
    decl = ", ".join(node.decl) + " := " if node.decl else ""
    return decl + " | ".join(node_str(c) for c in node.cmds)
