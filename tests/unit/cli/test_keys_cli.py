"""``gitsecure keys``: controller key Secrets and their certificates."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from gitsecure.cli.options import parse_duration, positive_duration, timeout_seconds
from gitsecure.crypto.keys import load_private_key
from gitsecure.errors import UsageError
from tests.conftest import KUBESEAL, KeyFiles, Runner

SECRET = "kind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: pw-plaintext}\n"


def test_generate_prints_a_controller_key_secret(gitsecure: Runner) -> None:
    result = gitsecure("keys", "generate", "--key-size", "2048", "-n", "sealed")
    assert result.returncode == 0, result.stderr
    secret = yaml.safe_load(result.stdout.removeprefix("---\n"))
    assert secret["kind"] == "Secret" and secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["namespace"] == "sealed"
    assert secret["metadata"]["labels"] == {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}
    assert secret["metadata"]["name"].startswith("sealed-secrets-key") and len(secret["metadata"]["name"]) == 23
    key = load_private_key(base64.b64decode(secret["data"]["tls.key"]))
    assert base64.b64decode(secret["data"]["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert "SHA256:" in result.stderr


def test_generated_key_seals_and_recovers_end_to_end(gitsecure: Runner, tmp_path: Path) -> None:
    key_file, cert_file = tmp_path / "key.yaml", tmp_path / "cert.pem"
    result = gitsecure("keys", "generate", "--key-size", "2048", "-w", str(key_file), "--cert-out", str(cert_file))
    assert result.returncode == 0 and result.stdout == ""
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = gitsecure("seal", "--cert", str(cert_file), input=SECRET).stdout
    opened = gitsecure("seal", "--recovery-unseal", "--recovery-private-key", str(key_file), input=sealed)
    assert opened.returncode == 0, opened.stderr
    assert base64.b64decode(json.loads(opened.stdout)["data"]["password"]) == b"pw-plaintext"


def test_default_key_is_rsa_4096_with_ten_year_certificate(gitsecure: Runner) -> None:
    secret = yaml.safe_load(gitsecure("keys", "generate", "-o", "json").stdout)
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    assert cert.public_key().key_size == 4096
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3650


def test_cert_of_a_key_secret_and_of_a_bare_key(gitsecure: Runner, key_files: KeyFiles) -> None:
    generated = gitsecure("keys", "generate", "--key-size", "2048").stdout
    secret = yaml.safe_load(generated.removeprefix("---\n"))
    result = gitsecure("keys", "cert", input=generated)
    assert result.returncode == 0
    assert result.stdout.encode() == base64.b64decode(secret["data"]["tls.crt"])
    # The upstream fixture: the key file plus its certificate next to it.
    pem = (KUBESEAL / "tls.key").read_bytes() + (KUBESEAL / "tls.crt").read_bytes()
    assert gitsecure("keys", "cert", input=pem).stdout == (KUBESEAL / "tls.crt").read_text()
    # A bare key: a fresh controller-shaped certificate is made for it.
    bare = gitsecure("keys", "cert", "-f", str(key_files.key))
    cert = x509.load_pem_x509_certificate(bare.stdout.encode())
    key = load_private_key(key_files.key.read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--key-size", "1024"], "too small"),
        (["generate", "--key-ttl", "10d"], "invalid duration"),
        (["generate", "--key-ttl", "0h"], "must be positive"),
        (["generate", "--key-prefix", "Bad_Prefix"], "--key-prefix must match"),
        (["cert", "-f", "/nonexistent"], "cannot read /nonexistent"),
        ([], "choose an action"),
    ],
)
def test_bad_keys_input(gitsecure: Runner, args: list[str], message: str) -> None:
    result = gitsecure("keys", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr


def test_durations() -> None:
    assert parse_duration("87600h").days == 3650
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("250ms").total_seconds() == 0.25
    assert parse_duration("30").total_seconds() == 30
    assert timeout_seconds("0") is None
    assert timeout_seconds("1m") == 60
    for bad in ("", "3d", "1h-", "h"):
        with pytest.raises(UsageError):
            parse_duration(bad)
    for bad in ("-1h", "0h"):
        with pytest.raises(UsageError):
            positive_duration(bad)


def test_keys_flags_read_their_own_environment_variables(gitsecure: Runner) -> None:
    env = {"GITSECURE_NAMESPACE": "meant-for-seal", "GITSECURE_KEYS_NAMESPACE": "controller-ns"}
    result = gitsecure("keys", "generate", "--key-size", "2048", env=env)
    assert yaml.safe_load(result.stdout.removeprefix("---\n"))["metadata"]["namespace"] == "controller-ns"
