"""Flags that can also come from the environment.

Precedence: built-in defaults < environment < flags. Every long flag
``--some-flag`` reads ``GITSECURE_SOME_FLAG``; commands that replace another
tool also read that tool's variables (``SEALED_SECRETS_SOME_FLAG`` for
``seal``), so existing CI settings keep working.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from typing import TYPE_CHECKING

from gitsecure.errors import UsageError

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse builds a formatter for every add_argument call, and its default width
        # comes from shutil, whose import (bz2, lzma, fnmatch) costs every start-up ~2.5 ms.
        make: Callable[..., argparse.HelpFormatter] = self.formatter_class  # every argparse formatter takes width
        return make(prog=self.prog, width=terminal_columns() - 2)


def terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: ``$COLUMNS``, stdout's size, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def parse_duration(value: str) -> dt.timedelta:
    """A Go-style duration (``87600h``, ``1h30m``, ``30s``, ``250ms``) or plain seconds (``30``)."""
    import datetime as dt  # noqa: PLC0415 (only the commands with duration flags need it)

    text = value.strip()
    try:
        return dt.timedelta(seconds=float(text))
    except ValueError:
        pass
    part = _duration_part()
    if not text or part.sub("", text) != "":
        raise UsageError(f"invalid duration {value!r}: use Go syntax such as 30s, 720h or 1h30m")
    return dt.timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in part.findall(text)))


@functools.cache
def _duration_part() -> re.Pattern[str]:
    # Compiled on first use: every command imports this module, few parse durations.
    return re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def positive_duration(value: str) -> dt.timedelta:
    """:func:`parse_duration`, refusing zero and negative values."""
    duration = parse_duration(value)
    if duration.total_seconds() <= 0:
        raise UsageError(f"duration {value!r} must be positive")
    return duration


def timeout_seconds(value: str) -> float | None:
    """A request timeout flag: a duration; ``0`` means no timeout, as in kubectl."""
    seconds = parse_duration(value).total_seconds()
    if seconds < 0:
        raise UsageError(f"timeout {value!r} must not be negative")
    return seconds or None


def env_names(option: str, prefixes: tuple[str, ...]) -> list[str]:
    """``--sealed-secret-file`` → ``[GITSECURE_SEALED_SECRET_FILE, ...]`` for each prefix."""
    stem = option.lstrip("-").upper().replace("-", "_")
    return [f"{prefix}_{stem}" for prefix in prefixes]


def apply_environment(parser: argparse.ArgumentParser, *, prefixes: tuple[str, ...] = ("GITSECURE",)) -> None:
    """Set each option's default from the first environment variable found for it."""
    for action in parser._actions:
        long_options = [o for o in action.option_strings if o.startswith("--")]
        if not long_options or action.dest in ("help", "version"):
            continue
        for option in long_options:
            name = next((n for n in env_names(option, prefixes) if n in os.environ), None)
            if name is None:
                continue
            action.default = _convert(action, os.environ[name], name)
            break


def _convert(action: argparse.Action, value: str, name: str) -> object:
    if isinstance(action, argparse._StoreTrueAction):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise UsageError(f"{name} must be true or false, not {value!r}")
    if isinstance(action, argparse._AppendAction):
        return [part for part in value.split(",") if part]
    if action.type is not None and callable(action.type):
        try:
            return action.type(value)
        except (TypeError, ValueError, UsageError):
            raise UsageError(f"{name} has an invalid value {value!r}") from None
    return value
