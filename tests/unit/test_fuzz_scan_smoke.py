"""Smoke run of the engine's atheris fuzz script: a short fixed budget, no crash."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[fuzz]')")

SCRIPT = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_scan.py"
RUNS = 3000


@pytest.mark.slow
def test_fuzz_scan_completes_its_runs_without_a_crash(tmp_path: Path) -> None:
    """``fuzz_scan.py -atheris_runs=N`` exits 0 and says it did N runs."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), f"-atheris_runs={RUNS}", "-seed=1", f"-artifact_prefix={tmp_path}/"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    crash_report = output[output.find("=== Uncaught Python exception") :] if "Uncaught" in output else output[-4000:]
    assert done.returncode == 0, f"fuzz script exited {done.returncode}:\n{crash_report}"
    assert re.search(rf"^Done {RUNS} (runs )?in \d+ second", output, re.MULTILINE), output[-2000:]
