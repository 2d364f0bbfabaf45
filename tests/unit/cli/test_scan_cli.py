"""``gitsecure scan`` and ``gitsecure baseline`` from the command line: exit codes, formats, baselines.

Most tests run the real CLI in-process with a one-rule engine (``tst_`` tokens), so they
check the command and not the rule set; the last tests use the real configuration and
built-in rules end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from gitsecure.cli import main as cli_main
from gitsecure.cli import scan_cmd
from gitsecure.crypto.digest import secret_digest
from gitsecure.scan.rule import Rule

TOKEN = "tst_Zq8Wv7Ut6Sr4Pq3On2Ml1Kj0"  # what the test rule finds
OTHER = "tst_Aa9Bb8Cc7Dd6Ee5Ff4Gg3Hh2"
SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
TEST_RULE = Rule(
    id="test-token",
    description="Test token",
    regex=r"\b(tst_[A-Za-z0-9]{24})\b",
    keywords=("tst_",),
    secret_type="Test Token",
    hint="rotate it",
)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Cli = Callable[..., Run]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """Run ``gitsecure ARGS`` in-process in ``tmp_path`` with the one-rule engine."""
    for name in list(os.environ):
        if name.startswith("GITSECURE_") or name == "NO_COLOR":
            monkeypatch.delenv(name)
    monkeypatch.setitem(cli_main.COMMANDS, "scan", cli_main.Command("gitsecure.cli.scan_cmd", "scan"))
    monkeypatch.setitem(cli_main.COMMANDS, "baseline", cli_main.Command("gitsecure.cli.baseline_cmd", "baseline"))
    from gitsecure.scan.engine import Engine
    from gitsecure.scan.settings import ScanSettings

    def load_engine(
        root: Path, *, config: str | None, max_file_size: int | None
    ) -> tuple[Engine, ScanSettings, list[Rule]]:
        settings = ScanSettings(max_file_size=max_file_size or 1 << 20)
        return Engine([TEST_RULE], settings=settings), settings, [TEST_RULE]

    monkeypatch.setattr(scan_cmd, "load_engine", load_engine)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Run:
        code = cli_main.main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield run


def one_error(run: Run, fragment: str) -> None:
    assert run.code == 2, run
    assert "Traceback" not in run.err
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0], run.err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_clean_tree_exits_0(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "a.py", "x = 1\n")
    run = cli("scan")
    assert run.code == 0, run
    assert "no secrets found (1 file scanned)" in run.out


def test_secret_exits_1_with_location_and_no_plaintext(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "src" / "app.py", f'\nkey = "{TOKEN}"\n')
    run = cli("scan")
    assert run.code == 1, run
    assert "src/app.py:2:8: test-token Test token" in run.out
    assert "hint: rotate it" in run.out and "1 secret found in 1 file" in run.out
    assert TOKEN not in run.out + run.err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_plaintext_anywhere_in_any_format(cli: Cli, tmp_path: Path, fmt: str) -> None:
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    to_stdout = cli("scan", "--format", fmt, "app.py")
    to_file = cli("-v", "scan", "--format", fmt, "--output", "report.out", "app.py")
    assert to_stdout.code == to_file.code == 1
    written = (tmp_path / "report.out").read_text()
    assert to_file.out == "" and written
    for text in (to_stdout.out, to_stdout.err, to_file.out, to_file.err, written):
        assert TOKEN not in text and TOKEN[4:12] not in text


def test_redact_zero_is_the_only_way_to_see_a_secret(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    assert TOKEN in cli("scan", "--redact", "0").out
    partial = cli("scan", "--redact", "50").out
    assert TOKEN[:8] in partial and TOKEN not in partial


def test_json_fields(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "d" / "app.py", f'key = "{TOKEN}"\n')
    run = cli("scan", "--format", "json")
    document = json.loads(run.out)
    [finding] = document["findings"]
    assert set(finding) == {
        "path", "line", "column", "end_line", "rule_id", "description", "commit",
        "secret_hash", "redacted", "secret_type", "entropy", "hint", "tags",
    }  # fmt: skip
    assert (finding["path"], finding["line"], finding["rule_id"]) == ("d/app.py", 1, "test-token")
    assert finding["secret_hash"] == secret_digest(TOKEN) and finding["commit"] is None
    assert document["summary"]["findings"] == 1 and document["summary"]["files_scanned"] == 1


def test_sarif_output_validates(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    run = cli("scan", "--format", "sarif", "--output", "out.sarif")
    document = json.loads((tmp_path / "out.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(document)
    [result] = document["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app.py"
    assert document["runs"][0]["tool"]["driver"]["rules"][0]["help"]["text"] == "rotate it"
    assert "1 secret found" in run.err  # the summary goes to stderr when the report goes to a file


def test_environment_sets_flags(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    monkeypatch.setenv("GITSECURE_SCAN_FORMAT", "json")
    monkeypatch.setenv("GITSECURE_FORMAT", "yaml")  # seal's variable: scan must ignore it
    monkeypatch.setenv("GITSECURE_SCAN_EXIT_ZERO", "true")
    run = cli("scan")
    assert run.code == 0 and json.loads(run.out)["summary"]["findings"] == 1


def test_exit_zero(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    assert cli("scan", "--exit-zero").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("scan", "--bogus"), "unrecognized arguments"),
        (("scan", "--format", "xml"), "unknown format"),
        (("scan", "--redact", "150"), "percentage"),
        (("scan", "--max-file-size", "lots"), "invalid size"),
        (("scan", "--since", "HEAD~1"), "need --history"),
        (("scan", "--staged", "a.py"), "cannot be combined"),
        (("scan", "--staged", "--history"), "not allowed with"),
        (("scan", "--baseline", "missing.json"), "cannot read baseline"),
        (("baseline", "audit", "--baseline", "missing.json"), "cannot read baseline"),
        (("baseline", "frobnicate"), "invalid choice"),
        (("scan", "no-such-dir"), "no such file or directory: no-such-dir"),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    one_error(cli(*args), message)


def test_invalid_config_regex_is_one_line_without_re2_logging(tmp_path: Path) -> None:
    import subprocess
    import sys

    # A subprocess: RE2 logs from C++ straight to file descriptor 2, which capsys cannot see.
    write(tmp_path / ".gitsecure.toml", '[allowlist]\npaths = ["(["]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "gitsecure", "scan"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / '.gitsecure.toml'}: allowlist.paths: invalid RE2 regex '([': missing ]: ["
    ]


def test_invalid_baseline_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "b.json", "{not json")
    one_error(cli("scan", "--baseline", "b.json"), "not a valid baseline")


def test_skipped_files_count_and_list(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "blob.dat").write_bytes(b"\0\1\2" + TOKEN.encode())
    write(tmp_path / "a.py", "x = 1\n")
    quiet = cli("scan")
    assert "skipped 1 file" in quiet.err and "blob.dat" not in quiet.err
    verbose = cli("-v", "scan")
    assert "skipped blob.dat: binary" in verbose.err


def test_stdin(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(f"token {TOKEN}\n".encode())))
    run = cli("scan", "--stdin", "--stdin-path", "values.yaml", "--format", "json")
    assert run.code == 1
    assert json.loads(run.out)["findings"][0]["path"] == "values.yaml"


def test_baseline_workflow(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    created = cli("baseline", "create")
    assert created.code == 0, created
    text = (tmp_path / ".secrets.baseline").read_text()
    document = json.loads(text)
    assert document["results"]["app.py"] == [
        {"type": "Test Token", "filename": "app.py", "hashed_secret": secret_digest(TOKEN), "is_verified": False}
    ]
    assert "generated_at" not in document
    one_error(cli("baseline", "create"), "already exists")

    # Known secrets are not reported; new ones are, and the baseline file itself is never a finding.
    assert cli("scan", "--baseline", ".secrets.baseline").code == 0
    write(tmp_path / "new.py", f'other = "{OTHER}"\n')
    run = cli("scan", "--baseline", ".secrets.baseline", "--format", "json")
    assert run.code == 1
    document = json.loads(run.out)
    assert [f["path"] for f in document["findings"]] == ["new.py"]
    assert document["summary"]["baseline_known"] == 1

    # Label, update (labels kept, new secret added), audit.
    assert cli("baseline", "audit", "--mark", secret_digest(TOKEN)[:10], "false").code == 0
    assert cli("baseline", "update").code == 0
    entries = json.loads((tmp_path / ".secrets.baseline").read_text())["results"]
    assert entries["app.py"][0]["is_secret"] is False and "is_secret" not in entries["new.py"][0]
    assert cli("scan", "--baseline", ".secrets.baseline").code == 0
    stats = cli("baseline", "audit", "--stats", "--json")
    assert json.loads(stats.out) == {"Test Token": {"real": 0, "false": 1, "unaudited": 1}}
    listing = cli("baseline", "audit", "--only-false")
    assert "app.py" in listing.out and "new.py" not in listing.out and "[false]" in listing.out
    assert cli("baseline", "audit", "--fail-on-unaudited").code == 1

    # A vanished secret leaves the baseline on update; an unchanged update does not rewrite the file.
    (tmp_path / "new.py").write_text("other = None\n")
    assert "1 removed" in cli("baseline", "update").err
    assert "(unchanged)" in cli("baseline", "update").err
    for output in (created, stats, listing):
        assert TOKEN not in output.out + output.err


def test_baseline_create_line_numbers_to_stdout(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "app.py", f'\n\nkey = "{TOKEN}"\n')
    run = cli("baseline", "create", "--line-numbers", "--output", "-")
    assert json.loads(run.out)["results"]["app.py"][0]["line_number"] == 3


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_staged_and_history(cli: Cli, tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path / "app.py", f'key = "{TOKEN}"\n')
    assert cli("scan", "--staged").code == 0  # nothing staged yet
    git(tmp_path, "add", "app.py")
    staged = cli("scan", "--staged", "--format", "json")
    assert staged.code == 1 and json.loads(staged.out)["findings"][0]["path"] == "app.py"
    git(tmp_path, "commit", "-q", "-m", "add")
    history = cli("scan", "--history", "--format", "json")
    assert history.code == 1
    [finding] = json.loads(history.out)["findings"]
    assert finding["commit"] and len(finding["commit"]) == 40
    assert json.loads(history.out)["summary"]["files_scanned"] == 1  # commits, in history mode


# --- end to end with the real configuration loader and built-in rules ----------------------

PEM_BODY = [
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo",
]
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END RSA PRIVATE KEY-----\n"


@pytest.fixture
def real_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    for name in list(os.environ):
        if name.startswith("GITSECURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setitem(cli_main.COMMANDS, "scan", cli_main.Command("gitsecure.cli.scan_cmd", "scan"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Run:
        code = cli_main.main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_builtin_rules_find_a_private_key_and_never_print_it(real_cli: Cli, tmp_path: Path, fmt: str) -> None:
    write(tmp_path / "deploy" / "key.pem", PEM)
    run = real_cli("scan", "--format", fmt, "--output", "report.out")
    assert run.code == 1, run
    written = (tmp_path / "report.out").read_text()
    for text in (run.out, run.err, written):
        for line in PEM_BODY:
            assert line not in text and line[10:30] not in text
    assert "deploy/key.pem" in written
