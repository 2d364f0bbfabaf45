"""ControllerProcess: ``gitsecure controller run`` as a subprocess against a KubeCluster.

The controller runs as a user would run it: its own process (kopf and aiohttp keep their own loop),
a kubeconfig for the emulator, a scrubbed environment, free ports on 127.0.0.1 for its HTTP API and
metrics. Its stdout and stderr go to a file (no pipe to fill up), read back with ``log_text()``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from tests.support.kube.cluster import KubeCluster

_SCRUBBED_PREFIXES = ("GITSECURE_", "SEALED_SECRETS_", "KUBERNETES_")
_SCRUBBED = {"KUBECONFIG", "POD_NAMESPACE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
_SCRUBBED |= {name.lower() for name in _SCRUBBED}


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ControllerProcess:
    """One controller process; constructing it starts it. Use as a context manager, or call ``stop()``.

    ``extra_args`` follow the fixed flags (``--kubeconfig``, ``--namespace``, ``--listen-addr``,
    ``--listen-metrics-addr``); ``env`` is added to the scrubbed environment.
    """

    def __init__(
        self,
        cluster: KubeCluster,
        tmp_path: Path,
        *extra_args: str,
        env: Mapping[str, str] | None = None,
        namespace: str = "kube-system",
        name: str = "controller",
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.directory = tmp_path / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = cluster.write_kubeconfig(self.directory / "kubeconfig", namespace=namespace)
        self.port = free_port()
        self.metrics_port = free_port()
        self.argv = [
            sys.executable,
            "-m",
            "gitsecure",
            "controller",
            "run",
            "--kubeconfig",
            str(self.kubeconfig),
            "--namespace",
            namespace,
            "--listen-addr",
            f"127.0.0.1:{self.port}",
            "--listen-metrics-addr",
            f"127.0.0.1:{self.metrics_port}",
            *extra_args,
        ]
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(_SCRUBBED_PREFIXES) and key not in _SCRUBBED
        }
        home = self.directory / "home"
        home.mkdir(exist_ok=True)
        environment.update({"HOME": str(home), "PYTHONUNBUFFERED": "1"})
        environment.update(env or {})
        self.env = environment
        self._logs: list[Path] = []
        self._log_file: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> ControllerProcess:
        """Start the process (again, after ``stop``/``kill``: same ports, a new log segment)."""
        if self.running:
            return self
        self._close_log()
        log = self.directory / f"run-{len(self._logs) + 1}.log"
        self._logs.append(log)
        self._log_file = log.open("wb")
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.directory,
        )
        return self

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the process has ended."""
        return None if self._proc is None else self._proc.poll()

    @property
    def pid(self) -> int:
        """The process id of the current run."""
        if self._proc is None:
            raise RuntimeError("the controller was never started")
        return self._proc.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll ``/healthz`` until it answers 200; fail with the log if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise AssertionError(
                    f"the controller exited with {self.returncode} before it was ready:\n{self._tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the controller did not answer /healthz within {timeout}s:\n{self._tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code. Killed (and an error) after ``timeout``."""
        if self._proc is None:
            raise RuntimeError("the controller was never started")
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"the controller ignored SIGTERM for {timeout}s:\n{self._tail()}") from None
        self._close_log()
        return int(self._proc.returncode)

    def kill(self) -> int:
        """SIGKILL (a crash) and wait; returns the exit code."""
        if self._proc is None:
            raise RuntimeError("the controller was never started")
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(15)
        self._close_log()
        return int(self._proc.returncode)

    def __enter__(self) -> ControllerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.kill()
        elif self.running:
            self.stop()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- addresses, service, output ------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The controller's HTTP API, directly (``/healthz``, ``/v1/cert.pem``, ...)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """The metrics endpoint's base URL (``/metrics``)."""
        return f"http://127.0.0.1:{self.metrics_port}"

    def expose(self, *, name: str = "sealed-secrets-controller", port_name: str = "") -> None:
        """Make the controller reachable through the API server's service proxy, as kubeseal expects."""
        self.cluster.expose_service(self.namespace, name, port_name, self.port)

    def log_text(self) -> str:
        """stdout and stderr of every run so far, in order."""
        if self._log_file is not None:
            self._log_file.flush()
        return "".join(log.read_text(encoding="utf-8", errors="replace") for log in self._logs if log.exists())

    def _tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
