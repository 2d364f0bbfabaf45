"""``gitsecure verify commit`` on OpenPGP-signed commits made by real ``git commit-tree -S`` and gpg.

Trust comes from the quick flag ``--gpg-key``: Alice (signing subkey), Bob (RSA), and the keys
that must not pass although they are listed: Carol's (expired before she signed), Dave's
(revoked as compromised) and Xavier's (signing subkey without a back-signature).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.verify.conftest import GpgKeys
from tests.integration.verify.kit import (
    NOW,
    Run,
    SignedRepo,
    assert_rejected,
    assert_trusted,
    graft,
    signature_of,
    unsigned,
    verify,
)
from tests.support.gpgkit import forge_signature

pytestmark = pytest.mark.timeout(300)

TRUSTED = ("alice", "bob", "carol", "dave", "xavier")


@dataclass
class World:
    """The repository and its commits by case name."""

    repo: SignedRepo
    oid: dict[str, str]
    keys: GpgKeys
    home: Path

    def verify(self, name: str, *extra: str) -> Run:
        return verify(
            "commit", self.oid[name], "--repo", self.repo.path, *self.keys.flags(*TRUSTED), "--no-cache", *extra,
            home=self.home,
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, gpg_keys: GpgKeys, home: Path) -> World:
    tmp = tmp_path_factory.mktemp("verify-openpgp")
    repo = SignedRepo(tmp / "repo", home=tmp / "home", gnupghome=gpg_keys.kit.home)
    fpr, kit = gpg_keys.fpr, gpg_keys.kit
    oid = {"root": repo.commit("root", gpg=fpr["alice"])}

    def child(name: str, gpg: str | None = None, author: str = "alice@example.com") -> str:
        oid[name] = repo.commit(name, parents=(oid["root"],), gpg=gpg, author=author)
        return oid[name]

    child("alice-subkey", gpg=fpr["alice"])
    child("bob-rsa", gpg=fpr["bob"], author="bob@example.com")
    child("unsigned")
    child("mallory", gpg=fpr["mallory"], author="mallory@example.com")
    child("eve-subkey", gpg=fpr["eve"], author="eve@example.com")
    child("carol-expired", gpg=fpr["carol"], author="carol@example.com")
    child("dave-revoked", gpg=fpr["dave"], author="dave@example.com")
    child("xavier-no-backsig", gpg=fpr["xavier"], author="xavier@example.com")
    good = repo.raw(oid["alice-subkey"])
    # Signatures gpg makes over bytes we choose, grafted into commit objects written with hash-object.
    payload = unsigned(repo.raw(child("target")))
    sha1 = kit.sign(payload, fpr["bob"], digest="SHA1")
    oid["sha1"] = repo.write(graft(payload, sha1))
    early = NOW - dt.timedelta(days=2)  # before Alice's subkey existed
    forged = forge_signature(kit.secret_key(fpr["alice-sign"]), payload, issuer=fpr["alice-sign"], created=early)
    oid["predates-key"] = repo.write(graft(payload, forged.armored))
    # Alice's primary key may only certify; a signature it makes (gpg would not) must not count.
    certifier = forge_signature(kit.secret_key(fpr["alice"]), payload, issuer=fpr["alice"], created=NOW)
    oid["certify-only-primary"] = repo.write(graft(payload, certifier.armored))
    oid["copied"] = repo.write(graft(payload, signature_of(good)))
    oid["tampered"] = repo.write(good.replace(b"\n\nalice-subkey\n", b"\n\nalice-subkey, then edited\n"))
    armour = b"-----BEGIN PGP SIGNATURE-----\n\nbm90IGFuIE9wZW5QR1AgcGFja2V0\n=AAAA\n-----END PGP SIGNATURE-----\n"
    oid["malformed-armour"] = repo.write(graft(payload, armour))
    oid["truncated-armour"] = repo.write(graft(payload, signature_of(good)[:-40]))
    oid["unknown-format"] = repo.write(
        graft(payload, b"-----BEGIN FOO SIGNATURE-----\n\nZm9v\n-----END FOO SIGNATURE-----\n")
    )
    return World(repo, oid, gpg_keys, home)


# -- accepted -----------------------------------------------------------------------------------------------------


def test_signing_subkey_counts_for_its_primary(world: World) -> None:
    run = world.verify("alice-subkey")
    verdict = assert_trusted(run)
    assert verdict["mode"] == "head" and verdict["revision"] == world.oid["alice-subkey"]
    check = run.check(world.oid["alice-subkey"])
    assert check == {
        "oid": world.oid["alice-subkey"],
        "kind": "commit",
        "signer": "gpg-key",
        "key": world.keys.fpr["alice"],  # the primary's full fingerprint, not the subkey's
        "format": "openpgp",
        "problems": [],
    }


def test_rsa_key(world: World) -> None:
    run = world.verify("bob-rsa")
    assert_trusted(run)
    assert run.check(world.oid["bob-rsa"])["key"] == world.keys.fpr["bob"]


def test_text_format_names_the_signer(world: World) -> None:
    run = verify(
        "commit", world.oid["alice-subkey"], "--repo", world.repo.path, *world.keys.flags("alice"), "--no-cache",
        home=world.home, json_format=False,
    )  # fmt: skip
    assert run.rc == 0, run.stderr
    assert "trusted: " in run.stdout and world.keys.fpr["alice"] in run.stdout


# -- rejected -----------------------------------------------------------------------------------------------------

CASES = {
    "unsigned": "unsigned",
    "mallory": "untrusted key",
    "eve-subkey": "untrusted key",  # a signing subkey of a primary the policy does not list
    "carol-expired": "key expired",
    "dave-revoked": "key revoked",
    "xavier-no-backsig": "subkey not cross-certified",
    "sha1": "weak hash algorithm",
    "predates-key": "signature predates key",
    "certify-only-primary": "key cannot sign",
    "copied": "bad signature",
    "tampered": "bad signature",
    "malformed-armour": "malformed signature",
    "truncated-armour": "malformed signature",
    "unknown-format": "unknown signature format",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejected(world: World, case: str) -> None:
    run = world.verify(case)
    verdict = assert_rejected(run, CASES[case], oid=world.oid[case])
    assert verdict["mode"] == "head"
    assert len(verdict["checks"]) == 1


def test_untrusted_signer_is_named_by_fingerprint(world: World) -> None:
    run = world.verify("mallory")
    check = run.check(world.oid["mallory"])
    assert check["signer"] is None and check["format"] == "openpgp"


def test_expired_key_is_attributed_to_the_listed_signer(world: World) -> None:
    run = world.verify("carol-expired")
    check = run.check(world.oid["carol-expired"])
    assert check["key"] == world.keys.fpr["carol"]
    assert check["problems"] == ["key expired"]
