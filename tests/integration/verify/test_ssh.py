"""``gitsecure verify commit`` on SSH-signed commits: real ``git commit-tree -S`` with ``gpg.format=ssh``.

Trust is an allowed_signers file (``--allowed-signers``): principals, ``namespaces``,
``valid-after``/``valid-before`` and a ``cert-authority`` line for ``*@example.com``. The
committer email is the principal the line must allow, as git asks ssh-keygen. Signatures git
cannot make (another namespace, the SHA-1 ``ssh-rsa`` algorithm) are made with ssh-keygen or
built by hand and grafted into commit objects written with ``git hash-object``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.verify.conftest import GpgKeys, SshKeys
from tests.integration.verify.kit import (
    Run,
    SignedRepo,
    assert_rejected,
    assert_trusted,
    graft,
    signature_of,
    unsigned,
    verify,
)
from tests.support.sshkit import forge_sshsig, public_blob, raw_sign

pytestmark = pytest.mark.timeout(300)


@dataclass
class World:
    """The repository and its commits by case name."""

    repo: SignedRepo
    oid: dict[str, str]
    keys: SshKeys
    home: Path

    def verify(self, name: str, *trust: str) -> Run:
        flags = trust or ("--allowed-signers", str(self.keys.allowed_signers))
        return verify("commit", self.oid[name], "--repo", self.repo.path, *flags, "--no-cache", home=self.home)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, ssh_keys: SshKeys, gpg_keys: GpgKeys, home: Path) -> World:
    tmp = tmp_path_factory.mktemp("verify-ssh-repo")
    repo = SignedRepo(tmp / "repo", home=ssh_keys.kit.root / "home", gnupghome=gpg_keys.kit.home)
    keys, certs = ssh_keys.keys, ssh_keys.certs
    oid = {"root": repo.commit("root")}

    def child(name: str, who: str, ssh: Path | None) -> str:
        oid[name] = repo.commit(name, parents=(oid["root"],), ssh=ssh, author=who)
        return oid[name]

    child("alice", "alice@example.com", keys["alice"])
    child("ci-ecdsa", "ci@example.com", keys["ci"])
    child("rsa-sha512", "rsa@example.com", keys["rsa"])
    child("carl-cert", "carl@example.com", certs["carl"])
    child("mallory", "alice@example.com", keys["mallory"])
    child("alice-for-mallory", "mallory@example.com", keys["alice"])
    child("old-key", "old@example.com", keys["old"])
    child("future-key", "future@example.com", keys["future"])
    child("filer-in-git", "filer@example.com", keys["filer"])
    child("rogue-ca", "carl@example.com", certs["carl-rogue"])
    child("cert-principal-mismatch", "carl@example.com", certs["carl-as-dora"])
    child("cert-expired", "carl@example.com", certs["carl-expired"])
    # The payload of an unsigned commit claiming alice, signed outside git and grafted in.
    payload = unsigned(repo.raw(child("target", "alice@example.com", None)))
    oid["file-namespace"] = repo.write(graft(payload, ssh_keys.kit.sign(keys["alice"], payload, namespace="file")))
    oid["copied"] = repo.write(graft(payload, signature_of(repo.raw(oid["alice"]))))
    good = repo.raw(oid["alice"])
    oid["tampered"] = repo.write(good.replace(b"\n\nalice\n", b"\n\nalice, edited\n"))
    # ssh-keygen signs RSA with rsa-sha2-512 only; the SHA-1 "ssh-rsa" signature is built with the same key.
    rsa_payload = unsigned(repo.raw(child("rsa-target", "rsa@example.com", None)))
    private = serialization.load_ssh_private_key(keys["rsa"].read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    sha1 = forge_sshsig(
        public_blob(private.public_key()), lambda data: raw_sign(private, data, rsa_algorithm="ssh-rsa"), rsa_payload
    )
    oid["ssh-rsa-sha1"] = repo.write(graft(rsa_payload, sha1))
    sha2 = forge_sshsig(public_blob(private.public_key()), lambda data: raw_sign(private, data), rsa_payload)
    oid["rsa-sha2-forged"] = repo.write(graft(rsa_payload, sha2))  # the control: same bytes, SHA-2
    return World(repo, oid, ssh_keys, home)


# -- accepted -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["alice", "ci-ecdsa", "rsa-sha512", "rsa-sha2-forged"])
def test_allowed_signers_with_principals(world: World, case: str) -> None:
    run = world.verify(case)
    assert_trusted(run)
    check = run.check(world.oid[case])
    assert check["signer"] == "allowed-signers" and check["format"] == "ssh"
    assert check["key"].startswith("SHA256:")


def test_certificate_from_a_trusted_ca(world: World) -> None:
    run = world.verify("carl-cert")
    assert_trusted(run)
    assert run.check(world.oid["carl-cert"])["signer"] == "allowed-signers"


def test_plain_ssh_key_signs_for_any_principal(world: World) -> None:
    run = world.verify("alice-for-mallory", "--ssh-key", str(world.keys.pub("alice")))
    assert_trusted(run)
    assert run.check(world.oid["alice-for-mallory"])["signer"] == "ssh-key"


# -- rejected -----------------------------------------------------------------------------------------------------

CASES = {
    "mallory": "untrusted key",
    "alice-for-mallory": "principal not allowed",
    "old-key": "key expired",  # valid-before 2021, committed now
    "future-key": "key not yet valid",  # valid-after 2099
    "filer-in-git": "namespace not allowed for key",  # namespaces="file" on the line
    "file-namespace": "wrong namespace",  # a `-n file` signature grafted into a commit
    "rogue-ca": "untrusted certificate authority",
    "cert-principal-mismatch": "certificate principal mismatch",
    "cert-expired": "certificate expired",
    "copied": "bad signature",
    "tampered": "bad signature",
    "ssh-rsa-sha1": "bad signature",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejected(world: World, case: str) -> None:
    run = world.verify(case)
    assert_rejected(run, CASES[case], oid=world.oid[case])
    assert run.check(world.oid[case])["format"] == "ssh"


def test_untrusted_ssh_key_with_ssh_key_flag(world: World) -> None:
    run = world.verify("mallory", "--ssh-key", str(world.keys.pub("alice")))
    assert_rejected(run, "untrusted key", oid=world.oid["mallory"])


# -- SSH-signed tags (the tagger email is the principal) -------------------------------------------------------------


def test_ssh_signed_tags(world: World) -> None:
    keys = world.keys.keys
    good = world.repo.tag("ssh-v1", world.oid["alice"], ssh=keys["alice"])
    bad = world.repo.tag("ssh-v2", world.oid["alice"], ssh=keys["alice"], tagger="mallory@example.com")
    flags = ("--allowed-signers", str(world.keys.allowed_signers), "--no-cache")
    run = verify("tag", "ssh-v1", "--repo", world.repo.path, "--mode", "tag-and-head", *flags, home=world.home)
    assert_trusted(run)
    assert run.check(good, "tag")["format"] == "ssh"
    run = verify("tag", "ssh-v2", "--repo", world.repo.path, *flags, home=world.home)
    assert_rejected(run, "principal not allowed", oid=bad, kind="tag")


# -- a SHA-256 repository: gpgsig-sha256 headers, OpenPGP and SSH in one strict range ---------------------------------


@pytest.fixture(scope="module")
def sha256(
    tmp_path_factory: pytest.TempPathFactory, ssh_keys: SshKeys, gpg_keys: GpgKeys
) -> tuple[SignedRepo, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("verify-sha256")
    repo = SignedRepo(
        tmp / "repo", home=ssh_keys.kit.root / "home", gnupghome=gpg_keys.kit.home, object_format="sha256"
    )
    o = {"root": repo.commit("root", ssh=ssh_keys.keys["alice"])}
    o["gpg"] = repo.commit("gpg", parents=(o["root"],), gpg=gpg_keys.fpr["alice"])
    o["tip"] = repo.commit("tip", parents=(o["gpg"],), ssh=ssh_keys.keys["ci"], author="ci@example.com", branch="good")
    o["gap"] = repo.commit("gap", parents=(o["tip"],))
    o["after-gap"] = repo.commit("after", parents=(o["gap"],), ssh=ssh_keys.keys["alice"], branch="gap")
    assert b"\ngpgsig-sha256 -----BEGIN SSH SIGNATURE-----" in repo.raw(o["tip"])
    return repo, o


def _both(world: World, gpg_keys: GpgKeys) -> list[str]:
    return ["--allowed-signers", str(world.keys.allowed_signers), *gpg_keys.flags("alice"), "--no-cache"]


def test_sha256_strict_range_with_openpgp_and_ssh(
    sha256: tuple[SignedRepo, dict[str, str]], world: World, gpg_keys: GpgKeys
) -> None:
    repo, o = sha256
    run = verify("commit", "good", "--repo", repo.path, "--mode", "strict", *_both(world, gpg_keys), home=world.home)
    assert_trusted(run)
    assert run.checked() == [o["tip"], o["gpg"], o["root"]]
    assert [c["signer"] for c in run.verdict["checks"]] == ["allowed-signers", "gpg-key", "allowed-signers"]
    assert len(o["tip"]) == 64


def test_sha256_unsigned_in_the_middle(
    sha256: tuple[SignedRepo, dict[str, str]], world: World, gpg_keys: GpgKeys
) -> None:
    repo, o = sha256
    run = verify("commit", "gap", "--repo", repo.path, "--mode", "strict", *_both(world, gpg_keys), home=world.home)
    assert_rejected(run, "unsigned", oid=o["gap"])
