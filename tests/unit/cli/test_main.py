"""The front end: command table, global flags, error reporting, environment variables."""

from __future__ import annotations

import argparse

import pytest

from gitsecure import __version__
from gitsecure.cli import main as cli_main
from gitsecure.cli.options import ArgumentParser, apply_environment
from gitsecure.errors import GitsecureError, UsageError
from tests.conftest import Runner


def test_help_lists_every_command(gitsecure: Runner) -> None:
    result = gitsecure("--help")
    assert result.returncode == 0
    for name, command in cli_main.COMMANDS.items():
        assert f"  {name}" in result.stdout and command.summary in result.stdout


def test_every_command_module_has_run() -> None:
    import importlib

    for command in cli_main.COMMANDS.values():
        assert callable(importlib.import_module(command.module).run)


def test_version_and_unknown_command(gitsecure: Runner) -> None:
    assert gitsecure("--version").stdout.strip() == f"gitsecure {__version__}"
    result = gitsecure("frobnicate")
    assert result.returncode == 2 and "unknown command 'frobnicate'" in result.stderr
    result = gitsecure("--bogus")
    assert result.returncode == 2 and "unknown option --bogus" in result.stderr
    assert gitsecure().returncode == 2


def test_user_errors_print_message_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main.report_error(GitsecureError("it broke\nacross lines", hint="do this"))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == "error: it broke across lines\nhint: do this\n"


def test_internal_errors_are_reported_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(argv: list[str], *, verbosity: int = 0) -> int:
        raise RuntimeError("value-that-could-be-secret")

    import gitsecure.cli.seal_cmd as seal_cmd

    monkeypatch.setattr(seal_cmd, "run", boom)
    assert cli_main.main(["seal"]) == 2
    err = capsys.readouterr().err
    assert "internal error (RuntimeError)" in err
    assert "value-that-could-be-secret" not in err and "Traceback" not in err


def test_environment_defaults_and_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = ArgumentParser(prog="t")
    parser.add_argument("--some-flag")
    parser.add_argument("--switch", action="store_true")
    parser.add_argument("--item", action="append")
    parser.add_argument("--timeout", type=float, default=1.0)
    monkeypatch.setenv("GITSECURE_SOME_FLAG", "from-gitsecure")
    monkeypatch.setenv("OTHER_SOME_FLAG", "from-other")
    monkeypatch.setenv("OTHER_SWITCH", "true")
    monkeypatch.setenv("GITSECURE_ITEM", "a,b")
    monkeypatch.setenv("GITSECURE_TIMEOUT", "2.5")
    apply_environment(parser, prefixes=("GITSECURE", "OTHER"))
    args = parser.parse_args([])
    assert (args.some_flag, args.switch, args.item, args.timeout) == ("from-gitsecure", True, ["a", "b"], 2.5)
    assert parser.parse_args(["--some-flag", "flag"]).some_flag == "flag"


@pytest.mark.parametrize(("name", "value"), [("GITSECURE_SWITCH", "maybe"), ("GITSECURE_TIMEOUT", "soon")])
def test_bad_environment_values_are_usage_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    parser = ArgumentParser(prog="t")
    parser.add_argument("--switch", action="store_true")
    parser.add_argument("--timeout", type=float)
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=name):
        apply_environment(parser)


def test_argparse_errors_become_usage_errors() -> None:
    parser = ArgumentParser(prog="t")
    parser.add_argument("--n", type=int)
    with pytest.raises(UsageError, match="invalid int value"):
        parser.parse_args(["--n", "x"])
    assert isinstance(parser, argparse.ArgumentParser)
