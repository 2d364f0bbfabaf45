"""The hook path stays light: no kubernetes, boto3, hvac, sigstore or kopf after a real scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.gitrepo import GitRepo

PROBE = """\
import sys
from gitsecure.cli.main import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exit:
    rc = exit.code or 0
roots = ("kubernetes", "boto3", "botocore", "hvac", "sigstore", "kopf", "rich", "jsonschema")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in roots)
print("PROBE", rc, heavy)
"""


def test_scan_paths_import_nothing_heavy(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    repo = GitRepo(tmp_path / "work", home=home)
    repo.write("app/settings.py", "DEBUG = True\n")
    repo.commit("initial")
    # A staged change with a finding, so the whole pipeline (rules, reports) runs.
    repo.write("app/settings.py", "DEBUG = True\nAWS_ACCESS_KEY_ID = 'AKIAZ7Q3RXW5KJ4M2VTN'\n")
    repo.write(
        "deploy/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {pw: hunter2hunter2}\n"
    )
    repo.git("add", "-A")
    for args, expected in (
        (["scan", "--staged"], 1),
        (["scan", "."], 1),
        (["scan", "--history"], 0),
        (["scan", "--help"], 0),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args],
            cwd=repo.path,
            env=repo.env,
            capture_output=True,
            text=True,
            check=False,
        )
        probe = [line for line in proc.stdout.splitlines() if line.startswith("PROBE")]
        assert probe == [f"PROBE {expected} []"], (args, proc.stdout[-2000:], proc.stderr[-2000:])


LAZY_PROBE = """\
import sys
from gitsecure.cli.main import main
rc = main(["scan", "--staged"])
lazy = ("yaml", "json", "tomllib", "hashlib", "shutil", "datetime", "gitsecure.scan.baseline",
        "gitsecure.scan.gitleaks_toml", "gitsecure.scan.report.sarif", "gitsecure.scan.report.jsonreport")
print("PROBE", rc, sorted(m for m in sys.modules if m in lazy or m.split(".")[0] in lazy))
"""


def test_a_clean_staged_source_change_loads_no_parser_it_does_not_need(tmp_path: Path) -> None:
    # The pre-commit hook's start-up budget: YAML, JSON, TOML, OpenSSL and the report formats
    # load only when a manifest, a config file, a finding or --format asks for them.
    home = tmp_path / "home"
    home.mkdir()
    repo = GitRepo(tmp_path / "work", home=home)
    repo.write("app/settings.py", "DEBUG = True\n" * 20)
    repo.commit("initial")
    repo.write("app/settings.py", "DEBUG = True\n" * 20 + "TIMEOUT = 30\n")
    repo.git("add", "-A")
    proc = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE], cwd=repo.path, env=repo.env, capture_output=True, text=True, check=False
    )
    probe = [line for line in proc.stdout.splitlines() if line.startswith("PROBE")]
    assert probe == ["PROBE 0 []"], (proc.stdout[-2000:], proc.stderr[-2000:])


def test_help_of_every_command_imports_nothing_heavy(tmp_path: Path) -> None:
    """`gitsecure --help` and every command's --help (the controller's and the verifier's included) stay light."""
    from gitsecure.cli.main import COMMANDS

    cases: list[list[str]] = [["--help"], *([name, "--help"] for name in COMMANDS)]
    for args in cases:
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        probe = [line for line in proc.stdout.splitlines() if line.startswith("PROBE")]
        assert probe == ["PROBE 0 []"], (args, proc.stdout[-2000:], proc.stderr[-2000:])
