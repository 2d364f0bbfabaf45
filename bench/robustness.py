"""Scan a 1 GiB file with ``gitsecure scan`` and report time, throughput and peak memory (issue 3, Robustness).

Run ``.venv/bin/python bench/robustness.py`` (``--size 256M`` or ``--quick`` for a smaller file). Too
slow for the test suite, whose ``tests/integration/scan/test_robustness.py`` does the same on 256 MiB.

The input is built once and reused from ``$GITSECURE_BENCH_CACHE`` (default ``<tmp>/gitsecure-bench``):
realistic source, config and log lines, many holding scanner keywords (``password``, ``api_key``,
``token``, ``key=``) but no secret, with three fake AWS access key ids planted: one straddling the
first 4 MiB streaming chunk boundary, one straddling the 512 MiB mark, one on the second-to-last line.

``gitsecure scan FILE --max-file-size 2G --format json`` runs, then the same file through
``--stdin``. Each run goes through a fresh wrapper process whose only child is the scanner, so
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` there is the scanner's own peak RSS. Printed: wall
time, MB/s (10^6 bytes of input per wall second), peak RSS and the findings. Nothing is asserted
about timing; the exit status is 1 when a scan breaks (exit status other than 1) or a planted
secret is not reported exactly once, on its line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 1 << 20
CHUNK_SIZE = 4 * MIB  # gitsecure.scan.sources.chunked.CHUNK_SIZE
GENERATOR_VERSION = 1
"""Bump when the generated content changes, so cached inputs are rebuilt."""
# Fake AWS access key ids (AKIA + 16 of [A-Z2-7]), built from pieces so this file does not trip a scanner.
PLANTED = ("AKIA" + "Z7Q3RXW5KJ4M2VTN", "AKIA" + "M4KQ7WZP2XR6TN3J", "AKIA" + "Q2W7ZX5RT3KMN6VP")
PREFIX = b"aws_access_key_id = "
FILLER = (
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
)
_SIZE = re.compile(r"(?i)^(\d+)([kmg]?)$")

# Runs the scanner as its only child: RUSAGE_CHILDREN's ru_maxrss (KiB on Linux) is then the scanner's.
_MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    stdin, stdout, stderr, *command = sys.argv[1:]
    with open(stdin, "rb") as i, open(stdout, "wb") as o, open(stderr, "wb") as e:
        code = subprocess.run(command, stdin=i, stdout=o, stderr=e).returncode
    print(json.dumps({"returncode": code, "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
    """
)


@dataclass(frozen=True)
class Input:
    """The generated file and the 1-based line of each planted secret."""

    path: Path
    size: int
    lines: dict[str, int]


@dataclass(frozen=True)
class Run:
    """One measured scan."""

    label: str
    returncode: int
    seconds: float
    maxrss_mib: float
    findings: list[dict[str, Any]]
    stderr: str


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``4096k`` or a byte count (binary units)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: use e.g. 1G or 256M")
    return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]


