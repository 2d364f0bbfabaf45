"""moto's server mode (``moto_server``) on 127.0.0.1 as the AWS endpoint for tests, the demo and the bench.

One process per pytest worker; ``reset()`` empties every service between tests. Clients reach it through
``AWS_ENDPOINT_URL`` (boto3 honours it) with throwaway static credentials; moto accepts any.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from tests.support.kube.controller_proc import free_port

REGION = "eu-central-1"
ACCESS_KEY, SECRET_KEY = "AKIDTESTINGONLY0000", "moto-test-secret-key-not-real"


def moto_binary() -> str:
    """``moto_server`` next to this interpreter (the project venv), else on PATH."""
    local = Path(sys.executable).with_name("moto_server")
    found = str(local) if local.exists() else shutil.which("moto_server")
    if not found:
        raise RuntimeError("moto_server is missing: pip install 'moto[server]' (make test does)")
    return found


class MotoServer:
    """One moto server; a context manager."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        """Start (again after ``stop``, on the same port, empty) and wait until it answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"moto-{self.port}.log").open("ab")
        self._proc = subprocess.Popen(
            [moto_binary(), "-H", "127.0.0.1", "-p", str(self.port)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._proc.returncode}: see {self.workdir}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    return self
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not answer within 60 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Terminate and wait."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None

    def reset(self) -> None:
        """Forget every secret, parameter and tag."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    def env(self) -> dict[str, str]:
        """Environment for a process (the controller) that should talk to this server."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this server (for seeding)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
