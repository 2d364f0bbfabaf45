"""Nothing from a private key ever reaches the output: verdicts, errors, verbose logs, and refusals of private keys
given where public ones belong.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.integration.verify.conftest import GpgKeys, SshKeys
from tests.integration.verify.kit import Run, SignedRepo, verify

pytestmark = pytest.mark.timeout(300)


def _secret_forms(value: bytes) -> set[str]:
    """Ways a secret could be printed: hex, base64 (padded or not), as text."""
    b64 = base64.b64encode(value).decode()
    forms = {
        value.hex(),
        value.hex().upper(),
        b64,
        b64.rstrip("="),
        base64.urlsafe_b64encode(value).decode().rstrip("="),
    }
    return {form for form in forms if len(form) >= 16}


def _ssh_secrets(path: Path) -> set[str]:
    text = path.read_text()
    body = [line for line in text.splitlines() if line and not line.startswith("-----")]
    found = set(body) | {"OPENSSH PRIVATE KEY"}
    key = serialization.load_ssh_private_key(text.encode(), None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        found |= _secret_forms(key.private_bytes_raw())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        value = key.private_numbers().private_value
        found |= _secret_forms(value.to_bytes((value.bit_length() + 7) // 8, "big")) | {str(value)}
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        numbers = key.private_numbers()
        for value in (numbers.d, numbers.p, numbers.q):
            found |= _secret_forms(value.to_bytes((value.bit_length() + 7) // 8, "big")) | {str(value)}
    return found


def _gpg_secrets(keys: GpgKeys) -> set[str]:
    found = {"PRIVATE KEY BLOCK"}
    for armored in keys.secrets:
        lines = armored.decode().splitlines()
        found |= {line for line in lines if len(line) >= 32 and not line.startswith(("-----", "="))}
    for name in ("alice-sign", "bob"):
        secret = keys.kit.secret_key(keys.fpr[name])
        if isinstance(secret, ed25519.Ed25519PrivateKey):
            found |= _secret_forms(secret.private_bytes_raw())
        else:
            found |= _secret_forms(secret.private_numbers().d.to_bytes(256, "big").lstrip(b"\x00"))
    return found


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, gpg_keys: GpgKeys, ssh_keys: SshKeys, home: Path) -> list[Run]:
    tmp = tmp_path_factory.mktemp("verify-output")
    repo = SignedRepo(tmp / "repo", home=ssh_keys.kit.root / "home", gnupghome=gpg_keys.kit.home)
    fpr = gpg_keys.fpr
    root = repo.commit("root", gpg=fpr["alice"], branch="main")
    commits = {
        "gpg-good": repo.commit("a", parents=(root,), gpg=fpr["alice"]),
        "gpg-bad": repo.commit("b", parents=(root,), gpg=fpr["mallory"]),
        "gpg-rsa": repo.commit("c", parents=(root,), gpg=fpr["bob"], author="bob@example.com"),
        "ssh-good": repo.commit("d", parents=(root,), ssh=ssh_keys.keys["alice"]),
        "ssh-ecdsa": repo.commit("e", parents=(root,), ssh=ssh_keys.keys["ci"], author="ci@example.com"),
        "ssh-rsa": repo.commit("f", parents=(root,), ssh=ssh_keys.keys["rsa"], author="rsa@example.com"),
        "ssh-bad": repo.commit("g", parents=(root,), ssh=ssh_keys.keys["mallory"]),
        "unsigned": repo.commit("h", parents=(root,)),
    }
    secret_asc = tmp / "secret.asc"
    secret_asc.write_bytes(b"".join(gpg_keys.secrets))
    policy = tmp / "private.yaml"
    policy.write_text(
        "version: 1\nsigners:\n  - name: ci\n"
        f"    ssh: {{keys: [{ssh_keys.keys['ci']}]}}\n"
        "rules:\n  - repos: ['**']\n    mode: head\n    signers: [ci]\n"
    )
    inline = tmp / "inline.yaml"
    indented = "\n".join("      " + line for line in gpg_keys.secrets[0].decode().splitlines())
    inline.write_text(
        f"version: 1\nsigners:\n  - name: alice\n    openpgp:\n    - |\n{indented}\n"
        "rules:\n  - repos: ['**']\n    mode: head\n    signers: [alice]\n"
    )
    gpg = [*gpg_keys.flags("alice", "bob")]
    ssh = ["--allowed-signers", str(ssh_keys.allowed_signers)]
    runs: list[Run] = []
    for name, oid in commits.items():
        trust = ssh if name.startswith("ssh") else gpg
        runs.append(verify("commit", oid, "--repo", repo.path, *trust, "--no-cache", home=home))
        verbose = verify(
            "commit", oid, "--repo", repo.path, *trust, "--no-cache", home=home, verbose=True, json_format=False
        )
        runs.append(verbose)
    runs.append(verify("commit", "main", "--repo", repo.path, "--mode", "strict", *gpg, home=home, verbose=True))
    for flag, path in (
        ("--ssh-key", ssh_keys.keys["alice"]),
        ("--ssh-key", ssh_keys.keys["rsa"]),
        ("--allowed-signers", ssh_keys.keys["ci"]),
        ("--gpg-key", secret_asc),
    ):
        runs.append(verify("commit", root, "--repo", repo.path, flag, path, home=home, verbose=True))
    for path in (policy, inline):
        runs.append(verify("commit", root, "--repo", repo.path, "--policy", path, home=home, verbose=True))
    return runs


def test_runs_cover_verdicts_and_refusals(outputs: list[Run]) -> None:
    codes = [run.rc for run in outputs]
    assert codes.count(0) >= 10 and codes.count(1) >= 4
    refusals = outputs[-6:]
    assert all(run.rc == 2 for run in refusals), [run.stderr for run in refusals]
    assert all("private key" in run.stderr or "secret key" in run.stderr for run in refusals), [
        run.stderr for run in refusals
    ]


def test_no_private_key_material_in_any_output(outputs: list[Run], gpg_keys: GpgKeys, ssh_keys: SshKeys) -> None:
    secrets = _gpg_secrets(gpg_keys)
    for name in ("alice", "ci", "rsa", "mallory"):
        secrets |= _ssh_secrets(ssh_keys.keys[name])
    for run in outputs:
        text = run.stdout + run.stderr
        leaked = sorted(secret for secret in secrets if secret in text)
        assert not leaked, f"{run.args}: private key material in the output: {leaked[0][:12]}..."
