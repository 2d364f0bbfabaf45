"""Flags that can also come from the environment.

Precedence: built-in defaults < environment < flags. Every long flag
``--some-flag`` reads ``GITSECURE_SOME_FLAG``; commands that replace another
tool also read that tool's variables (``SEALED_SECRETS_SOME_FLAG`` for
``seal``), so existing CI settings keep working.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re

from gitsecure.errors import UsageError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def parse_duration(value: str) -> dt.timedelta:
    """A Go-style duration (``87600h``, ``1h30m``, ``30s``, ``250ms``) or plain seconds (``30``)."""
    text = value.strip()
    try:
        return dt.timedelta(seconds=float(text))
    except ValueError:
        pass
    if not text or _DURATION_PART.sub("", text) != "":
        raise UsageError(f"invalid duration {value!r}: use Go syntax such as 30s, 720h or 1h30m")
    return dt.timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text)))


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
