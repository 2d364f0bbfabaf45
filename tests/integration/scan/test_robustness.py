"""Robustness of ``gitsecure scan`` through the real CLI (issue 3, Robustness).

Binary files, invalid UTF-8, minified files, inputs crafted against backtracking regexes and a
file of hundreds of megabytes: the scan must end with exit 0 or 1, never a traceback, find the
secrets planted in them, and (for the big file) keep its peak memory far below the file size.

Every scan runs as ``python -m gitsecure scan`` in a subprocess. The ``timeout=`` given to the
subprocesses is a hang guard only, so a regression fails instead of blocking the suite; nothing
here asserts a duration. Peak memory is read with ``getrusage(RUSAGE_CHILDREN)`` in a fresh
wrapper process whose only child is the scanner, so the figure is the scanner's own.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# AWS access key ids (AKIA + 16 of [A-Z2-7]): made up, high entropy, built from pieces so that this
# file does not trip a scanner itself.
SECRET = "AKIA" + "Z7Q3RXW5KJ4M2VTN"
OTHER_SECRET = "AKIA" + "M4KQ7WZP2XR6TN3J"
SECRET_LINE = f"aws_access_key_id = {SECRET}\n".encode()
HANG_GUARD = 600  # seconds: a hung scan fails the test instead of blocking the suite
MIB = 1 << 20
CHUNK_SIZE = 4 * MIB  # gitsecure.scan.sources.chunked.CHUNK_SIZE, the streaming chunk
BIG_FILE_SIZE = 256 * MIB
# The scanner's peak RSS on the big file: its input is 256 MiB, streamed in 4 MiB chunks; the
# interpreter, the rules and one chunk's work need a few tens of MiB.
BIG_FILE_RSS_LIMIT_MIB = 128


@dataclass(frozen=True)
class Scan:
    """One finished ``gitsecure scan`` run."""

    returncode: int
    stdout: str
    stderr: str
    maxrss_mib: float = 0.0

    def report(self) -> dict[str, Any]:
        """The ``--format json`` report."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def found(self) -> list[tuple[str, int, str]]:
        """(path, line, secret hash) of each finding in the JSON report, in report order."""
        return [(f["path"], f["line"], f["secret_hash"]) for f in self.report()["findings"]]


def environment(home: Path) -> dict[str, str]:
    """The caller's environment minus GITSECURE_* settings, with an empty HOME."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITSECURE_")}
    env.update(HOME=str(home), NO_COLOR="1", GIT_CONFIG_NOSYSTEM="1")
    return env


def scan(cwd: Path, *args: str | os.PathLike[str], verbose: bool = False) -> Scan:
    """Run ``gitsecure [-v] scan ARGS`` in ``cwd`` (stdin empty)."""
    proc = subprocess.run(
        [sys.executable, "-m", "gitsecure", *(["-v"] if verbose else []), "scan", *map(str, args)],
        cwd=cwd,
        env=environment(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=HANG_GUARD,
    )
    return Scan(proc.returncode, proc.stdout.decode(), proc.stderr.decode("utf-8", "replace"))


# Runs the scanner as its only child, so RUSAGE_CHILDREN's ru_maxrss (KiB on Linux) is the scanner's.
_MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    stdin, stdout, stderr, *command = sys.argv[1:]
    with open(stdin, "rb") as i, open(stdout, "wb") as o, open(stderr, "wb") as e:
        code = subprocess.run(command, stdin=i, stdout=o, stderr=e).returncode
    print(json.dumps({"returncode": code, "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
    """
)


def measured_scan(cwd: Path, *args: str | os.PathLike[str], stdin: Path | None = None) -> Scan:
    """Like :func:`scan`, also reporting the scanner's peak RSS; ``stdin`` is a file fed to it."""
    out, err = cwd / "scan.stdout", cwd / "scan.stderr"
    command = [sys.executable, "-m", "gitsecure", "scan", *map(str, args)]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(stdin or os.devnull), str(out), str(err), *command],
        cwd=cwd,
        env=environment(cwd),
        capture_output=True,
        check=True,
        timeout=HANG_GUARD,
    )
    result = json.loads(proc.stdout)
    return Scan(
        result["returncode"],
        out.read_text(),
        err.read_bytes().decode("utf-8", "replace"),
        maxrss_mib=result["maxrss"] / 1024,
    )


def assert_clean_exit(result: Scan) -> None:
    """Exit 0 or 1 (never 2 or a crash) and nothing that looks like a traceback."""
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr


def digest(secret: str) -> str:
    """The report's ``secret_hash`` of ``secret`` (detect-secrets' hashed_secret)."""
    from gitsecure.crypto.digest import secret_digest

    return secret_digest(secret)


