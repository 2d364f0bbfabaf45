"""Key material for the ``gitsecure verify`` integration tests, made once per session with real gpg and ssh-keygen.

OpenPGP: two GnuPG homes. The *signing* home holds every key as its owner has it (gpg signs
with it through ``git commit-tree -S``). The *authority* home receives copies of Carol's and
Dave's secret keys and there Carol's key is given an expiry in the past and Dave's key is
revoked; the trusted key files are exported from it. So the owners' signatures are made now by
real gpg, and the verifier sees keys that had expired or been revoked before they were made.

SSH: one throwaway HOME for ssh-keygen; an allowed_signers file with principals, namespaces,
validity windows and a certificate authority; certificates from that CA and from a rogue one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.verify.kit import NOW, armor_public_key
from tests.support.gpgkit import REVOKE_COMPROMISED, GpgKit, strip_back_signatures
from tests.support.sshkit import SshKit

_QUICK = ("--batch", "--pinentry-mode", "loopback", "--passphrase", "")
T0 = NOW - dt.timedelta(days=30)


@dataclass
class GpgKeys:
    """Fingerprints by name, trusted public key files by name, and the signing home."""

    kit: GpgKit
    fpr: dict[str, str]
    files: dict[str, Path]
    secrets: list[bytes] = field(default_factory=list)  # armoured secret keys, for the leak test

    def flags(self, *names: str) -> list[str]:
        """``--gpg-key FILE`` for each named trusted key."""
        return [arg for name in names for arg in ("--gpg-key", str(self.files[name]))]


@pytest.fixture(scope="session")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKeys]:
    root = tmp_path_factory.mktemp("verify-gpg")
    kit = GpgKit(root / "signing")
    authority = GpgKit(root / "authority")
    fpr: dict[str, str] = {}
    # Alice: a certification-only primary and an ed25519 signing subkey (gpg picks the subkey to sign).
    fpr["alice"] = kit.gen_key("Alice <alice@example.com>", "ed25519", "cert")
    fpr["alice-sign"] = kit.add_key(fpr["alice"], "ed25519", "sign")
    fpr["bob"] = kit.gen_key("Bob <bob@example.com>", "rsa2048", "sign")
    fpr["release"] = kit.gen_key("Release <release@example.com>", "ed25519", "sign")
    fpr["webflow"] = kit.gen_key("GitHub <noreply@github.com>", "ed25519", "sign")
    fpr["mallory"] = kit.gen_key("Mallory <mallory@example.com>", "ed25519", "sign")
    # Eve is not trusted at all: her signing subkey belongs to an unknown primary.
    fpr["eve"] = kit.gen_key("Eve <eve@example.com>", "ed25519", "cert")
    fpr["eve-sign"] = kit.add_key(fpr["eve"], "ed25519", "sign")
    fpr["carol"] = kit.gen_key("Carol <carol@example.com>", "ed25519", "sign", at=T0)
    fpr["dave"] = kit.gen_key("Dave <dave@example.com>", "ed25519", "sign", at=T0)
    # Xavier's signing subkey reaches the verifier without its back-signature (not cross-certified).
    fpr["xavier"] = kit.gen_key("Xavier <xavier@example.com>", "ed25519", "cert")
    fpr["xavier-sign"] = kit.add_key(fpr["xavier"], "ed25519", "sign")
    for name in ("carol", "dave"):
        authority.gpg(*_QUICK, "--import", stdin=kit.gpg(*_QUICK, "--export-secret-keys", fpr[name]).stdout)
    # Carol's key expired 29 days ago; Dave's was revoked as compromised. Both still sign in the signing home.
    authority.set_expire(fpr["carol"], "1d", at=T0 + dt.timedelta(hours=1))
    authority.revoke(fpr["dave"], REVOKE_COMPROMISED, at=T0 + dt.timedelta(days=1))
    keys = root / "trusted"
    keys.mkdir()
    files: dict[str, Path] = {}
    for name in ("alice", "bob", "release", "webflow", "mallory"):
        files[name] = keys / f"{name}.asc"
        files[name].write_bytes(kit.export(fpr[name]))
    for name in ("carol", "dave"):
        files[name] = keys / f"{name}.asc"
        files[name].write_bytes(authority.export(fpr[name]))
    files["xavier"] = keys / "xavier.asc"
    files["xavier"].write_bytes(armor_public_key(strip_back_signatures(kit.export(fpr["xavier"], armor=False))))
    secrets = [kit.gpg(*_QUICK, "--armor", "--export-secret-keys", fpr[name]).stdout for name in ("alice", "bob")]
    yield GpgKeys(kit, fpr, files, secrets)
    authority.close()
    kit.close()


@dataclass
class SshKeys:
    """Private key paths by name, certificates by name, and the trusted allowed_signers file."""

    kit: SshKit
    keys: dict[str, Path]
    certs: dict[str, Path]
    allowed_signers: Path

    def pub(self, name: str) -> Path:
        """The ``.pub`` file of a named key."""
        return self.keys[name].with_name(self.keys[name].name + ".pub")


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> SshKeys:
    kit = SshKit(tmp_path_factory.mktemp("verify-ssh"))
    kinds = {"alice": "ed25519", "ci": "ecdsa256", "rsa": "rsa", "mallory": "ed25519", "old": "ed25519"}
    kinds |= {"future": "ed25519", "filer": "ed25519", "ca": "ed25519", "rogue-ca": "ed25519", "carl": "ed25519"}
    keys = {name: kit.keygen(kind) for name, kind in kinds.items()}
    certs = {
        "carl": kit.certify(keys["ca"], keys["carl"], principals="carl@example.com", identity="carl"),
        "carl-as-dora": kit.certify(keys["ca"], keys["carl"], principals="dora@example.com", identity="dora"),
        "carl-expired": kit.certify(
            keys["ca"], keys["carl"], principals="carl@example.com", validity="20200101:20200201"
        ),
        "carl-rogue": kit.certify(keys["rogue-ca"], keys["carl"], principals="carl@example.com", identity="rogue"),
    }
    lines = [
        f'alice@example.com namespaces="git" {kit.public(keys["alice"])}',
        f"ci@example.com {kit.public(keys['ci'])}",
        f"rsa@example.com {kit.public(keys['rsa'])}",
        f'old@example.com valid-before="20210101Z" {kit.public(keys["old"])}',
        f'future@example.com valid-after="20990101Z" {kit.public(keys["future"])}',
        f'filer@example.com namespaces="file" {kit.public(keys["filer"])}',
        f"*@example.com cert-authority {kit.public(keys['ca'])}",
    ]
    allowed = kit.root / "allowed_signers"
    allowed.write_text("# trusted SSH signers\n" + "\n".join(lines) + "\n")
    return SshKeys(kit, keys, certs, allowed)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty HOME (and cache) for the CLI runs of one module."""
    return tmp_path_factory.mktemp("verify-home")
