"""Executing a parsed template: Go's truth, field lookup with ``missingkey=error``, pipelines and printing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitsecure.controller.external.gotemplate.errors import TemplateError
from gitsecure.controller.external.gotemplate.functions import go_print, truth
from gitsecure.controller.external.gotemplate.parser import Command, Node, Operand, Pipeline

MAX_ITERATIONS = 100_000
_MISSING = object()
_LAZY = {"and", "or"}


class _Output:
    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.limit:
            raise TemplateError(f"template: output exceeds {self.limit} characters")
        self.parts.append(text)


class Evaluator:
    """Runs trees with one function table."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], *, max_output: int) -> None:
        self._functions = functions
        self._max_output = max_output
        self._iterations = 0

    def run(self, tree: list[Node], context: Any) -> str:
        """The rendered text of ``tree`` with ``context`` as both ``.`` and ``$``."""
        out = _Output(self._max_output)
        self._iterations = 0
        self._nodes(tree, context, [{"$": context}], out)
        return "".join(out.parts)

    def _nodes(self, nodes: list[Node], dot: Any, scopes: list[dict[str, Any]], out: _Output) -> None:
        for node in nodes:
            if node.kind == "text":
                out.write(node.text)
            elif node.kind == "action":
                assert node.pipeline is not None
                value = self._pipeline(node.pipeline, dot, scopes)
                if not node.pipeline.variables:
                    out.write(go_print(value))
            elif node.kind == "if":
                self._if(node, dot, scopes, out)
            elif node.kind == "with":
                pipeline, body = node.branches[0]
                inner = [*scopes, {}]
                value = self._pipeline(pipeline, dot, inner)
                if truth(value):
                    self._nodes(body, value, inner, out)
                elif node.otherwise is not None:
                    self._nodes(node.otherwise, dot, [*scopes, {}], out)
            else:
                self._range(node, dot, scopes, out)

    def _if(self, node: Node, dot: Any, scopes: list[dict[str, Any]], out: _Output) -> None:
        for pipeline, body in node.branches:
            inner = [*scopes, {}]
            if truth(self._pipeline(pipeline, dot, inner)):
                self._nodes(body, dot, inner, out)
                return
        if node.otherwise is not None:
            self._nodes(node.otherwise, dot, [*scopes, {}], out)

    def _range(self, node: Node, dot: Any, scopes: list[dict[str, Any]], out: _Output) -> None:
        pipeline, body = node.branches[0]
        plain = Pipeline(pipeline.commands, (), True, pipeline.where)
        value = self._pipeline(plain, dot, scopes)
        if isinstance(value, Mapping):
            items: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None:
            items = []
        else:
            raise TemplateError(f"template: {pipeline.where}: range can't iterate over {type(value).__name__}")
        if not items:
            if node.otherwise is not None:
                self._nodes(node.otherwise, dot, [*scopes, {}], out)
            return
        names = pipeline.variables
        for key, element in items:
            self._iterations += 1
            if self._iterations > MAX_ITERATIONS:
                raise TemplateError(f"template: {pipeline.where}: more than {MAX_ITERATIONS} range iterations")
            scope: dict[str, Any] = {}
            if len(names) == 1:
                scope[names[0]] = element
            elif len(names) == 2:
                scope[names[0]], scope[names[1]] = key, element
            elif len(names) > 2:
                raise TemplateError(f"template: {pipeline.where}: too many declarations in range")
            self._nodes(body, element, [*scopes, scope], out)

    # -- pipelines ---------------------------------------------------------------------------------
    def _pipeline(self, pipeline: Pipeline, dot: Any, scopes: list[dict[str, Any]]) -> Any:
        value: Any = _MISSING
        for command in pipeline.commands:
            value = self._command(command, dot, scopes, value)
        if pipeline.variables:
            if len(pipeline.variables) > 1:
                raise TemplateError(f"template: {pipeline.where}: too many declarations")
            name = pipeline.variables[0]
            if pipeline.declare:
                scopes[-1][name] = value
            else:
                for scope in reversed(scopes):
                    if name in scope:
                        scope[name] = value
                        break
                else:
                    raise TemplateError(f"template: {pipeline.where}: undefined variable: {name}")
        return value

    def _command(self, command: Command, dot: Any, scopes: list[dict[str, Any]], piped: Any) -> Any:
        first, rest = command.operands[0], command.operands[1:]
        if first.kind == "ident":
            name = str(first.value)
            function = self._functions.get(name)
            if function is None:
                raise TemplateError(f'template: {command.where}: function "{name}" not defined')
            if name in _LAZY:
                return self._lazy(name, rest, dot, scopes, piped, command.where)
            args = [self._operand(o, dot, scopes, command.where) for o in rest]
            if piped is not _MISSING:
                args.append(piped)
            try:
                return function(*args)
            except TemplateError:
                raise
            except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as exc:
                raise TemplateError(f"template: {command.where}: error calling {name}: {_reason(exc)}") from None
        if rest or piped is not _MISSING:
            raise TemplateError(f"template: {command.where}: can't give argument to non-function")
        return self._operand(first, dot, scopes, command.where)

    def _lazy(  # noqa: PLR0917 - the evaluation state of one command
        self, name: str, operands: Sequence[Operand], dot: Any, scopes: list[dict[str, Any]], piped: Any, where: str
    ) -> Any:
        """``and``/``or``: evaluate arguments in order and stop at the first that decides (Go 1.18+)."""
        if not operands and piped is _MISSING:
            raise TemplateError(f"template: {where}: wrong number of args for {name}: want at least 1 got 0")
        value: Any = None
        for index in range(len(operands) + (piped is not _MISSING)):
            value = piped if index == len(operands) else self._operand(operands[index], dot, scopes, where)
            if truth(value) == (name == "or"):
                return value
        return value

    def _operand(self, operand: Operand, dot: Any, scopes: list[dict[str, Any]], where: str) -> Any:
        if operand.kind == "literal":
            return operand.value
        if operand.kind == "dot":
            return dot
        if operand.kind == "field":
            return _fields(dot, operand.chain, where)
        if operand.kind == "var":
            for scope in reversed(scopes):
                if operand.value in scope:
                    return _fields(scope[str(operand.value)], operand.chain, where)
            raise TemplateError(f"template: {where}: undefined variable: {operand.value}")
        if operand.kind == "sub":
            assert operand.sub is not None
            return self._pipeline(operand.sub, dot, scopes)
        name = str(operand.value)
        function = self._functions.get(name)
        if function is None:
            raise TemplateError(f'template: {where}: function "{name}" not defined')
        return self._command(Command((operand,), where), dot, scopes, _MISSING)


def _fields(value: Any, chain: Sequence[str], where: str) -> Any:
    for name in chain:
        if isinstance(value, Mapping):
            if name not in value:
                raise TemplateError(f'template: {where}: map has no entry for key "{name}"')
            value = value[name]
        elif value is None:
            raise TemplateError(f"template: {where}: nil pointer evaluating .{name}")
        else:
            raise TemplateError(f"template: {where}: can't evaluate field {name} in type {type(value).__name__}")
    return value


def _reason(exc: BaseException) -> str:
    """The kind of failure, without argument values (they may be secrets)."""
    text = str(exc)
    return text if text.startswith("wrong number of args") or text.startswith("invalid") else type(exc).__name__