# ----------------------------------------------------------------------------------------------
# (a) binary files


def test_binary_files_are_skipped_and_counted(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    rng = random.Random(7)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + rng.randbytes(4096)
    (tree / "zeros.dat").write_bytes(b"\0" * 65536)
    (tree / "random.dat").write_bytes(rng.randbytes(65536))  # a NUL in the first 8000 bytes: p > 1 - 1e-13
    (tree / "logo.png").write_bytes(png)  # the default path allowlist drops it before it is opened: not counted
    (tree / "logo").write_bytes(png)  # no extension: skipped for the NUL in its header
    # A secret after a NUL is in a binary file: skipped, not scanned (as git and gitleaks do).
    (tree / "core.bin.dump").write_bytes(b"ELF\0\0\0" + SECRET_LINE)
    (tree / "readme.txt").write_text("nothing to see here\n")

    result = scan(tmp_path, "tree", "--format", "json")

    assert_clean_exit(result)
    assert result.returncode == 0
    summary = result.report()["summary"]
    assert summary["files_skipped"] == 4
    assert summary["files_scanned"] == 1
    assert result.report()["findings"] == []
    assert "skipped 4 file(s)" in result.stderr
    verbose = scan(tmp_path, "tree", "--format", "json", verbose=True)
    reasons = [line for line in verbose.stderr.splitlines() if line.startswith("skipped ")]
    assert len(reasons) == 4
    assert all("binary" in line for line in reasons), reasons


# ----------------------------------------------------------------------------------------------
# (b) invalid UTF-8 and mixed encodings


def test_invalid_utf8_and_mixed_encodings_are_scanned(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    junk = bytes(random.Random(3).randrange(0x80, 0x100) for _ in range(3000))  # no NUL, not UTF-8
    (tree / "invalid.txt").write_bytes(
        junk + b"\n\xff\xfe\xc3\x28 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80\n" + SECRET_LINE
    )
    (tree / "latin1.cfg").write_bytes("# caf\u00e9, na\u00efve, \u00fcber\n".encode("latin-1") + SECRET_LINE)
    (tree / "mixed.py").write_bytes(
        "# \u00e9t\u00e9 \u2603 \U0001f511\n".encode()
        + "# cp1252 \u20ac quotes \u201chi\u201d\n".encode("cp1252")
        + b"# overlong / and a lone surrogate: \xc0\xaf \xed\xb2\x80\n"
        + b"KEY = '"
        + SECRET.encode()
        + b"'  # \xff trailing junk\n"
    )
    # A file name that is not UTF-8 either (Linux allows any bytes but / and NUL).
    (tree / os.fsdecode(b"caf\xe9-\xff.env")).write_bytes(b"\xfe\xfe\n" + SECRET_LINE)

    result = scan(tmp_path, "tree", "--format", "json")

    assert_clean_exit(result)
    assert result.returncode == 1
    found = {(path, line) for path, line, _ in result.found()}
    assert ("tree/invalid.txt", 3) in found
    assert ("tree/latin1.cfg", 2) in found
    assert ("tree/mixed.py", 4) in found
    assert len(found) == 4, found
    assert {sha for _, _, sha in result.found()} == {digest(SECRET)}
    assert result.report()["summary"]["files_skipped"] == 0
    # The text report prints the undecodable name too.
    text = scan(tmp_path, "tree")
    assert_clean_exit(text)
    assert text.returncode == 1
    assert "latin1.cfg:2:" in text.stdout
    assert "tree/caf\\xe9-\\xff.env:2:21:" in text.stdout
    assert SECRET not in text.stdout + text.stderr


def test_undecodable_stdin_is_scanned(tmp_path: Path) -> None:
    data = tmp_path / "input"
    data.write_bytes(b"\x00\xff\xfe\x80\n" * 100 + SECRET_LINE + b"\xc3\n")  # stdin is scanned even with NULs

    result = measured_scan(tmp_path, "--stdin", "--format", "json", stdin=data)

    assert_clean_exit(result)
    assert result.returncode == 1
    assert result.found() == [("-", 101, digest(SECRET))]


# ----------------------------------------------------------------------------------------------
# (c) minified files
# Named bundle.js, not *.min.js: the default path allowlist skips *.min.js on purpose.


def test_one_huge_minified_line_with_a_secret_in_the_middle(tmp_path: Path) -> None:
    statements = b"".join(b"function f%d(a,b){return a*%d+b};var v%d=[%d,'x'];" % (i, i, i, i) for i in range(80000))
    middle = len(statements) // 2
    line = statements[:middle] + b'var k="' + SECRET.encode() + b'";' + statements[middle:]
    assert len(line) > 4 * MIB
    (tmp_path / "bundle.js").write_bytes(line)

    result = scan(tmp_path, "bundle.js", "--format", "json")

    assert_clean_exit(result)
    assert result.returncode == 1
    findings = result.report()["findings"]
    assert [(f["line"], f["secret_hash"]) for f in findings] == [(1, digest(SECRET))]
    assert findings[0]["column"] == middle + len(b'var k="') + 1


def test_a_100k_line_minified_file_with_a_secret_in_the_middle(tmp_path: Path) -> None:
    lines = [
        b"!function(e,t){var n%d=t(%d),r=e.exports;r.x=n%d&&n%d.y||{}}(this,require);" % ((i,) * 4)
        for i in range(100000)
    ]
    lines[50000] = b'var cfg={accessKeyId:"' + SECRET.encode() + b'",region:"eu-west-1"};'
    (tmp_path / "bundle.js").write_bytes(b"\n".join(lines))  # no newline at the end, as minifiers do

    result = scan(tmp_path, "bundle.js", "--format", "json")

    assert_clean_exit(result)
    assert result.returncode == 1
    assert result.found() == [("bundle.js", 50001, digest(SECRET))]


# ----------------------------------------------------------------------------------------------
# (d) inputs crafted to make regexes (and parsers) slow


def _billion_laughs() -> bytes:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    return text.encode()


def _billion_laughs_secret() -> bytes:
    # The same bomb inside a Kubernetes Secret, the kind of file the GitOps analysis parses.
    head = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bomb\ntype: Opaque\nstringData:\n"
    return head + b"".join(b"  " + line + b"\n" for line in _billion_laughs().splitlines())


CRAFTED: dict[str, tuple[str, bytes]] = {
    "password-then-a-million-a": ("creds.txt", b"password=" + b"a" * 1_000_000 + b"\n"),
    "password-quoted-unterminated": ("creds.py", b'password = "' + b"\\x" * 500_000 + b"\n"),
    "assignment-spaces": ("creds.ini", b"secret" + b" " * 1_000_000 + b"= x\n"),
    "begin-without-end": ("key.pem", b"-----BEGIN RSA PRIVATE KEY-----\n" * 60_000),
    "begin-run-one-line": ("key.txt", b"-----BEGIN " * 200_000 + b"\n"),
    "pem-body-without-end": ("id_rsa", b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + (b"A" * 70 + b"\n") * 15_000),
    "key-key-key": ("keys.env", b"key=" * (MIB // 4) + b"\n"),
    "token-prefix-run": ("tokens.txt", b"ghp_" * 250_000 + b"\n" + b"xoxb-" + b"1-" * 250_000 + b"\n"),
    "nested-json": ("deep.json", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
    "nested-yaml-flow": ("deep.yaml", b"a: " + b"[" * 100_000 + b"\n"),
    "nested-yaml-block": ("deeper.yaml", b"".join(b" " * i + b"k:\n" for i in range(0, 6000, 2))),
    "billion-laughs": ("laughs.yaml", _billion_laughs()),
    "billion-laughs-secret": ("bomb.yaml", _billion_laughs_secret()),
    "base64-line": ("blob.txt", b"data: " + base64.b64encode(random.Random(5).randbytes(1_500_000)) + b"\n"),
    "carriage-returns": ("creds.cfg", b"password=abc\r" * 100_000 + b"\n"),
    "equals-run": ("eq.env", b"=" * 2_000_000 + b"\n"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_input_finishes_and_the_scan_goes_on(tmp_path: Path, name: str) -> None:
    filename, body = CRAFTED[name]
    # A secret on the line after the crafted part: the scan must not give up on the rest of the file.
    data = body if body.endswith(b"\n") else body + b"\n"
    (tmp_path / filename).write_bytes(data + SECRET_LINE)
    line = data.count(b"\n") + 1

    result = scan(tmp_path, filename, "--format", "json")

    assert_clean_exit(result)
    assert result.returncode == 1
    assert (filename, line, digest(SECRET)) in result.found()


def test_keyword_dense_input_stays_in_bounded_memory(tmp_path: Path) -> None:
    # Base64 of zero-filled data is runs of A's: common in real manifests and notebooks.
    (tmp_path / "zeros.b64.txt").write_bytes((b"A" * 76 + b"\n") * (2 * MIB // 77))

    result = measured_scan(tmp_path, "zeros.b64.txt", "--format", "json")

    assert_clean_exit(result)
    assert result.maxrss_mib < 120, f"peak RSS {result.maxrss_mib:.0f} MiB for a 2 MiB file"


# ----------------------------------------------------------------------------------------------
# (e) a big file in bounded memory

_FILLER = [
    b"def handle_request(request, *, timeout=30):",
    b'    password = os.environ["DB_PASSWORD"]',
    b'    api_key = settings.get("api_key")',
    b'    logger.info("request %s took %d ms", request.id, elapsed)',
    b'    return {"status": "ok", "items": [item.to_dict() for item in items]}',
    b"token: ${TOKEN}",
    b"# Copyright (c) the authors. Licensed under the Apache License, Version 2.0.",
    b'<div class="container"><a href="https://example.com/docs/index.html">Docs</a></div>',
    b"SELECT id, name, created_at FROM users WHERE org_id = %s ORDER BY created_at DESC;",
    b"2024-05-01T12:00:00Z INFO worker-3 processed job 81234 in 125ms (key=job:81234)",
]


@dataclass(frozen=True)
class BigFile:
    """A generated file and the 1-based lines of its two planted secrets."""

    path: Path
    boundary_line: int
    end_line: int


def write_big_file(path: Path, size: int) -> BigFile:
    """About ``size`` bytes of realistic lines; one secret straddles the first chunk boundary, one sits near the end."""
    block = b"".join(b"%s  # %d\n" % (_FILLER[i % len(_FILLER)], i) for i in range(12000))
    block_lines = block.count(b"\n")
    # Start the first secret's line so that the chunk boundary falls inside the key id itself.
    start = CHUNK_SIZE - len(b"aws_access_key_id = ") - 8
    written = lines = 0
    with open(path, "wb") as out:
        while written + len(block) <= start:
            out.write(block)
            written, lines = written + len(block), lines + block_lines
        head = block[: block.rfind(b"\n", 0, start - written) + 1]
        pad = start - written - len(head)
        out.write(head + (b"#" * (pad - 1) + b"\n" if pad else b""))
        lines += head.count(b"\n") + (1 if pad else 0)
        out.write(SECRET_LINE)
        boundary_line = lines + 1
        written, lines = start + len(SECRET_LINE), lines + 1
        while written + len(block) <= size - 4096:
            out.write(block)
            written, lines = written + len(block), lines + block_lines
        out.write(f"AWS_ACCESS_KEY_ID={OTHER_SECRET}\n".encode())
        out.write(b"# the end, without a newline")
    return BigFile(path, boundary_line, lines + 1)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> BigFile:
    """The big file, written once for the module's tests."""
    return write_big_file(tmp_path_factory.mktemp("big") / "big.log", BIG_FILE_SIZE)


def test_big_file_generator_places_the_secrets(big_file: BigFile) -> None:
    # The other tests trust these line numbers and the boundary position: check them directly.
    with open(big_file.path, "rb") as handle:
        handle.seek(CHUNK_SIZE - 8)
        assert handle.read(16) == SECRET.encode()[:16]
        handle.seek(0)
        lines = {number: line for number, line in enumerate(handle, 1) if b"AWS_ACCESS_KEY_ID" in line.upper()}
    assert lines == {
        big_file.boundary_line: SECRET_LINE,
        big_file.end_line: f"AWS_ACCESS_KEY_ID={OTHER_SECRET}\n".encode(),
    }
    assert big_file.path.stat().st_size > BIG_FILE_SIZE - 2 * MIB


def _assert_big_scan(result: Scan, *, path: str, big_file: BigFile) -> None:
    assert_clean_exit(result)
    assert result.returncode == 1
    assert result.found() == [
        (path, big_file.boundary_line, digest(SECRET)),
        (path, big_file.end_line, digest(OTHER_SECRET)),
    ]
    assert result.maxrss_mib < BIG_FILE_RSS_LIMIT_MIB, f"peak RSS {result.maxrss_mib:.0f} MiB"


@pytest.mark.slow
def test_big_file_is_streamed_in_bounded_memory(big_file: BigFile) -> None:
    cwd = big_file.path.parent
    result = measured_scan(cwd, big_file.path.name, "--max-file-size", "1G", "--format", "json")
    _assert_big_scan(result, path=big_file.path.name, big_file=big_file)


@pytest.mark.slow
def test_big_stdin_is_streamed_in_bounded_memory(big_file: BigFile) -> None:
    cwd = big_file.path.parent
    result = measured_scan(cwd, "--stdin", "--format", "json", stdin=big_file.path)
    _assert_big_scan(result, path="-", big_file=big_file)


def test_big_file_over_the_default_limit_is_skipped(tmp_path: Path) -> None:
    # Without --max-file-size a file over 10 MiB is skipped with a reason, not read.
    (tmp_path / "big.log").write_bytes((b"x" * 1023 + b"\n") * (11 * 1024) + SECRET_LINE)
    result = scan(tmp_path, "big.log", "--format", "json", verbose=True)
    assert_clean_exit(result)
    assert result.returncode == 0
    assert result.report()["summary"]["files_skipped"] == 1
    assert "too large" in result.stderr
