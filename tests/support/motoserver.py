"""moto's server mode (``moto_server``) on 127.0.0.1 as the AWS endpoint for tests, the demo and the bench.

One process per pytest worker; ``reset()`` empties every service between tests. Clients reach it through
``AWS_ENDPOINT_URL`` (boto3 honours it, ``env()``) or ESO's per-service variables (``eso_env()``) with throwaway
static credentials; moto accepts any unless the server enforces IAM (``MotoServer(..., enforce_iam=True)``).
"""

from __future__ import annotations

import json
import os
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
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ADMIN_SETUP_CALLS = 3  # CreateUser, PutUserPolicy, CreateAccessKey


def moto_binary() -> str:
    """``moto_server`` next to this interpreter (the project venv), else on PATH."""
    local = Path(sys.executable).with_name("moto_server")
    found = str(local) if local.exists() else shutil.which("moto_server")
    if not found:
        raise RuntimeError("moto_server is missing: pip install 'moto[server]' (make test does)")
    return found


class MotoServer:
    """One moto server; a context manager."""

    def __init__(self, workdir: Path, *, port: int | None = None, enforce_iam: bool = False) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.enforce_iam = enforce_iam
        self._admin: tuple[str, str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        """Start (again after ``stop``, on the same port, empty) and wait until it answers."""
        self._admin = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"moto-{self.port}.log").open("ab")
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        if self.enforce_iam:
            # moto checks signatures and IAM policies after this many unchecked requests: ``admin_client`` spends
            # them creating an administrator whose keys then seed everything else.
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(ADMIN_SETUP_CALLS)
        self._proc = subprocess.Popen(
            [moto_binary(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
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

    def data(self) -> dict[str, Any]:
        """moto's view of its state (``/moto-api/data.json``): e.g. ``data()["sts"]["AssumedRole"]``."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10) as answer:
            found: dict[str, Any] = json.loads(answer.read())
        return found

    def env(self) -> dict[str, str]:
        """Environment for a process (the controller) that should talk to this server."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_EC2_METADATA_DISABLED": "true"}

    def eso_env(self) -> dict[str, str]:
        """The same through ESO's per-service endpoint variables only (no ``AWS_ENDPOINT_URL``)."""
        return {
            "AWS_SECRETSMANAGER_ENDPOINT": self.url,
            "AWS_SSM_ENDPOINT": self.url,
            "AWS_STS_ENDPOINT": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str, *, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
        """A boto3 client for ``service`` on this server (for seeding)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )

    def iam_user(self, name: str, policy: dict[str, Any] | None = None) -> tuple[str, str]:
        """Create an IAM user (with an inline ``policy``) and return its access key pair."""
        iam = self.admin_client("iam") if self.enforce_iam else self.client("iam")
        iam.create_user(UserName=name)
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def admin_client(self, service: str) -> Any:
        """On an IAM-enforcing server, a client for ``service`` signed by an administrator (made on first use)."""
        if self._admin is None:
            iam = self.client("iam")  # spends the server's unchecked requests
            iam.create_user(UserName="admin")
            iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ALLOW_ALL))
            key = iam.create_access_key(UserName="admin")["AccessKey"]
            self._admin = (str(key["AccessKeyId"]), str(key["SecretAccessKey"]))
        access, secret = self._admin
        return self.client(service, access_key=access, secret_key=secret)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