def cache_dir() -> Path:
    """Where inputs live between runs: outside the repository, so they are never scanned or committed."""
    path = Path(os.environ.get("GITSECURE_BENCH_CACHE") or Path(tempfile.gettempdir()) / "gitsecure-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_input(size: int) -> Input:
    """The cached input of ``size`` bytes (about), generated when missing or stale."""
    path = cache_dir() / f"robustness-{size}.log"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        recorded = json.loads(meta.read_text())
        if recorded.get("version") == GENERATOR_VERSION and recorded.get("bytes") == path.stat().st_size:
            return Input(path, path.stat().st_size, {str(k): int(v) for k, v in recorded["lines"].items()})
    print(f"generating {size / MIB:.0f} MiB input in {path} ...", flush=True)
    lines = _write(path, size)
    meta.write_text(json.dumps({"version": GENERATOR_VERSION, "bytes": path.stat().st_size, "lines": lines}))
    return Input(path, path.stat().st_size, lines)


def _write(path: Path, size: int) -> dict[str, int]:
    block = b"".join(b"%s  # %d\n" % (FILLER[i % len(FILLER)], i) for i in range(12000))
    block_lines = block.count(b"\n")
    # Each secret line starts so that the mark falls 8 characters into the key id.
    marks = [CHUNK_SIZE, size // 2]
    planted: dict[str, int] = {}
    written = lines = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for secret, mark in zip(PLANTED, marks, strict=False):
            start = mark - len(PREFIX) - 8
            while written + len(block) <= start:
                out.write(block)
                written, lines = written + len(block), lines + block_lines
            head = block[: block.rfind(b"\n", 0, start - written) + 1]
            pad = start - written - len(head)
            out.write(head + (b"#" * (pad - 1) + b"\n" if pad else b""))
            lines += head.count(b"\n") + (1 if pad else 0)
            line = PREFIX + secret.encode() + b"\n"
            out.write(line)
            planted[secret] = lines + 1
            written, lines = start + len(line), lines + 1
        while written + len(block) <= size - 4096:
            out.write(block)
            written, lines = written + len(block), lines + block_lines
        out.write(f"AWS_ACCESS_KEY_ID={PLANTED[2]}\n".encode())
        planted[PLANTED[2]] = lines + 1
        out.write(b"# the end, without a newline")
    tmp.replace(path)
    return planted


def measure(label: str, command: list[str], *, cwd: Path, stdin: Path | None = None) -> Run:
    """Run ``command`` through the measuring wrapper; wall time includes interpreter start-up."""
    with tempfile.TemporaryDirectory(prefix="gitsecure-robustness-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(stdin or os.devnull), str(out), str(err), *command],
            cwd=cwd,
            env={k: v for k, v in os.environ.items() if not k.startswith("GITSECURE_")},
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        result = json.loads(proc.stdout)
        stdout, stderr = out.read_text(), err.read_text(errors="replace")
    findings: list[dict[str, Any]] = []
    if stdout.strip():
        try:
            findings = list(json.loads(stdout)["findings"])
        except (ValueError, KeyError):
            stderr += "\n(unreadable JSON report)"
    return Run(label, int(result["returncode"]), seconds, result["maxrss"] / 1024, findings, stderr)


def check(run: Run, data: Input, *, path: str) -> list[str]:
    """What is wrong with ``run``: a broken scan, a planted secret missing, repeated or misplaced."""
    from gitsecure.crypto.digest import secret_digest

    problems = []
    if run.returncode != 1:
        problems.append(f"{run.label}: exit status {run.returncode} (expected 1): {run.stderr.strip()[-500:]}")
    seen = Counter((f["path"], f["line"], f["secret_hash"]) for f in run.findings)
    for secret, line in data.lines.items():
        hits = [key for key in seen if key[2] == secret_digest(secret)]
        count = sum(seen[key] for key in hits)
        # The path is relative to the enclosing work tree, if the cache directory is inside one.
        if count != 1 or hits[0][1] != line or not (hits[0][0] == path or hits[0][0].endswith(f"/{path}")):
            problems.append(f"{run.label}: planted secret on line {line} reported {count} times at {hits}")
    return problems


def report(run: Run, data: Input) -> None:
    """One run's figures and findings."""
    rate = data.size / 1e6 / run.seconds
    print(f"\n{run.label}")
    print(
        f"  exit status {run.returncode}, wall {run.seconds:.1f} s, {rate:.1f} MB/s, peak RSS {run.maxrss_mib:.0f} MiB"
    )
    for f in run.findings:
        print(f"  {f['path']}:{f['line']}:{f['column']} {f['rule_id']} sha1={f['secret_hash'][:12]}")


def main(argv: list[str] | None = None) -> int:
    """Build the input, scan it as a file and through stdin, print the figures; 1 on a failed check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=1 << 30, help="input size, e.g. 1G (default) or 256M")
    parser.add_argument("--quick", action="store_true", help="a 128 MiB input: a smoke run")
    parser.add_argument("--no-stdin", action="store_true", help="skip the --stdin run")
    args = parser.parse_args(argv)
    size = 128 * MIB if args.quick else args.size
    if size < 2 * CHUNK_SIZE + 2 * MIB:
        parser.error(f"--size must be at least {(2 * CHUNK_SIZE + 2 * MIB) // MIB}M")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, load average {load}")
    data = build_input(size)
    print(f"input {data.path}: {data.size / MIB:.0f} MiB, planted secrets on lines {sorted(data.lines.values())}")
    scan = [sys.executable, "-m", "gitsecure", "scan"]
    runs = [
        (
            measure("file", [*scan, data.path.name, "--max-file-size", "2G", "--format", "json"], cwd=data.path.parent),
            data.path.name,
        )
    ]
    if not args.no_stdin:
        command = [*scan, "--stdin", "--format", "json"]
        runs.append((measure("stdin", command, cwd=data.path.parent, stdin=data.path), "-"))
    problems: list[str] = []
    for run, path in runs:
        report(run, data)
        problems += check(run, data, path=path)
    print()
    for problem in problems:
        print(f"FAILED {problem}")
    print("planted secrets: each found exactly once" if not problems else f"{len(problems)} check(s) failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
