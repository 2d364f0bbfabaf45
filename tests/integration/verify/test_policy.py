"""Policy files: emails per signer (the web-UI key), rules per repository and branch, k of n, required signers,
fail-closed configuration errors (exit 2), and the cache keyed by policy hash.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.verify.conftest import GpgKeys, SshKeys
from tests.integration.verify.kit import Run, SignedRepo, assert_error, assert_rejected, assert_trusted, verify

pytestmark = pytest.mark.timeout(300)

POLICY = """\
version: 1
signers:
  - name: alice
    openpgp: [keys/alice.asc]
    emails: [alice@example.com]
  - name: release
    openpgp: [keys/release.asc]
  - name: web-ui          # the platform's key: signs for the listed people only
    openpgp: [keys/webflow.asc]
    emails: [noreply@github.com, alice@example.com]
  - name: bob
    openpgp: [keys/bob.asc]
rules:
  - repos: ["**"]
    branches: [main]
    mode: head
    signers: [alice, web-ui]
  - repos: ["**"]
    branches: ["release/*"]
    mode: tag-and-head
    signers: [alice, release]
    threshold: 2
  - repos: ["**"]
    branches: ["hotfix/*"]
    mode: head
    signers: [alice, release]
    require: [release]
  - repos: ["**"]
    branches: [dev]
    mode: head
    signers: [bob]
