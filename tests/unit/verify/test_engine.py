"""The signature gate end to end: real keys, real ``git commit -S``, every mode, thresholds, emails, cache, state."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitsecure.errors import InputError
from gitsecure.verify import signatures
from gitsecure.verify.cache import VerifyCache
from gitsecure.verify.engine import SignatureGate, default_branch, default_repo_name, verify_revision
from gitsecure.verify.policy import Mode, Policy, load_policy, policy_from_flags
from gitsecure.verify.verdict import Verdict
from tests.support.verify_world import EPOCH, Keys, SignedRepo

GITSIGN = Path(__file__).parents[2] / "fixtures" / "gitsign"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    made = Keys.make(tmp_path_factory.mktemp("verify-keys"))
    yield made
    made.close()


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> SignedRepo:
    return SignedRepo(tmp_path / "repo", keys)


def policy_file(tmp_path: Path, keys: Keys, body: str) -> Policy:
    """A policy in ``tmp_path`` whose signers alice, bob, ci (SSH keys) and carol (OpenPGP) exist as files."""
    for name in ("alice", "bob", "ci"):
        shutil.copy(keys.pub(name), tmp_path / f"{name}.pub")
    shutil.copy(keys.root / "carol.asc", tmp_path / "carol.asc")
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(body))
    return load_policy(path)


def ssh_policy(keys: Keys, *names: str, mode: str = "head") -> Policy:
    return policy_from_flags([], [], [keys.pub(name) for name in names], mode)


def verify(repo: SignedRepo, revision: str, policy: Policy, **options: Any) -> Verdict:
    arguments: dict[str, Any] = {
        "mode": None,
        "repo_name": None,
        "branch": None,
        "anchor": None,
        "first_parent": False,
        "cache": None,
    }
    arguments.update(options)
    return verify_revision(repo.path, revision, policy=policy, **arguments)


def problems_of(verdict: Verdict, oid: str) -> tuple[str, ...]:
    (check,) = [check for check in verdict.checks if check.oid == oid]
    return check.problems


# -- head mode, keys and signers ---------------------------------------------------------------------------------


def test_head_signed_by_a_trusted_ssh_key_is_trusted(repo: SignedRepo, keys: Keys) -> None:
    head = repo.commit(ssh="alice")
    verdict = verify(repo, "HEAD", ssh_policy(keys, "alice"))
    assert verdict.trusted and verdict.mode == "head"
    (check,) = verdict.checks
    assert (check.oid, check.kind, check.signer, check.format) == (head, "commit", "ssh-key", "ssh")
    assert check.key is not None and check.key.startswith("SHA256:")


@pytest.mark.parametrize(
    ("signing", "problem"),
    [({}, "unsigned"), ({"ssh": "mallory"}, "untrusted key")],
    ids=["unsigned", "untrusted-key"],
)
def test_head_unsigned_or_untrusted_is_rejected(repo: SignedRepo, keys: Keys, signing: Any, problem: str) -> None:
    head = repo.commit(**signing)
    verdict = verify(repo, "HEAD", ssh_policy(keys, "alice"))
    assert not verdict.trusted
    assert problems_of(verdict, head) == (problem,)


def test_openpgp_commit_is_attributed_to_the_primary_fingerprint(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    head = repo.commit(gpg="dave-sign", email="dave@example.com")  # made by the signing subkey
    policy = policy_from_flags([keys.root / "dave.asc"], [], [], "head")
    verdict = verify(repo, "HEAD", policy)
    assert verdict.trusted
    assert verdict.checks[0].oid == head
    assert (verdict.checks[0].signer, verdict.checks[0].key) == ("gpg-key", keys.gpg_keys["dave"])
    other = verify(repo, "HEAD", policy_from_flags([keys.root / "carol.asc"], [], [], "head"))
    assert problems_of(other, head) == ("untrusted key",)


def test_one_openpgp_key_under_two_signers_is_a_configuration_error(tmp_path: Path, keys: Keys) -> None:
    minimal = keys.gpg.gpg("--armor", "--export-options", "export-minimal", "--export", keys.gpg_keys["carol"]).stdout
    (tmp_path / "carol-again.asc").write_bytes(minimal + b"\n")
    with pytest.raises(InputError) as error:
        SignatureGate(
            policy_file(
                tmp_path,
                keys,
                """\
                version: 1
                signers:
                  - {name: carol, openpgp: [carol.asc]}
                  - {name: carol2, openpgp: [carol-again.asc]}
                rules:
                  - {repos: ["**"], mode: head, signers: [carol, carol2], threshold: 2}
                """,
            )
        )
    assert error.value.reference == "policy-ambiguous-signer"


def test_one_ssh_key_under_two_signers_is_a_configuration_error(tmp_path: Path, keys: Keys) -> None:
    keys.allowed_signers(tmp_path / "as1", ("alice@example.com", "alice"))
    keys.allowed_signers(tmp_path / "as2", ("*@example.com", "alice"))
    policy = policy_file(
        tmp_path,
        keys,
        """\
        version: 1
        signers:
          - {name: a, ssh: {allowed_signers: as1}}
          - {name: b, ssh: {allowed_signers: as2}}
        rules:
          - {repos: ["**"], mode: head, signers: [a, b]}
        """,
    )
    with pytest.raises(InputError) as error:
        SignatureGate(policy)
    assert error.value.reference == "policy-ambiguous-signer"


def test_allowed_signers_principal_is_the_committer_email(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    allowed = keys.allowed_signers(tmp_path / "allowed", ("alice@example.com", "alice"))
    policy = policy_from_flags([], [allowed], [], "head")
    good = repo.commit(ssh="alice", email="alice@example.com")
    assert verify(repo, good, policy).trusted
    bad = repo.commit(ssh="alice", email="someone@example.com")
    assert problems_of(verify(repo, bad, policy), bad) == ("principal not allowed",)


def test_ssh_validity_is_judged_at_the_committer_time(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    allowed = keys.allowed_signers(
        tmp_path / "allowed", f'alice@example.com valid-before="20260101Z" {keys.line("alice")}'
    )
    policy = policy_from_flags([], [allowed], [], "head")
    before = repo.commit(ssh="alice", when=EPOCH - 86_400)
    assert verify(repo, before, policy).trusted
    after = repo.commit(ssh="alice", when=EPOCH + 86_400)
    assert problems_of(verify(repo, after, policy), after) == ("key expired",)


def test_ssh_certificate_from_a_trusted_ca(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    cert = keys.certify("bob", principals="alice@example.com")
    allowed = keys.allowed_signers(tmp_path / "allowed", f"*@example.com cert-authority {keys.line('ca')}")
    head = repo.commit(ssh=cert)
    verdict = verify(repo, "HEAD", policy_from_flags([], [allowed], [], "head"))
    assert verdict.trusted, verdict.to_json()
    outsider = repo.commit(ssh=cert, email="mallory@evil.test")
    assert problems_of(verify(repo, outsider, policy_from_flags([], [allowed], [], "head")), outsider) == (
        "principal not allowed",
    )
    assert head != outsider


def test_a_signature_copied_from_another_commit_is_bad(repo: SignedRepo, keys: Keys) -> None:
    first = repo.commit("first", ssh="alice")
    second = repo.commit("second", ssh="alice")
    signature = repo.raw(first).split(b"gpgsig ", 1)[1].split(b"\n\n", 1)[0]
    body = repo.raw(second).split(b"gpgsig ", 1)[0]
    forged = repo.write_object("commit", body + b"gpgsig " + signature + b"\n\n" + b"second\n")
    assert problems_of(verify(repo, forged, ssh_policy(keys, "alice")), forged) == ("bad signature",)


def test_unknown_format_and_malformed_objects_are_rejected(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    body = repo.raw("HEAD").split(b"gpgsig ", 1)[0]
    unknown = repo.write_object("commit", body + b"gpgsig not a signature\n\nx\n")
    assert problems_of(verify(repo, unknown, ssh_policy(keys, "alice")), unknown) == ("unknown signature format",)
    signature = repo.raw("HEAD").split(b"gpgsig ", 1)[1].split(b"\n\n", 1)[0]
    twice = repo.write_object("commit", body + b"gpgsig " + signature + b"\ngpgsig " + signature + b"\n\nx\n")
    (problem,) = problems_of(verify(repo, twice, ssh_policy(keys, "alice")), twice)
    assert problem.startswith("malformed object:") and "more than one signature header" in problem


def test_gitsign_keyless_commit_verifies_offline(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    oid = repo.write_object("commit", (GITSIGN / "offline.commit").read_bytes())
    shutil.copy(GITSIGN / "trusted_root.json", tmp_path / "root.json")
    body = """\
        version: 1
        signers:
          - name: billy
            keyless: {{issuer: https://accounts.google.com, subject: {subject}}}
            trusted_root: root.json
        rules:
          - {{repos: ["**"], mode: head, signers: [billy]}}
        """
    verdict = verify(repo, oid, policy_file(tmp_path, keys, body.format(subject="billy@chainguard.dev")))
    assert verdict.trusted, verdict.to_json()
    assert verdict.checks[0].key == "billy@chainguard.dev from https://accounts.google.com"
    wrong = verify(repo, oid, policy_file(tmp_path, keys, body.format(subject="alice@chainguard.dev")))
    assert problems_of(wrong, oid) == ("certificate identity not allowed",)
    overlapping = """\
        version: 1
        signers:
          - {name: billy, keyless: {issuer: https://accounts.google.com, subject: billy@chainguard.dev},
             trusted_root: root.json}
          - {name: chainguard, keyless: {issuer: https://accounts.google.com, subject_regexp: ".*@chainguard[.]dev"},
             trusted_root: root.json}
        rules:
          - {repos: ["**"], mode: head, signers: [billy, chainguard]}
        """
    with pytest.raises(InputError) as error:
        verify(repo, oid, policy_file(tmp_path, keys, overlapping))
    assert error.value.reference == "policy-ambiguous-signer"
    # An x509 signature with no keyless signer in the policy never reaches sigstore.
    assert problems_of(verify(repo, oid, ssh_policy(keys, "alice")), oid) == (signatures.NO_KEYLESS_SIGNER,)


# -- rules, emails, thresholds -------------------------------------------------------------------------------------


RULES = """\
    version: 1
    signers:
      - {name: alice, ssh: {keys: [alice.pub]}, emails: [alice@example.com]}
      - {name: bob, ssh: {keys: [bob.pub]}}
      - {name: ci, ssh: {keys: [ci.pub]}}
    rules:
      - {repos: ["github.com/acme/app"], branches: [main], mode: strict, signers: [alice, bob]}
      - {repos: ["github.com/acme/app"], branches: ["release/*"], mode: tag-and-head, signers: [alice, bob, ci],
         threshold: 2, require: [ci]}
      - {repos: ["github.com/acme/tools"], mode: head, signers: [ci]}
    """


def test_the_rule_follows_origin_and_branch(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    policy = policy_file(tmp_path, keys, RULES)
    repo.git("remote", "add", "origin", "git@github.com:Acme/app.git")
    assert default_repo_name(repo.path) == "git@github.com:Acme/app.git"
    head = repo.commit(ssh="bob")
    assert default_branch(repo.path, "HEAD") == "main" and default_branch(repo.path, head) is None
    verdict = verify(repo, "HEAD", policy)
    assert verdict.trusted and verdict.mode == "strict"
    with pytest.raises(InputError) as error:
        verify(repo, head, policy)  # a bare commit id names no branch: no rule of app covers it
    assert error.value.reference == "policy-no-rule"
    tools = verify(repo, "main", policy, repo_name="https://github.com/acme/tools")
    assert problems_of(tools, head) == ("signer bob is not trusted by rules[2]",)


def test_signer_emails_limit_what_a_signature_vouches_for(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    policy = policy_file(tmp_path, keys, RULES)
    options = {"repo_name": "github.com/acme/app", "branch": "main", "mode": "head"}
    own = repo.commit(ssh="alice")
    assert verify(repo, own, policy, **options).trusted
    outsider = repo.commit(ssh="alice", author="mallory@evil.test")
    assert problems_of(verify(repo, outsider, policy, **options), outsider) == (
        "author email 'mallory@evil.test' is not one signer alice may sign for",
    )
    committer = repo.commit(ssh="alice", email="bob@example.com", author="alice@example.com")
    assert problems_of(verify(repo, committer, policy, **options), committer) == (
        "committer email 'bob@example.com' is not one signer alice may sign for",
    )


@pytest.mark.parametrize(
    ("tagger", "committer", "problems"),
    [
        ("ci", "alice", ()),
        ("ci", "ci", ("rules[1] needs 2 distinct signers of 3, got ci",)),
        ("bob", "alice", ("required signer ci did not sign",)),
    ],
)
def test_threshold_and_require_over_tag_and_head(
    tmp_path: Path, repo: SignedRepo, keys: Keys, tagger: str, committer: str, problems: tuple[str, ...]
) -> None:
    policy = policy_file(tmp_path, keys, RULES)
    repo.commit(ssh=committer)
    tag = repo.tag("v1", ssh=tagger, email=f"{tagger}@example.com")
    verdict = verify(repo, "v1", policy, repo_name="github.com/acme/app", branch="release/1")
    assert verdict.mode == "tag-and-head"
    assert [check.kind for check in verdict.checks] == ["tag", "commit"] and verdict.checks[0].oid == tag
    assert all(check.ok for check in verdict.checks)
    assert verdict.problems == problems and verdict.trusted == (not problems)


# -- tag modes ------------------------------------------------------------------------------------------------------


def test_tag_mode_checks_the_annotated_tag_only(repo: SignedRepo, keys: Keys) -> None:
    repo.commit()  # unsigned: tag mode does not look at it
    tag = repo.tag("v1", ssh="alice")
    verdict = verify(repo, "v1", ssh_policy(keys, "alice", mode="tag"))
    assert verdict.trusted and [(c.oid, c.kind) for c in verdict.checks] == [(tag, "tag")]
    both = verify(repo, "v1", ssh_policy(keys, "alice"), mode="tag-and-head")
    assert not both.trusted and problems_of(both, repo.rev("HEAD")) == ("unsigned",)


@pytest.mark.parametrize("mode", ["tag", "tag-and-head"])
def test_a_lightweight_tag_is_not_an_annotated_tag(repo: SignedRepo, keys: Keys, mode: Mode) -> None:
    repo.commit(ssh="alice")
    repo.git("tag", "light")
    verdict = verify(repo, "light", ssh_policy(keys, "alice"), mode=mode)
    assert not verdict.trusted and verdict.problems == ("light is not an annotated tag",)


def test_verify_tag_always_checks_the_tag(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    repo.tag("v1")  # annotated, unsigned
    verdict = verify(repo, "v1", ssh_policy(keys, "alice", mode="head"), require_tag=True)
    assert verdict.mode == "tag-and-head"
    assert problems_of(verdict, repo.rev("v1")) == ("unsigned",)


def test_a_signed_tag_published_under_another_name_is_rejected(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    tag = repo.tag("v0.9-rc", ssh="alice")
    repo.git("update-ref", "refs/tags/v1.0", tag)
    verdict = verify(repo, "v1.0", ssh_policy(keys, "alice", mode="tag"))
    assert problems_of(verdict, tag) == ("tag object is named 'v0.9-rc', not 'v1.0'",)
    assert verify(repo, "v0.9-rc", ssh_policy(keys, "alice", mode="tag")).trusted


# -- strict mode ------------------------------------------------------------------------------------------------------


def test_strict_catches_an_unsigned_commit_in_the_middle(repo: SignedRepo, keys: Keys) -> None:
    first = repo.commit(ssh="alice")
    middle = repo.commit("sneaky")
    last = repo.commit(ssh="alice")
    policy = ssh_policy(keys, "alice", mode="strict")
    verdict = verify(repo, "HEAD", policy)
    assert not verdict.trusted
    assert [check.oid for check in verdict.checks] == [last, middle, first]
    assert problems_of(verdict, middle) == ("unsigned",)
    # --mode adds to the rule's mode and never weakens it: a head request still checks the strict range.
    assert not verify(repo, "HEAD", policy, mode="head").trusted
    assert verify(repo, "HEAD", ssh_policy(keys, "alice", mode="head")).trusted
    anchored = verify(repo, "HEAD", policy, anchor=middle)
    assert anchored.trusted and [check.oid for check in anchored.checks] == [last]


def test_strict_stops_at_a_trusted_seal_commit_only(repo: SignedRepo, keys: Keys) -> None:
    repo.commit("old and unsigned")
    fake = repo.commit("not really\n\nGitsecure-Seal: history before this is reviewed")  # unsigned: no seal
    policy = ssh_policy(keys, "alice", mode="strict")
    assert problems_of(verify(repo, "HEAD", policy), fake) == ("unsigned",)
    seal = repo.commit("seal\n\nGitsecure-Seal: history before this is reviewed", ssh="alice")
    tip = repo.commit(ssh="alice")
    verdict = verify(repo, "HEAD", policy)
    assert verdict.trusted and [check.oid for check in verdict.checks] == [tip, seal]


def test_strict_checks_merged_branches_and_mergetags(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    repo.git("checkout", "-q", "-b", "feature")
    unsigned = repo.commit("feature work")
    repo.git("checkout", "-q", "main")
    repo.merge("feature", ssh="alice")
    policy = ssh_policy(keys, "alice", mode="strict")
    verdict = verify(repo, "main", policy)
    assert problems_of(verdict, unsigned) == ("unsigned",)
    first_parent = verify(repo, "main", policy, first_parent=True)
    assert first_parent.trusted and unsigned not in {check.oid for check in first_parent.checks}


def test_a_merged_tag_signed_by_an_untrusted_key_is_rejected(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    repo.git("checkout", "-q", "-b", "upstream")
    repo.commit(ssh="alice")
    merged_tag = repo.tag("upstream-1", ssh="mallory")
    repo.git("checkout", "-q", "main")
    merge = repo.merge("upstream-1", ssh="alice")
    verdict = verify(repo, "main", ssh_policy(keys, "alice", mode="head"))
    assert [(check.oid, check.kind) for check in verdict.checks] == [(merge, "commit"), (merged_tag, "tag")]
    assert verdict.checks[0].ok and verdict.checks[1].problems == ("untrusted key",)
    assert not verdict.trusted


def test_strict_on_an_annotated_tag_checks_the_tag_too(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    tag = repo.tag("v1")
    verdict = verify(repo, "v1", ssh_policy(keys, "alice", mode="strict"))
    assert verdict.checks[0].oid == tag and problems_of(verdict, tag) == ("unsigned",)


def test_state_file_ratchets_strict_mode(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    state = tmp_path / "state"
    policy = ssh_policy(keys, "alice", mode="strict")
    repo.commit("legacy, unsigned")
    signed = repo.commit(ssh="alice")
    assert not verify(repo, "HEAD", policy, state_file=state).trusted
    assert not state.exists()  # a rejected run records nothing
    state.write_text(repo.rev("HEAD~1") + "\n")
    state.chmod(0o600)
    assert verify(repo, "HEAD", policy, state_file=state).trusted
    assert state.read_text() == signed + "\n" and state.stat().st_mode & 0o777 == 0o600
    newer = repo.commit(ssh="alice")
    verdict = verify(repo, "HEAD", policy, state_file=state)
    assert [check.oid for check in verdict.checks] == [newer] and state.read_text() == newer + "\n"
    # Same revision again: nothing new, the tip is still checked.
    assert [check.oid for check in verify(repo, "HEAD", policy, state_file=state).checks] == [newer]
    # A rewritten history that drops the anchor is an error, not a shortcut.
    repo.git("reset", "-q", "--hard", signed)
    repo.commit("rewritten", ssh="alice")
    with pytest.raises(InputError) as error:
        verify(repo, "HEAD", policy, state_file=state)
    assert error.value.reference == "anchor-not-ancestor"


def test_a_state_file_others_can_write_is_refused(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    head = repo.commit(ssh="alice")
    state = tmp_path / "state"
    state.write_text(head + "\n")
    state.chmod(0o666)
    with pytest.raises(InputError) as error:
        verify(repo, "HEAD", ssh_policy(keys, "alice", mode="strict"), state_file=state)
    assert error.value.reference == "unsafe-state-file"
    state.chmod(0o600)
    state.write_text("not a commit\n")
    with pytest.raises(InputError) as error:
        verify(repo, "HEAD", ssh_policy(keys, "alice", mode="strict"), state_file=state)
    assert error.value.reference == "invalid-state-file"


# -- cache -------------------------------------------------------------------------------------------------------------


class CountingSigners:
    """Counts signature checks (the real :class:`TrustedSigners` does the work)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = signatures.TrustedSigners.check

        def counted(inner: signatures.TrustedSigners, *args: Any, **kwargs: Any) -> signatures.SignatureFacts:
            self.calls += 1
            return real(inner, *args, **kwargs)

        monkeypatch.setattr(signatures.TrustedSigners, "check", counted)


def test_cache_hits_and_policy_change_invalidation(
    tmp_path: Path, repo: SignedRepo, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = CountingSigners(monkeypatch)
    for _ in range(3):
        repo.commit(ssh="alice")
    unsigned = repo.commit("unsigned")
    policy = ssh_policy(keys, "alice", mode="strict")
    with VerifyCache(tmp_path / "cache") as cache:
        first = verify(repo, "HEAD", policy, cache=cache)
    assert counter.calls == 3 and not first.trusted  # the unsigned commit needs no signature check
    with VerifyCache(tmp_path / "cache") as cache:
        again = verify(repo, "HEAD", policy, cache=cache)
    assert counter.calls == 3 and again == first  # every fact came from the cache
    # A new key changes the policy hash: everything is verified again.
    wider = ssh_policy(keys, "alice", "bob", mode="strict")
    assert wider.hash != policy.hash
    with VerifyCache(tmp_path / "cache") as cache:
        verify(repo, "HEAD", wider, cache=cache)
    assert counter.calls == 6
    assert problems_of(first, unsigned) == ("unsigned",)


def test_cached_facts_are_not_a_rule_decision(tmp_path: Path, repo: SignedRepo, keys: Keys) -> None:
    policy = policy_file(tmp_path, keys, RULES)
    head = repo.commit(ssh="bob")
    with VerifyCache(tmp_path / "cache") as cache:
        assert verify(repo, head, policy, cache=cache, repo_name="github.com/acme/app", branch="main").trusted
    with VerifyCache(tmp_path / "cache") as cache:
        tools = verify(repo, head, policy, cache=cache, repo_name="github.com/acme/tools")
    assert problems_of(tools, head) == ("signer bob is not trusted by rules[2]",)


def test_a_gate_serves_many_verdicts(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    unsigned = repo.commit()
    with SignatureGate(ssh_policy(keys, "alice")) as gate:
        assert gate.verify(repo.path, "HEAD~1").trusted
        assert not gate.verify(repo.path, unsigned).trusted


def test_sha256_repositories(tmp_path: Path, keys: Keys) -> None:
    repo = SignedRepo(tmp_path / "sha256", keys, object_format="sha256")
    repo.commit(ssh="alice")
    repo.commit(gpg="carol", email="carol@example.com")
    policy = policy_from_flags([keys.root / "carol.asc"], [], [keys.pub("alice")], "strict")
    verdict = verify(repo, "HEAD", policy)
    assert verdict.trusted and [check.signer for check in verdict.checks] == ["gpg-key", "ssh-key"]
    assert all(len(check.oid) == 64 for check in verdict.checks)
