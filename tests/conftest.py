"""Shared fixtures: the kubeseal reference key and vectors, fast throwaway keys, a CLI runner."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitsecure.crypto.keys import KeyPair, dump_certificate, dump_private_key, generate_key_pair, load_private_key

FIXTURES = Path(__file__).parent / "fixtures"
KUBESEAL = FIXTURES / "kubeseal"
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def vectors() -> list[dict[str, Any]]:
    """The upstream-made kubeseal vectors."""
    return list(json.loads((KUBESEAL / "vectors.json").read_text()))


@pytest.fixture(scope="session")
def reference_key_pem() -> bytes:
    """The upstream controller's private key (PKCS#1 PEM)."""
    return (KUBESEAL / "tls.key").read_bytes()


@pytest.fixture(scope="session")
def reference_cert_pem() -> bytes:
    """The upstream controller's certificate."""
    return (KUBESEAL / "tls.crt").read_bytes()


@pytest.fixture(scope="session")
def reference_key(reference_key_pem: bytes) -> Any:
    """The upstream controller's private key, loaded."""
    return load_private_key(reference_key_pem)


@pytest.fixture(scope="session")
def small_pair() -> KeyPair:
    """A 2048-bit controller-shaped key pair: fast enough to make once per session."""
    return generate_key_pair(now=NOW - dt.timedelta(days=1), key_size=2048)


@pytest.fixture(scope="session")
def other_pair() -> KeyPair:
    """A second, unrelated 2048-bit key pair."""
    return generate_key_pair(now=NOW, key_size=2048)


@dataclass(frozen=True)
class KeyFiles:
    """A key pair written out as the CLI reads it."""

    key: Path
    cert: Path


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory, small_pair: KeyPair) -> KeyFiles:
    """``small_pair`` as PEM files."""
    directory = tmp_path_factory.mktemp("keys")
    key, cert = directory / "tls.key", directory / "tls.crt"
    key.write_bytes(dump_private_key(small_pair.private_key))
    cert.write_bytes(dump_certificate(small_pair.certificate))
    return KeyFiles(key, cert)


@dataclass(frozen=True)
class Result:
    """What a CLI run left behind."""

    returncode: int
    stdout: str
    stderr: str


Runner = Callable[..., Result]


@pytest.fixture
def gitsecure(tmp_path: Path) -> Runner:
    """Run ``gitsecure`` as a user would: a subprocess, with an isolated HOME and environment."""

    def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITSECURE_", "SEALED_SECRETS_")) and k != "KUBECONFIG"
        }
        environment["HOME"] = str(tmp_path)
        environment.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "gitsecure", *args],
            input=data if data is not None else b"",
            capture_output=True,
            env=environment,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        return Result(proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))

    return run
