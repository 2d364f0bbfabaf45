"""Running ``gitsecure seal`` as a user would: a subprocess with a scrubbed environment and an empty HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_SCRUBBED_PREFIXES = ("GITSECURE_", "SEALED_SECRETS_", "KUBERNETES_")
_SCRUBBED = {"KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}


@dataclass(frozen=True)
class Run:
    """What one CLI run left behind."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        """stdout as text."""
        return self.stdout.decode("utf-8")

    @property
    def stderr_lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]


class Runner:
    """Runs the CLI as a subprocess."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def __call__(self, *args: str, input: bytes | str = b"", env: dict[str, str] | None = None) -> Run:
        """``gitsecure seal *args`` with ``input`` on stdin and extra ``env``."""
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith(_SCRUBBED_PREFIXES) and k.upper() not in _SCRUBBED
        }
        environment["HOME"] = str(self.home)
        environment.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "gitsecure", "seal", *args],
            input=input.encode() if isinstance(input, str) else input,
            capture_output=True,
            env=environment,
            cwd=self.home,
            timeout=60,  # a hang guard, not a timing assertion
            check=False,
        )
        stderr = proc.stderr.decode("utf-8", errors="replace")
        assert "Traceback" not in stderr, stderr
        return Run(proc.returncode, proc.stdout, stderr)


def assert_one_error_line(run: Run, prefix: str) -> str:
    """Exit 2, a single ``error:`` line starting with ``prefix``, at most hints besides; returns the line."""
    assert run.returncode == 2, run.stderr
    errors = [line for line in run.stderr_lines if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert all(line.startswith(("error:", "hint:")) for line in run.stderr_lines), run.stderr
    assert errors[0].startswith(f"error: {prefix}"), run.stderr
    assert run.stdout == b""
    return errors[0]
