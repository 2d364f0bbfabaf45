"""The verify policy: loading, fail-closed validation, rule selection, emails, k-of-n and the policy hash."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitsecure.errors import InputError, UsageError
from gitsecure.verify.patterns import normalize_repo
from gitsecure.verify.policy import KeylessIdentity, Policy, Rule, Signer, load_policy, policy_from_flags

ROOT = Path(__file__).parents[2] / "fixtures" / "gitsign" / "trusted_root.json"


def run(args: list[str], home: Path) -> bytes:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GNUPGHOME": str(home / "gnupg")}
    return subprocess.run(args, env=env, check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real keys made once: OpenPGP (gpg), SSH (ssh-keygen), an allowed_signers file, a trusted root."""
    home = tmp_path_factory.mktemp("keyhome")
    (home / "gnupg").mkdir(mode=0o700)
    out = home / "keys"
    out.mkdir()
    gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        for name in ("alice", "bob"):
            run([*gpg, "--quick-gen-key", f"{name} <{name}@example.com>", "ed25519", "sign", "never"], home)
            (out / f"{name}.asc").write_bytes(
                run(["gpg", "--batch", "--armor", "--export", f"{name}@example.com"], home)
            )
        secret = run([*gpg, "--armor", "--export-secret-keys", "alice@example.com"], home)
        (out / "alice-secret.asc").write_bytes(secret)
    finally:
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"], check=False, env={**os.environ, "GNUPGHOME": str(home / "gnupg")}
        )
    for name in ("ci", "deploy"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example.com", "-f", str(out / name)], home)
    ci_pub = (out / "ci.pub").read_text().split()
    (out / "allowed_signers").write_text(f'# CI\nci@example.com namespaces="git" {ci_pub[0]} {ci_pub[1]}\n')
    (out / "empty_signers").write_text("# nobody yet\n\n")
    shutil.copy(ROOT, out / "root.json")
    (out / "not-a-root.json").write_text('{"mediaType": "application/json"}')
    return out


@pytest.fixture
def write(tmp_path: Path, keys: Path):  # type: ignore[no-untyped-def]
    """Write policy.yaml (next to a copy of the keys) and return its path."""
    shutil.copytree(keys, tmp_path / "keys")

    def _write(text: str) -> Path:
        path = tmp_path / "policy.yaml"
        path.write_text(text)
        return path

    return _write


GOOD = """\
version: 1
signers:
  - name: alice
    openpgp: [keys/alice.asc]
    emails: [alice@example.com]
  - name: ci
    ssh: {allowed_signers: keys/allowed_signers}
  - name: web-ui
    openpgp: [keys/bob.asc]
    emails: [alice@example.com, "*@acme.example", noreply@github.com]
  - name: release
    keyless: {issuer: https://accounts.google.com, subject_regexp: '.*@chainguard\\.dev'}
    trusted_root: keys/root.json
rules:
  - repos: ["github.com/acme/*", "!github.com/acme/sandbox"]
    branches: ["main", "release/*"]
    mode: strict
    signers: [alice, ci, web-ui]
  - repos: ["github.com/acme/sandbox"]
    mode: head
    signers: [alice, release]
    threshold: 2
    require: [release]
"""


def test_good_policy_loads(write) -> None:  # type: ignore[no-untyped-def]
    policy = load_policy(write(GOOD))
    assert policy.version == 1
    assert list(policy.signers) == ["alice", "ci", "web-ui", "release"]
    alice = policy.signers["alice"]
    assert alice.openpgp_keys[0].startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert policy.signers["ci"].ssh_allowed_signers[0].startswith(b"# CI")
    (identity,) = policy.signers["release"].keyless
    assert identity.trusted_root.name == "root.json"
    assert identity.trusted_root_json == ROOT.read_bytes()
    assert identity.matches(subject="billy@chainguard.dev", issuer="https://accounts.google.com")
    assert not identity.matches(subject="billy@chainguard.dev.evil", issuer="https://accounts.google.com")
    assert not identity.matches(subject="billy@chainguard.dev", issuer="https://accounts.google.com.evil")
    assert policy.hash.startswith("sha256:") and len(policy.hash) == 71
    assert policy.rules[1].threshold == 2 and policy.rules[1].require == ("release",)


def test_rule_selection_with_negation_and_url_forms(write) -> None:  # type: ignore[no-untyped-def]
    policy = load_policy(write(GOOD))
    for repo in ("https://github.com/Acme/App.git", "git@github.com:acme/app", "ssh://git@github.com:22/acme/app/"):
        assert policy.rule_for(repo, "main").index == 0
    assert policy.rule_for("github.com/acme/app", "refs/heads/release/1.2").index == 0
    assert policy.rule_for("github.com/acme/sandbox", "anything").index == 1
    assert policy.rule_for("github.com/acme/sandbox", None).index == 1


@pytest.mark.parametrize(
    ("repo", "branch"),
    [
        ("github.com/acme/app", "feature/x"),  # branch not listed
        ("github.com/acme/app", "release/1.2/hotfix"),  # * stays in one segment
        ("github.com/acme/app", None),  # a rule with branches never matches a revision without one
        ("github.com/acme/group/app", "main"),  # * does not cross /
        ("github.com/other/app", "main"),
    ],
)
def test_no_rule_matches_is_an_error(write, repo: str, branch: str | None) -> None:  # type: ignore[no-untyped-def]
    policy = load_policy(write(GOOD))
    with pytest.raises(InputError, match="no rule matches") as info:
        policy.rule_for(repo, branch)
    assert info.value.reference == "policy-no-rule"


def test_two_matching_rules_are_ambiguous_not_most_specific(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace('  - repos: ["github.com/acme/sandbox"]', '  - repos: ["github.com/acme/**"]')
    policy = load_policy(write(text))
    with pytest.raises(
        InputError,
        match=r"ambiguous: rules\[0\] and rules\[1\] both match repository 'github.com/acme/app' branch 'main'",
    ) as info:
        policy.rule_for("https://github.com/acme/app", "main")
    assert info.value.reference == "policy-ambiguous"
    assert policy.rule_for("github.com/acme/sandbox", "main").index == 1


def test_double_star_crosses_segments_and_matches_empty() -> None:
    rule = Rule(0, ("**",), "head", ("a",))
    assert rule.matches("", None) and rule.matches("gitlab.com/a/b/c", "x/y")
    assert normalize_repo("/srv/git/app.git") == "/srv/git/app"


def test_emails_apply_to_author_and_committer(write) -> None:  # type: ignore[no-untyped-def]
    policy = load_policy(write(GOOD))
    web = policy.signers["web-ui"]
    assert web.email_problems(author="alice@example.com", committer="noreply@github.com") == ()
    assert web.email_problems(author="Dev@ACME.example", committer="noreply@github.com") == ()
    (problem,) = web.email_problems(author="mallory@evil.test", committer="noreply@github.com")
    assert problem == "author email 'mallory@evil.test' is not one signer web-ui may sign for"
    (problem,) = web.email_problems(author="alice@example.com", committer="mallory@evil.test")
    assert problem.startswith("committer email")
    assert not web.allows_email("mallory@evil.test@acme.example")  # * never crosses @
    assert not web.allows_email("alice@example.com ")
    assert policy.signers["ci"].allows_email("anyone@anywhere.test")  # no emails listed: any


def test_quorum(write) -> None:  # type: ignore[no-untyped-def]
    rule = load_policy(write(GOOD)).rules[1]
    assert rule.quorum_problems(["alice", "release"]) == ()
    assert rule.quorum_problems(["alice", "alice", "web-ui"]) == (
        "rules[1] needs 2 distinct signers of 2, got alice",
        "required signer release did not sign",
    )


def test_hash_covers_trust_bytes_and_rules_not_location(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = load_policy(write(GOOD))
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copytree(tmp_path / "keys", moved / "keys")
    (moved / "policy.yaml").write_text(GOOD)
    assert load_policy(moved / "policy.yaml").hash == first.hash
    assert load_policy(write(GOOD.replace("mode: strict", "mode: head"))).hash != first.hash
    allowed = tmp_path / "keys" / "allowed_signers"
    allowed.write_text(allowed.read_text().replace('namespaces="git"', 'namespaces="git,file"'))
    assert load_policy(write(GOOD)).hash != first.hash


def test_inline_keys_and_key_files(write, keys: Path) -> None:  # type: ignore[no-untyped-def]
    armour = (keys / "alice.asc").read_text().replace("\n", "\n      ")
    deploy = (keys / "deploy.pub").read_text().strip()
    text = f"""\
version: 1
signers:
  - name: a
    openpgp: |
      {armour}
  - name: b
    ssh:
      keys: ["{deploy}", keys/ci.pub]
rules:
  - repos: ["**"]
    mode: tag-and-head
    signers: [a, b]
"""
    policy = load_policy(write(text))
    assert b"BEGIN PGP PUBLIC KEY BLOCK" in policy.signers["a"].openpgp_keys[0]
    assert [key.split()[0] for key in policy.signers["b"].ssh_keys] == ["ssh-ed25519", "ssh-ed25519"]
    assert all(len(key.split()) == 2 for key in policy.signers["b"].ssh_keys)  # comments dropped


def test_policy_from_flags(keys: Path) -> None:
    policy = policy_from_flags([keys / "alice.asc", keys / "alice.asc"], [], [keys / "ci.pub"], "strict")
    assert list(policy.signers) == ["gpg-key", "ssh-key"]
    assert len(policy.signers["gpg-key"].openpgp_keys) == 1
    assert policy.source is None and policy.origin == "command-line flags"
    rule = policy.rule_for("git@example.test:any/repo", None)
    assert rule.mode == "strict" and rule.signers == ("gpg-key", "ssh-key")
    other = policy_from_flags([keys / "alice.asc"], [keys / "allowed_signers"], [], "strict")
    assert other.hash != policy.hash


@pytest.mark.parametrize(
    ("gpg", "allowed", "ssh", "mode", "message"),
    [
        ([], [], [], "head", "no trust material: give --policy FILE"),
        (["none.asc"], [], [], "head", "--gpg-key: cannot read {keys}/none.asc: No such file"),
        (["ci.pub"], [], [], "head", "--gpg-key: {keys}/ci.pub holds no OpenPGP public key"),
        ([], ["alice.asc"], [], "head", "--allowed-signers: {keys}/alice.asc line 1 names no SSH public key"),
        ([], ["empty_signers"], [], "head", "--allowed-signers: {keys}/empty_signers holds no allowed signers"),
        ([], [], ["alice.asc"], "head", "--ssh-key: {keys}/alice.asc is not an SSH public key"),
        ([], [], ["ci"], "head", "--ssh-key: {keys}/ci holds a private key"),
        (["alice.asc"], [], [], "all", "--mode: expected one of head, tag, tag-and-head, strict"),
    ],
)
def test_policy_from_flags_rejects(
    keys: Path, gpg: list[str], allowed: list[str], ssh: list[str], mode: str, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        policy_from_flags([keys / n for n in gpg], [keys / n for n in allowed], [keys / n for n in ssh], mode)
    assert message.format(keys=keys) in info.value.message
    assert info.value.reference == "invalid-policy"


def test_model_refuses_inconsistent_construction() -> None:
    with pytest.raises(ValueError, match="no trust material"):
        Signer("empty")
    signer = Signer("a", ssh_keys=("ssh-ed25519 AAAA",))
    with pytest.raises(ValueError, match="threshold"):
        Rule(0, ("**",), "head", ("a",), threshold=2)
    with pytest.raises(ValueError, match="used by a rule"):
        Policy.build([signer, Signer("b", ssh_keys=("ssh-ed25519 BBBB",))], [Rule(0, ("**",), "head", ("a",))], None)
    with pytest.raises(ValueError, match="without '!'"):
        Rule(0, ("!github.com/x",), "head", ("a",))


# -- fail closed: every rejection names the file and the field ---------------------------------

SIGNER = "signers:\n  - name: alice\n    openpgp: [keys/alice.asc]\n"
RULE = "rules:\n  - repos: ['**']\n    mode: head\n    signers: [alice]\n"
HEAD = "version: 1\n"
ROOT_LINE = "    trusted_root: keys/root.json\n"
ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIINXxg8HKqeTSN239LN/RS215PNqKhLMdvsLXg6iw1nf"


def doc(signers: str = SIGNER, rules: str = RULE) -> str:
    return HEAD + signers + rules


def alice(body: str) -> str:
    """A policy whose one signer, alice, is described by ``body`` (the YAML lines after its name)."""
    return doc("signers:\n  - name: alice\n" + body)


REJECTIONS = [
    ("", "policy.yaml: empty policy"),
    ("# only a comment\n", "policy.yaml: empty policy"),
    ("- version: 1\n", "policy.yaml: expected a mapping"),
    (SIGNER + RULE, "policy.yaml: version: required (version: 1)"),
    ("version: 2\n" + SIGNER + RULE, "policy.yaml: version: unsupported version 2"),
    ("version: '1'\n" + SIGNER + RULE, "policy.yaml: version: unsupported version '1'"),
    (doc() + "defaults: {}\n", "policy.yaml: defaults: unknown key"),
    (doc() + "version: 1\n", "policy.yaml: not valid YAML: duplicate key 'version' at line"),
    ("version: 1\nsigners: [\n", "policy.yaml: not valid YAML"),
    (HEAD + RULE, "policy.yaml: signers: required: a non-empty list"),
    (HEAD + "signers: []\n" + RULE, "policy.yaml: signers: required: a non-empty list"),
    (HEAD + SIGNER, "policy.yaml: rules: required: a non-empty list"),
    (doc(SIGNER + "    gpg: [x]\n"), "policy.yaml: signers[0].gpg: unknown key"),
    (doc(rules=RULE + "    keys: [x]\n"), "policy.yaml: rules[0].keys: unknown key"),
    (doc("signers:\n  - name: 'al ice'\n    openpgp: [keys/alice.asc]\n"), "policy.yaml: signers[0].name: required"),
    (doc(SIGNER + "  - name: alice\n    openpgp: [keys/bob.asc]\n"), "signers[1].name: duplicate signer name 'alice'"),
    (doc(SIGNER + "  - name: bob\n    emails: [bob@example.com]\n"), "signers[1]: signer bob has no trust material"),
    (doc(SIGNER + "  - name: bob\n    openpgp: [keys/bob.asc]\n"), "signers[1]: signer bob is used by no rule"),
    (doc(rules=RULE.replace("[alice]", "[alice, carol]")), "rules[0].signers[1]: unknown signer 'carol'"),
    (doc(rules=RULE.replace("[alice]", "[alice, alice]")), "rules[0].signers[1]: alice is listed twice"),
    (doc(rules=RULE + "    threshold: 2\n"), "rules[0].threshold: expected an integer from 1 to 1"),
    (doc(rules=RULE + "    threshold: 0\n"), "rules[0].threshold: expected an integer from 1 to 1"),
    (doc(rules=RULE + "    threshold: true\n"), "rules[0].threshold: expected an integer"),
    (
        doc(SIGNER + "  - name: bob\n    openpgp: [keys/bob.asc]\n", RULE + "    require: [bob]\n"),
        "rules[0].require[0]: bob is not one of the rule's signers",
    ),
    (
        doc(
            SIGNER + "  - name: bob\n    openpgp: [keys/bob.asc]\n",
            RULE.replace("[alice]", "[alice, bob]") + "    require: [alice, bob]\n",
        ),
        "rules[0].threshold: 1 is below the 2 required signers",
    ),
    (doc(rules=RULE.replace("head", "always")), "rules[0].mode: expected one of head, tag, tag-and-head, strict"),
    (doc(rules=RULE.replace("    mode: head\n", "")), "rules[0].mode: required"),
    (
        doc(rules=RULE.replace("['**']", "['!github.com/acme/x']")),
        "rules[0].repos: needs at least one pattern without '!'",
    ),
    (doc(rules=RULE.replace("['**']", "[]")), "rules[0].repos: empty list"),
    (doc(rules=RULE + "    branches: ['!main']\n"), "rules[0].branches: needs at least one pattern without '!'"),
    (doc(SIGNER.replace("alice.asc", "missing.asc")), "signers[0].openpgp[0]: cannot read keys/missing.asc"),
    (
        doc(SIGNER.replace("alice.asc", "ci.pub")),
        "policy.yaml: signers[0].openpgp[0]: keys/ci.pub holds no OpenPGP public key",
    ),
    (
        doc(SIGNER.replace("alice.asc", "alice-secret.asc")),
        "signers[0].openpgp[0]: keys/alice-secret.asc holds a private key",
    ),
    (doc(SIGNER.replace("[keys/alice.asc]", "[]")), "signers[0].openpgp: empty list"),
    (
        doc(SIGNER.replace("[keys/alice.asc]", "[keys/alice.asc, keys/alice.asc]")),
        "signers[0].openpgp[1]: the same key material as signers[0].openpgp[0]",
    ),
    (
        doc(SIGNER + "  - name: bob\n    openpgp: [keys/alice.asc]\n", RULE.replace("[alice]", "[alice, bob]")),
        "signers[1].openpgp[0]: the same key material as signers[0].openpgp[0]",
    ),
    (alice("    ssh: {}\n"), "signers[0].ssh: needs allowed_signers or keys"),
    (
        alice("    ssh: {allowed_signers: keys/empty_signers}\n"),
        "signers[0].ssh.allowed_signers[0]: keys/empty_signers holds no allowed signers",
    ),
    (
        alice("    ssh: {allowed_signers: keys/alice.asc}\n"),
        "signers[0].ssh.allowed_signers[0]: keys/alice.asc line 1 names no SSH public key",
    ),
    (
        alice("    ssh: {keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5']}\n"),
        "signers[0].ssh.keys[0]: the inline key is not an SSH public key (the blob is truncated)",
    ),
    (
        alice("    ssh: {keys: ['ssh-rsa " + ED25519 + "']}\n"),
        "signers[0].ssh.keys[0]: the inline key is not an SSH public key (type ssh-rsa but the blob says "
        "'ssh-ed25519')",
    ),
    (
        alice("    ssh: {keys: [keys/ci]}\n"),
        "signers[0].ssh.keys[0]: keys/ci holds a private key",
    ),
    (
        alice("    keyless: {subject: a@b.c}\n" + ROOT_LINE),
        "signers[0].keyless: exactly one of issuer and issuer_regexp is required",
    ),
    (
        alice("    keyless: {subject: a@b.c, subject_regexp: '.*', issuer: x}\n" + ROOT_LINE),
        "signers[0].keyless: exactly one of subject and subject_regexp is required",
    ),
    (
        alice("    keyless: [{subject: a@b.c, issuer_regexp: '(unclosed'}]\n" + ROOT_LINE),
        "signers[0].keyless[0].issuer_regexp: invalid regular expression",
    ),
    (
        alice("    keyless: {subject: a@b.c, issuer: x}\n"),
        "signers[0].keyless: trusted_root is required",
    ),
    (
        alice("    keyless: {subject: a@b.c, issuer: x, trusted_root: keys/not-a-root.json}\n"),
        "signers[0].keyless.trusted_root: keys/not-a-root.json is not a Sigstore trusted root",
    ),
    (
        alice("    keyless: {subject: a@b.c, issuer: x, trusted_root: keys/root.json}\n" + ROOT_LINE),
        "signers[0].trusted_root: unused trust material",
    ),
    (doc(SIGNER + "    trusted_root: keys/root.json\n"), "signers[0].trusted_root: unused trust material"),
    (
        doc(SIGNER + "    emails: ['alice']\n"),
        "signers[0].emails[0]: 'alice': expected an address or glob of the form local@domain",
    ),
    (doc(SIGNER + "    emails: ['Alice <alice@example.com>']\n"), "signers[0].emails[0]:"),
]


@pytest.mark.parametrize(("text", "message"), REJECTIONS)
def test_rejections(write, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        load_policy(write(text))
    assert message in info.value.message, info.value.message
    assert "\n" not in info.value.message
    assert info.value.reference == "invalid-policy"


def test_unreadable_or_binary_policy_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read policy file"):
        load_policy(tmp_path / "absent.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"version: 1\n\xff\xfe")
    with pytest.raises(InputError, match=r"bin.yaml: not UTF-8"):
        load_policy(tmp_path / "bin.yaml")


def test_keyless_identity_model_checks(tmp_path: Path) -> None:
    root = ROOT.read_bytes()
    with pytest.raises(ValueError, match="invalid subject_regexp"):
        KeylessIdentity(ROOT, root, subject_regexp="(", issuer="x")
    with pytest.raises(ValueError, match="exactly one of issuer"):
        KeylessIdentity(ROOT, root, subject="a", issuer="x", issuer_regexp="x")
    identity = KeylessIdentity(ROOT, root, subject="a@b.c", issuer_regexp=r"https://token\.actions\..*")
    assert identity.matches(subject="a@b.c", issuer="https://token.actions.githubusercontent.com")
    assert not identity.matches(subject="A@b.c", issuer="https://token.actions.githubusercontent.com")


def test_yaml_anchors_and_merge_keys_are_fine(write) -> None:  # type: ignore[no-untyped-def]
    text = doc(
        rules="rules:\n  - &r\n    repos: ['**']\n    mode: head\n    signers: [alice]\n    branches: [main]\n"
        "  - <<: *r\n    branches: [dev]\n"
    )
    policy = load_policy(write(text))
    assert policy.rule_for("any", "dev").index == 1