"""


@dataclass
class World:
    """The repository, its commits and tags, the policy directory (with keys/) and the main policy."""

    repo: SignedRepo
    oid: dict[str, str]
    keys: GpgKeys
    home: Path
    dir: Path
    policy: Path

    def write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        return path

    def verify(self, rev: str, *extra: str | Path, policy: Path | None = None, branch: str | None = "main") -> Run:
        where = ["--branch", branch] if branch else []
        return verify(
            "commit", self.oid.get(rev, rev), "--repo", self.repo.path, "--policy", policy or self.policy, *where,
            "--no-cache", *extra, home=self.home,
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, gpg_keys: GpgKeys, home: Path) -> World:
    tmp = tmp_path_factory.mktemp("verify-policy")
    repo = SignedRepo(tmp / "repo", home=tmp / "home", gnupghome=gpg_keys.kit.home)
    fpr = gpg_keys.fpr
    o = {"root": repo.commit("root", gpg=fpr["alice"])}
    # The platform's web-flow key signs, the platform is the committer, the author is whoever clicked.
    for name, author in (("web-alice", "alice@example.com"), ("web-outsider", "eve@evil.test")):
        o[name] = repo.commit(
            name, parents=(o["root"],), gpg=fpr["webflow"], author=author, committer="noreply@github.com"
        )
    o["alice"] = repo.commit("alice", parents=(o["root"],), gpg=fpr["alice"])
    o["alice-for-carol"] = repo.commit("rebased", parents=(o["root"],), gpg=fpr["alice"], committer="carol@example.com")
    o["bob"] = repo.commit("bob", parents=(o["root"],), gpg=fpr["bob"], author="bob@example.com")
    o["release"] = repo.commit("hotfix", parents=(o["root"],), gpg=fpr["release"], author="release@example.com")
    o["r1-alice"] = repo.tag("r1-alice", o["alice"], gpg=fpr["alice"])
    o["r1"] = repo.tag("r1", o["alice"], gpg=fpr["release"], tagger="release@example.com")
    o["r1-carol"] = repo.tag("r1-carol", o["alice"], gpg=fpr["alice"], tagger="carol@example.com")
    directory = tmp / "policy"
    (directory / "keys").mkdir(parents=True)
    for name in ("alice", "release", "webflow", "bob"):
        shutil.copy(gpg_keys.files[name], directory / "keys" / f"{name}.asc")
    policy = directory / "policy.yaml"
    policy.write_text(POLICY)
    return World(repo, o, gpg_keys, home, directory, policy)


# -- accepted -----------------------------------------------------------------------------------------------------


def test_web_ui_commit_for_a_listed_author(world: World) -> None:
    run = world.verify("web-alice")
    verdict = assert_trusted(run)
    assert run.check(world.oid["web-alice"])["signer"] == "web-ui"
    assert verdict["policy_hash"] == world.verify("alice").verdict["policy_hash"]


def test_rule_mode_applies_without_mode_flag(world: World) -> None:
    run = world.verify("r1", branch="release/1")
    verdict = assert_trusted(run)
    assert verdict["mode"] == "tag-and-head"
    assert {check["signer"] for check in verdict["checks"]} == {"alice", "release"}  # two distinct signers


def test_required_signer_present(world: World) -> None:
    assert_trusted(world.verify("release", branch="hotfix/1"))


def test_policy_hash_changes_with_a_rule(world: World) -> None:
    changed = world.write(
        "changed.yaml", POLICY.replace("mode: head\n    signers: [bob]", "mode: strict\n    signers: [bob]")
    )
    assert world.verify("alice").verdict["policy_hash"] != world.verify("alice", policy=changed).verdict["policy_hash"]


def test_repository_rules_with_negation(world: World) -> None:
    policy = world.write(
        "repos.yaml",
        "version: 1\nsigners:\n  - name: alice\n    openpgp: [keys/alice.asc]\n"
        "rules:\n  - repos: ['github.com/acme/*', '!github.com/acme/sandbox']\n    mode: head\n    signers: [alice]\n",
    )
    run = world.verify("alice", "--repo-url", "git@github.com:Acme/App.git", policy=policy, branch=None)
    assert_trusted(run)
    sandbox = world.verify("alice", "--repo-url", "https://github.com/acme/sandbox", policy=policy, branch=None)
    assert_error(sandbox, "no rule matches repository 'github.com/acme/sandbox'")


# -- rejected -----------------------------------------------------------------------------------------------------


def test_web_ui_key_does_not_make_its_author_trusted(world: World) -> None:
    run = world.verify("web-outsider")
    assert_rejected(
        run, "author email 'eve@evil.test' is not one signer web-ui may sign for", oid=world.oid["web-outsider"]
    )


def test_signer_may_not_sign_for_another_committer(world: World) -> None:
    problem = "committer email 'carol@example.com' is not one signer alice may sign for"
    assert_rejected(world.verify("alice-for-carol"), problem, oid=world.oid["alice-for-carol"])


def test_signer_not_trusted_by_the_rule(world: World) -> None:
    assert_rejected(world.verify("bob"), "signer bob is not trusted by rules[0]", oid=world.oid["bob"])


def test_k_of_n_threshold_not_met(world: World) -> None:
    run = world.verify("r1-alice", branch="release/1")
    assert_rejected(run, "rules[1] needs 2 distinct signers of 2, got alice")
    assert all(check["problems"] == [] for check in run.verdict["checks"])  # each signature is fine on its own


def test_tagger_email_the_signer_may_not_sign_for(world: World) -> None:
    run = world.verify("r1-carol", branch="release/1")
    problem = "tagger email 'carol@example.com' is not one signer alice may sign for"
    assert_rejected(run, problem, oid=world.oid["r1-carol"], kind="tag")


def test_required_signer_missing(world: World) -> None:
    assert_rejected(world.verify("alice", branch="hotfix/1"), "required signer release did not sign")


def test_cache_does_not_outlive_a_policy_change(world: World, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ("commit", world.oid["alice"], "--repo", world.repo.path, "--cache-dir", cache)
    assert_trusted(verify(*args, *world.keys.flags("alice"), home=world.home))
    assert any(cache.rglob("*")), "the first run wrote no cache"
    assert_trusted(verify(*args, *world.keys.flags("alice"), home=world.home))  # from the cache
    rejected = verify(*args, *world.keys.flags("bob"), home=world.home)
    assert_rejected(rejected, "untrusted key", oid=world.oid["alice"])


# -- configuration errors: exit 2, never a pass -------------------------------------------------------------------


def test_ambiguous_policy(world: World) -> None:
    policy = world.write("ambiguous.yaml", POLICY.replace("branches: [dev]", "branches: ['**']"))
    assert_error(world.verify("alice", policy=policy), "ambiguous: rules[0] and rules[3] both match")


def test_no_rule_for_the_branch(world: World) -> None:
    assert_error(world.verify("alice", branch="feature/x"), "no rule matches")


@pytest.mark.parametrize("text", ["", "# nothing here\n"], ids=["empty", "comments-only"])
def test_empty_policy(world: World, text: str) -> None:
    assert_error(world.verify("alice", policy=world.write("empty.yaml", text)), "empty policy")


def test_signer_used_by_no_rule(world: World) -> None:
    policy = world.write("unused.yaml", POLICY.replace("    signers: [bob]", "    signers: [alice]"))
    assert_error(world.verify("alice", policy=policy), "signer bob is used by no rule")


def test_key_file_holding_no_key(world: World, ssh_keys: SshKeys) -> None:
    shutil.copy(ssh_keys.pub("alice"), world.dir / "keys" / "not-pgp.asc")
    policy = world.write("nokey.yaml", POLICY.replace("keys/bob.asc", "keys/not-pgp.asc"))
    assert_error(world.verify("alice", policy=policy), "holds no OpenPGP public key")


def test_same_key_under_two_signers(world: World) -> None:
    policy = world.write("twice.yaml", POLICY.replace("keys/bob.asc", "keys/alice.asc"))
    assert_error(world.verify("alice", policy=policy), "the same key material as")


def test_unsupported_version(world: World) -> None:
    policy = world.write("v2.yaml", POLICY.replace("version: 1", "version: 2"))
    assert_error(world.verify("alice", policy=policy), "unsupported version")


def test_quick_flag_file_holding_no_key(world: World, ssh_keys: SshKeys) -> None:
    run = verify(
        "commit", world.oid["alice"], "--repo", world.repo.path, "--gpg-key", ssh_keys.pub("alice"), home=world.home
    )
    assert_error(run, "holds no OpenPGP public key")


def test_allowed_signers_holding_no_signer(world: World) -> None:
    empty = world.write("allowed_signers", "# nobody\n\n")
    run = verify("commit", world.oid["alice"], "--repo", world.repo.path, "--allowed-signers", empty, home=world.home)
    assert_error(run, "holds no allowed signers")


def test_no_trust_material(world: World) -> None:
    assert_error(verify("commit", world.oid["alice"], "--repo", world.repo.path, home=world.home), "no trust material")


def test_policy_and_quick_flags_together(world: World) -> None:
    run = world.verify("alice", *world.keys.flags("alice"))
    assert_error(run, "cannot be combined")


def test_revision_that_does_not_exist(world: World) -> None:
    assert_error(world.verify("no-such-branch"), "unknown revision 'no-such-branch'")
    assert_error(world.verify("0" * 40), "unknown revision")


def test_not_a_repository(world: World, tmp_path: Path) -> None:
    run = verify("commit", "HEAD", "--repo", tmp_path, *world.keys.flags("alice"), home=world.home)
    assert_error(run, "is not a git repository")


def test_unknown_mode(world: World) -> None:
    run = world.verify("alice", "--mode", "lenient")
    assert run.rc == 2 and "lenient" in run.stderr and run.stdout == ""
