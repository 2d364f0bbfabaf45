"""The evaluator, and :func:`render`: Go's ``text/template`` ``exec`` over the parse tree.

It walks the tree with the dot bound to the decrypted items, never ``eval``: no
Python attribute is reachable from a template. Output, evaluation steps, range
iterations and the characters functions process are bounded by
:mod:`.limits`. Error messages follow Go's (``template: NAME:LINE:COL:
executing ...``) but carry template positions and Go type names only, never a
data value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NoReturn

from gitsecure.seal.gotemplate.errors import FuncError, TemplateError, TooLarge
from gitsecure.seal.gotemplate.funcs import FUNCS
from gitsecure.seal.gotemplate.gofmt import fmt_v
from gitsecure.seal.gotemplate.lexer import Lexer
from gitsecure.seal.gotemplate.limits import MAX_ITERATIONS, MAX_OUTPUT, MAX_STEPS, MAX_STRING, MAX_WORK
from gitsecure.seal.gotemplate.nodes import (
    Action,
    Arg,
    Chain,
    Command,
    Control,
    Field,
    Ident,
    Lit,
    Node,
    Pipe,
    Var,
    node_str,
)
from gitsecure.seal.gotemplate.parser import Parser
from gitsecure.seal.gotemplate.values import GO_KIND_NAMES, Func, StrMap, go_type, to_bytes, truth

__all__ = ["render"]


class _Missing:
    """No previous pipeline value (Go's ``missingVal``), as opposed to nil."""


_MISSING = _Missing()


class _BreakLoop(Exception):
    pass


class _ContinueLoop(Exception):
    pass


class _Exec:
    # Go's default missingkey=invalid (sealed-secrets sets no option); ExternalSecret templates turn on "error".
    missing_key_error = False

    def __init__(self, name: str, src: str, data: StrMap) -> None:
        self.name, self.src = name, src
        self.functions: Mapping[str, Func] = FUNCS
        self.vars: list[list[object]] = [["$", data]]  # [name, value] pairs; a stack like Go's
        self.out: list[str] = []
        self.size = self.steps = self.iterations = self.work = 0

    def fail(self, node: Arg | Command, msg: str) -> NoReturn:
        before = self.src[: node.pos]
        line, col = before.count("\n") + 1, node.pos - (before.rfind("\n") + 1)
        context = node_str(node)
        context = context if len(context) <= 60 else context[:57] + "..."
        raise TemplateError(f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{context}>: {msg}')

    def limit(self, msg: str) -> NoReturn:
        raise TemplateError(f"template: {self.name}: {msg}")

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.limit(f"evaluation exceeds {MAX_STEPS} steps")

    def write(self, s: str) -> None:
        self.size += len(s) if len(s) > MAX_OUTPUT else len(s.encode("utf-8", "surrogatepass"))
        if self.size > MAX_OUTPUT:
            self.limit(f"output exceeds {MAX_OUTPUT} bytes")
        self.out.append(s)

    def walk(self, dot: object, nodes: list[Node]) -> None:
        for node in nodes:
            self.tick()
            if isinstance(node, str):
                self.write(node)
            elif isinstance(node, Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    # An invalid value (missing map key, nil) prints as Go's "<no value>".
                    self.write("<no value>" if value is None else fmt_v(value))
            elif isinstance(node, Control) and node.kind == "range":
                self.walk_range(dot, node)
            elif isinstance(node, Control):
                self.walk_if(dot, node)
            else:
                raise _BreakLoop() if node.kind == "break" else _ContinueLoop()

    def walk_if(self, dot: object, node: Control) -> None:
        mark = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: object, node: Control) -> None:
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
                if self.iterations > MAX_ITERATIONS:
                    self.limit(f"range iterations exceed {MAX_ITERATIONS}")
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

    def set_var(self, node: Pipe, name: str, value: object) -> None:
        for pair in reversed(self.vars):
            if pair[0] == name:
                pair[1] = value
                return
        self.fail(node, f"undefined variable: {name}")

    def var_value(self, node: Var) -> object:
        for name, value in reversed(self.vars):
            if name == node.idents[0]:
                return value
        self.fail(node, f"undefined variable: {node.idents[0]}")

    def pipeline(self, dot: object, pipe: Pipe) -> object:
        value: object = _MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(pipe, name, value)
            else:
                self.vars.append([name, value])
        return value

    def not_a_function(self, args: list[Arg] | None, final: object) -> None:
        if args and (len(args) > 1 or final is not _MISSING):
            self.fail(args[0], f"can't give argument to non-function {node_str(args[0])}")

    def command(self, dot: object, cmd: Command, final: object) -> object:
        self.tick()
        first = cmd.args[0]
        if isinstance(first, (Field, Chain, Ident, Var)):
            return self.operand(dot, first, cmd.args, final)
        self.not_a_function(cmd.args, final)
        if isinstance(first, Pipe):
            return self.pipeline(dot, first)
        if first.kind == "nil":
            self.fail(first, "nil is not a command")
        return dot if first.kind == "dot" else self.constant(first)

    def operand(self, dot: object, node: Field | Chain | Ident | Var, args: list[Arg] | None, final: object) -> object:
        """Evaluate a field chain, chain, function call or variable; ``args`` is the command, if any."""
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
            last = i == len(idents) - 1
            if receiver is None:
                if self.missing_key_error:
                    # Go: a nil interface (a JSON null, a missing index result) has no fields under missingkey=error.
                    self.fail(node, f"nil pointer evaluating interface {{}}.{name}")
                return None  # Go: fields of an invalid value are invalid too
            if not isinstance(receiver, dict):
                self.fail(node, f"can't evaluate field {name} in type {go_type(receiver)}")
            if last and ((args is not None and len(args) > 1) or final is not _MISSING):
                self.fail(node, f"{name} is not a method but has arguments")
            if self.missing_key_error and name not in receiver:
                self.fail(node, f'map has no entry for key "{name}"')  # the key is template text, not data
            # Go's default missingkey=invalid: a missing key is an invalid value, printed "<no value>",
            # for map[string]string too (only missingkey=zero would give "").
            receiver = receiver.get(name)
        return receiver

    def call(self, dot: object, node: Ident, func: Func, args: list[Arg], final: object) -> object:
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
        where = Command(node.pos, [node, *args])  # Go reports call errors at the whole command
        try:
            result = func.fn(*argv)
        except FuncError as exc:
            message = str(exc)
            if name == "fail" and not (len(args) == 1 and isinstance(args[0], Lit) and final is _MISSING):
                message = "(message withheld: it is not a template literal and may hold secret data)"
            self.fail(where, f"error calling {name}: {message}")
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            self.fail(where, f"error calling {name}: internal error ({type(exc).__name__})")
        if isinstance(result, str) and len(result) > MAX_STRING:
            self.fail(where, f"error calling {name}: result exceeds the {MAX_STRING} character limit")
        self.work += 1 + sum(len(v) for v in (*argv, result) if isinstance(v, (str, list, dict)))
        if self.work > MAX_WORK:
            self.limit(f"functions processed more than {MAX_WORK} characters")
        return result

    def arg(self, dot: object, kind: str, node: Arg) -> object:
        """Go's ``evalArg``: evaluate ``node`` for a parameter of ``kind``."""
        if isinstance(node, (Field, Chain, Ident, Var)):
            return self.validate(node, self.operand(dot, node, None, _MISSING), kind)
        if isinstance(node, Pipe):
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

    def validate(self, node: Arg, value: object, kind: str) -> object:
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

    def constant(self, node: Lit) -> object:
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
        tree = Parser(Lexer(source).run(), name).parse()
        executor = _Exec(name, source, StrMap(data))
        executor.walk(executor.vars[0][1], tree)
        return "".join(executor.out)
    except RecursionError:
        raise TemplateError(f"template: {name}: nesting too deep") from None
    except TooLarge as exc:  # printing a huge value straight from an action, outside any function call
        raise TemplateError(f"template: {name}: {exc}") from None
