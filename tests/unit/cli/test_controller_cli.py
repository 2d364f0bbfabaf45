"""``gitsecure controller``: help, version, and flag errors before anything heavy is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gitsecure import __version__
from gitsecure.controller.flagset import FLAGS
from tests.conftest import Runner


def test_help_lists_every_flag_and_the_environment(gitsecure: Runner) -> None:
    for argv in (
        ("controller", "run", "--help"),
        ("controller", "--help"),
        ("controller", "run", "--key-size=1", "-h"),
    ):
        result = gitsecure(*argv, env={"COLUMNS": "200"})
        assert result.returncode == 0, result.stderr
        for flag in FLAGS:
            for name in flag.names:
                assert f"--{name} " in result.stdout, name
        assert "GITSECURE_CONTROLLER_<FLAG>" in result.stdout and "SEALED_SECRETS_<FLAG>" in result.stdout
        assert "POD_NAMESPACE" in result.stdout and "(default 720h)" in result.stdout
    assert "  controller  " in gitsecure("--help").stdout


def test_bad_flags_give_one_line_errors_and_exit_2(gitsecure: Runner) -> None:
    cases = [
        (("controller", "run", "--no-such-flag"), "error: unrecognized arguments: --no-such-flag"),
        (("controller", "run", "--key-renew-period", "30d"), "error: --key-renew-period: invalid duration '30d'"),
        (("controller", "run", "--privatekey-labels", "oops"), "error: --privatekey-labels: invalid entry 'oops'"),
        (("controller", "run", "--key-cutoff-time", "2026-01-01"), "error: --key-cutoff-time: invalid time"),
        (("controller", "run", "--key-prefix", "UPPER"), "error: --key-prefix: invalid key prefix 'UPPER'"),
        (("controller", "stop"), "error: unknown action 'stop'"),
        (("controller",), "error: choose an action: run"),
    ]
    for argv, expected in cases:
        result = gitsecure(*argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert error_lines == [error_lines[0]] and error_lines[0].startswith(expected), result.stderr


def test_environment_errors_name_the_variable(gitsecure: Runner) -> None:
    result = gitsecure("controller", "run", env={"SEALED_SECRETS_UPDATE_STATUS": "sometimes"})
    assert result.returncode == 2
    assert "error: SEALED_SECRETS_UPDATE_STATUS: invalid boolean 'sometimes'" in result.stderr


def test_version(gitsecure: Runner) -> None:
    result = gitsecure("controller", "run", "--version")
    assert result.returncode == 0 and result.stdout == f"controller version: {__version__}\n"


def test_in_process_main_reports_errors_without_heavy_imports(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from gitsecure.cli.main import main\n"
        "code = main(['controller', 'run', '--key-ttl', 'ten years'])\n"
        "names = ('kopf', 'kubernetes', 'aiohttp', 'gitsecure.controller.main')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITSECURE_", "SEALED_SECRETS_"))}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False
    )
    assert proc.stdout == "2 []\n", proc.stderr
    assert proc.stderr.startswith("error: --key-ttl: invalid duration 'ten years'")
    assert "Traceback" not in proc.stderr
