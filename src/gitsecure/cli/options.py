"""Flags that can also come from the environment.

Precedence: built-in defaults < environment < flags. Every long flag
``--some-flag`` reads ``GITSECURE_SOME_FLAG``; commands that replace another
tool also read that tool's variables (``SEALED_SECRETS_SOME_FLAG`` for
``seal``), so existing CI settings keep working.
"""

from __future__ import annotations

import argparse
import os

from gitsecure.errors import UsageError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")


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
            value = next((os.environ[n] for n in env_names(option, prefixes) if n in os.environ), None)
            if value is None:
                continue
            action.default = _convert(action, value, env_names(option, prefixes)[0])
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
        except (TypeError, ValueError):
            raise UsageError(f"{name} has an invalid value {value!r}") from None
    return value
