"""``gitsecure verify commit`` on gitsign (Sigstore keyless X.509) commits, verified offline.

The commits are sigstore's public test data (tests/fixtures/gitsign/README.md): written into a
repository with ``git hash-object -t commit -w --literally``, because their trees and parents
are not in it. Head mode reads only the commit object itself (``git cat-file``), so such a
repository is enough; strict mode would need the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.verify.conftest import GpgKeys
from tests.integration.verify.kit import Run, SignedRepo, assert_error, assert_rejected, assert_trusted, verify

pytestmark = pytest.mark.timeout(300)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "gitsign"
SUBJECT, ISSUER = "billy@chainguard.dev", "https://accounts.google.com"
EXACT = f"{{issuer: '{ISSUER}', subject: '{SUBJECT}'}}"
OTHER_SUBJECT = f"{{issuer: '{ISSUER}', subject: 'someone@chainguard.dev'}}"
OTHER_ISSUER = f"{{issuer: 'https://github.com/login/oauth', subject: '{SUBJECT}'}}"
ONLINE = "no embedded transparency log entry (online-mode gitsign signature)"
REJECTED = {
    "wrong-identity": ("offline", OTHER_SUBJECT, "certificate identity not allowed"),
    "wrong-issuer": ("offline", OTHER_ISSUER, "certificate issuer not allowed"),
    "online-mode": ("online", EXACT, ONLINE),
    "tampered": ("tampered", EXACT, "content digest mismatch"),
}


@dataclass
class World:
    """The repository with the gitsign commits, and a directory for policies."""

    repo: SignedRepo
    oid: dict[str, str]
    keys: GpgKeys
    home: Path
    policies: Path

    def policy(self, name: str, identity: str) -> Path:
        """A policy trusting one keyless identity (YAML flow mapping) against the fixture trusted root."""
        path = self.policies / f"{name}.yaml"
        path.write_text(
            "version: 1\n"
            "signers:\n"
            "  - name: release\n"
            f"    keyless: {identity}\n"
            f"    trusted_root: {FIXTURES / 'trusted_root.json'}\n"
            "rules:\n"
            "  - repos: ['**']\n"
            "    mode: head\n"
            "    signers: [release]\n"
        )
        return path

    def verify(self, name: str, policy: Path) -> Run:
        return verify(
            "commit", self.oid[name], "--repo", self.repo.path, "--policy", policy, "--no-cache", home=self.home
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, gpg_keys: GpgKeys, home: Path) -> World:
    tmp = tmp_path_factory.mktemp("verify-gitsign")
    repo = SignedRepo(tmp / "repo", home=tmp / "home", gnupghome=gpg_keys.kit.home)
    offline = (FIXTURES / "offline.commit").read_bytes()
    oid = {
        "offline": repo.write(offline, literally=True),
        "online": repo.write((FIXTURES / "online.commit").read_bytes(), literally=True),
        # Same signature, other bytes: the author's name edited.
        "tampered": repo.write(offline.replace(b"author Billy Lynch", b"author Billy Lunch", 1), literally=True),
    }
    assert oid["tampered"] != oid["offline"]
    policies = tmp / "policies"
    policies.mkdir()
    return World(repo, oid, gpg_keys, home, policies)


def test_offline_commit_exact_identity(world: World) -> None:
    policy = world.policy("exact", EXACT)
    run = world.verify("offline", policy)
    assert_trusted(run)
    check = run.check(world.oid["offline"])
    assert check["signer"] == "release" and check["format"] == "x509"
    assert SUBJECT in check["key"] and ISSUER in check["key"]


def test_offline_commit_regexp_identity(world: World) -> None:
    policy = world.policy(
        "regexp", "{issuer_regexp: 'https://accounts\\.google\\.com', subject_regexp: '.*@chainguard\\.dev'}"
    )
    assert_trusted(world.verify("offline", policy))


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected(world: World, name: str) -> None:
    case, identity, problem = REJECTED[name]
    policy = world.policy(f"rejected-{name}", identity)
    run = world.verify(case, policy)
    assert_rejected(run, problem, oid=world.oid[case])
    assert run.check(world.oid[case])["format"] == "x509"


def test_x509_signature_without_a_keyless_signer(world: World) -> None:
    run = verify(
        "commit", world.oid["offline"], "--repo", world.repo.path, *world.keys.flags("alice"), "--no-cache",
        home=world.home,
    )  # fmt: skip
    assert_rejected(run, "untrusted certificate (the policy has no keyless signer)", oid=world.oid["offline"])


def test_strict_mode_needs_the_history(world: World) -> None:
    # The fixture commit's parent is not in the repository: the walk fails, a configuration error (exit 2).
    policy = world.policy("strict", EXACT)
    run = verify(
        "commit", world.oid["offline"], "--repo", world.repo.path, "--policy", policy, "--mode", "strict",
        "--no-cache", home=world.home,
    )  # fmt: skip
    assert_error(run, "rev-list")


def test_unused_trusted_root_is_an_error(world: World) -> None:
    path = world.policies / "unused-root.yaml"
    path.write_text(
        "version: 1\nsigners:\n  - name: alice\n"
        f"    openpgp: [{world.keys.files['alice']}]\n"
        f"    trusted_root: {FIXTURES / 'trusted_root.json'}\n"
        "rules:\n  - repos: ['**']\n    mode: head\n    signers: [alice]\n"
    )
    assert_error(world.verify("offline", path), "no keyless identity of this signer uses it")
