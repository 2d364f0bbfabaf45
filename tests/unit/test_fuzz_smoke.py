"""Smoke runs of the atheris fuzz scripts: each starts, runs a short fixed budget and meets no crash.

The long runs (``make fuzz``) stay out of the test suite; this keeps the scripts (and the
``fuzz/harness.py`` they share) from rotting and turns a crash on the seed inputs or soon after
into a failing test, with the traceback shown.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# Skip only when the fuzzing engine itself is missing (it is the optional ``fuzz`` extra).
pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[fuzz]')")

FUZZ_DIR = Path(__file__).resolve().parents[2] / "fuzz"
# About 10 s each on a 2-core machine, start-up included (instrumentation, seed generation).
RUNS = 3000


@pytest.mark.slow
@pytest.mark.parametrize("script", ["fuzz_seal.py", "fuzz_scan.py"])
def test_fuzz_script_completes_its_runs_without_a_crash(script: str, tmp_path: Path) -> None:
    """``fuzz/<script> -atheris_runs=N`` exits 0 and says it did N runs."""
    done = subprocess.run(
        [
            sys.executable,
            # Run as a script, as ``make fuzz`` does: that puts fuzz/ on sys.path for ``import harness``.
            str(FUZZ_DIR / script),
            f"-atheris_runs={RUNS}",
            # A fixed seed makes a failure here reproducible with the same command line.
            "-seed=1",
            # Crash files go to the test's directory, never into the working tree.
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    # On a crash atheris prints the Python traceback, then libFuzzer names the file holding the
    # input: show both, not the progress lines before them. Replay: fuzz/<script> <crash file>.
    crash_report = output[output.find("=== Uncaught Python exception") :] if "Uncaught" in output else output[-4000:]
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{crash_report}"
    # atheris says "Done N in S second(s)" for -atheris_runs, libFuzzer "Done N runs in ..." for -runs.
    assert re.search(rf"^Done {RUNS} (runs )?in \d+ second", output, re.MULTILINE), output[-2000:]
