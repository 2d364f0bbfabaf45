"""The ``images:`` rules of the verify policy: parsing, fail-closed errors, most-specific selection, k-of-n with
required authorities, and a policy hash that follows every byte of trust material."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitsecure.crypto.cosign_keys import generate_key_pair
from gitsecure.errors import InputError, UsageError
from gitsecure.verify.images.authority import public_good_trusted_root
from gitsecure.verify.images.quick_policy import image_policy_from_flags
from gitsecure.verify.images.rules import ImageRule, normalize_image_glob, select_image_rule
from gitsecure.verify.policy import load_policy

ROOT = Path(__file__).parents[2] / "fixtures" / "gitsign" / "trusted_root.json"
Write = Callable[[str], Path]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three cosign key pairs (ci, release, qa), a private key file and a custom trusted root."""
    out = tmp_path_factory.mktemp("imagekeys")
    for name in ("ci", "release", "qa"):
        private, public = generate_key_pair(b"pw")
        (out / f"{name}.pub").write_bytes(public)
        (out / f"{name}.key").write_bytes(private)
    shutil.copy(ROOT, out / "root.json")
    return out


@pytest.fixture
def write(tmp_path: Path, keys: Path) -> Write:
    shutil.copytree(keys, tmp_path / "keys")

    def _write(text: str) -> Path:
        path = tmp_path / "policy.yaml"
        path.write_text(text)
        return path

    return _write


IMAGES_ONLY = """\
version: 1
authorities:
  - name: ci
    keys: [keys/ci.pub]
  - name: release
    keyless: {identity: release@example.com, issuer: https://issuer.example}
    trusted_root: keys/root.json
  - name: qa
    keys: keys/qa.pub
images:
  - glob: "registry.example/acme/**"
    authorities: [ci, release, qa]
    threshold: 2
    require: [release]
  - glob: "registry.example/acme/tools/*"
    authorities: [ci]
    mode: warn
    require_tlog: true
    attestations: [https://slsa.dev/provenance/v1]
"""


def test_images_only_policy_loads_with_its_fields(write: Write) -> None:
    policy = load_policy(write(IMAGES_ONLY))
    assert policy.rules == () and not policy.signers
    assert set(policy.authorities) == {"ci", "release", "qa"}
    first, second = policy.images
    assert (first.threshold, first.require, first.mode, first.require_tlog) == (2, ("release",), "enforce", False)
    assert (second.mode, second.require_tlog, second.attestations) == (
        "warn",
        True,
        ("https://slsa.dev/provenance/v1",),
    )
    release = policy.authorities["release"]
    assert release.authority.keyless is not None
    assert release.authority.keyless.trusted_root_json == ROOT.read_bytes() == release.trusted_root
    assert policy.authorities["ci"].trusted_root_origin == "public-good"
    assert policy.authorities["ci"].trusted_root == public_good_trusted_root()


def test_images_only_policy_has_no_commit_rule(write: Write) -> None:
    policy = load_policy(write(IMAGES_ONLY))
    with pytest.raises(InputError) as caught:
        policy.rule_for("github.com/acme/app", "main")
    assert caught.value.reference == "policy-no-rule"
    assert "image rules only" in (caught.value.hint or "")


def test_commit_and_image_rules_together(write: Write) -> None:
    text = IMAGES_ONLY.replace(
        "version: 1\n",
        "version: 1\nsigners:\n  - name: dev\n    ssh: {keys: ['ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl']}\n"
        "rules:\n  - repos: ['**']\n    mode: head\n    signers: [dev]\n",
    )
    policy = load_policy(write(text))
    assert policy.rule_for("github.com/acme/app", "main").signers == ("dev",)
    assert len(policy.images) == 2


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("threshold: 2", "threshold: 4"), "images[0].threshold"),
        (("threshold: 2", "threshold: 0"), "images[0].threshold"),
        (("threshold: 2", "threshold: true"), "images[0].threshold"),
        (("require: [release]", "require: [nobody]"), "images[0].require[0]"),
        (("threshold: 2\n    require: [release]", "threshold: 1\n    require: [release, ci]"), "images[0].threshold"),
        (("authorities: [ci, release, qa]", "authorities: [ci, ci, qa]"), "images[0].authorities[1]"),
        (("authorities: [ci, release, qa]", "authorities: [ci, ghost, qa]"), "images[0].authorities[1]"),
        (("mode: warn", "mode: audit"), "images[1].mode"),
        (("require_tlog: true", "require_tlog: yes please"), "images[1].require_tlog"),
        (('glob: "registry.example/acme/tools/*"', 'glob: "registry.example/acme/**"'), "images[1].glob"),
        (('glob: "registry.example/acme/tools/*"', 'glob: "registry.example/acme/tools:v1"'), "images[1].glob"),
        (('glob: "registry.example/acme/tools/*"', "glob: [a, b]"), "images[1].glob"),
        (("keys: [keys/ci.pub]", "keys: [keys/missing.pub]"), "authorities[0].keys[0]"),
        (("keys: [keys/ci.pub]", "keys: [keys/ci.key]"), "authorities[0].keys[0]"),
        (("keys: [keys/ci.pub]", "keys: [keys/root.json]"), "authorities[0].keys[0]"),
        (("keys: keys/qa.pub", "keys: keys/ci.pub"), "authorities[2].keys[0]"),
        (("keys: [keys/ci.pub]", "keys: [keys/ci.pub]\n    colour: blue"), "authorities[0].colour"),
        (("identity: release@example.com, ", ""), "authorities[1].keyless"),
        (("identity: release@example.com", "identity_regexp: '(unclosed'"), "authorities[1].keyless.identity_regexp"),
        (
            ("issuer: https://issuer.example}", "issuer: https://issuer.example, issuer_regexp: x}"),
            "authorities[1].keyless",
        ),
        (("trusted_root: keys/root.json", "trusted_root: keys/ci.pub"), "authorities[1].trusted_root"),
        (
            (
                "  - name: qa\n    keys: keys/qa.pub\n",
                "  - name: qa\n    keys: keys/qa.pub\n  - name: idle\n    keys: keys/release.pub\n",
            ),
            "authorities[3]",
        ),
        (("  - name: qa\n", "  - name: ci\n"), "authorities[2].name"),
    ],
)
def test_refused(write: Write, change: tuple[str, str], where: str) -> None:
    assert change[0] in IMAGES_ONLY
    with pytest.raises(InputError) as caught:
        load_policy(write(IMAGES_ONLY.replace(change[0], change[1], 1)))
    assert caught.value.reference == "invalid-policy"
    assert f": {where}:" in caught.value.message


def test_authorities_without_images_refused(write: Write) -> None:
    with pytest.raises(InputError, match="images: required"):
        load_policy(write(IMAGES_ONLY.split("images:", maxsplit=1)[0]))


def test_empty_policy_refused(write: Write) -> None:
    with pytest.raises(InputError, match="empty policy"):
        load_policy(write("# nothing\n"))


def test_a_keyless_identity_twice_is_refused(write: Write) -> None:
    text = IMAGES_ONLY.replace(
        "  - name: qa\n    keys: keys/qa.pub\n",
        "  - name: qa\n    keyless: {identity: release@example.com, issuer: https://issuer.example}\n",
    )
    with pytest.raises(InputError, match=r"authorities\[2\].keyless: the same key material"):
        load_policy(write(text))


# -- selection ------------------------------------------------------------------------------


def rule(index: int, glob: str) -> ImageRule:
    return ImageRule(index, normalize_image_glob(glob), ("a",))


@pytest.mark.parametrize(
    ("image", "winner"),
    [
        ("registry.example/acme/app", 1),  # longer literal prefix than **
        ("registry.example/acme/tools/lint", 2),  # longest literal prefix
        ("registry.example/acme/tools/lint/x", 1),  # tools/* stays in one segment
        ("registry.example/other", 0),
        ("registry.example/acme/web-1", 3),  # same prefix as acme/*, fewer wildcards
    ],
)
def test_most_specific_rule_wins(image: str, winner: int) -> None:
    rules = [
        rule(0, "registry.example/**"),
        rule(1, "registry.example/acme/**"),
        rule(2, "registry.example/acme/tools/*"),
        rule(3, "registry.example/acme/web-?"),
    ]
    chosen = select_image_rule(rules, image, origin="p.yaml")
    assert chosen is not None and chosen.index == winner


def test_no_rule_is_none_and_a_tie_is_an_error() -> None:
    rules = [rule(0, "registry.example/a*"), rule(1, "registry.example/a?")]
    assert select_image_rule(rules, "elsewhere.example/a", origin="p.yaml") is None
    assert select_image_rule(rules, "registry.example/abc", origin="p.yaml") is not None  # only a* matches
    with pytest.raises(InputError) as caught:
        select_image_rule(rules, "registry.example/ab", origin="p.yaml")  # same prefix, one wildcard each
    assert caught.value.reference == "policy-ambiguous"


@pytest.mark.parametrize(
    ("glob", "normal"),
    [
        ("nginx", "index.docker.io/library/nginx"),
        ("docker.io/nginx", "index.docker.io/library/nginx"),
        ("docker.io/acme/*", "index.docker.io/acme/*"),
        ("acme/app", "index.docker.io/acme/app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("127.0.0.1:5000/**", "127.0.0.1:5000/**"),
        ("**", "**"),
    ],
)
def test_glob_normalisation(glob: str, normal: str) -> None:
    assert normalize_image_glob(glob) == normal


@pytest.mark.parametrize("glob", ["nginx:latest", "ghcr.io/a/b:v1", "ghcr.io/a@sha256:00", "", "a b"])
def test_bad_globs(glob: str) -> None:
    with pytest.raises(ValueError):
        normalize_image_glob(glob)


# -- k of n ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "problems"),
    [
        ({"ci", "release"}, 0),
        ({"release", "qa"}, 0),
        ({"ci", "qa"}, 1),  # two, but the required one is missing
        ({"release"}, 1),  # required, but below the threshold
        (set(), 2),
        ({"release", "stranger"}, 1),  # not an authority of the rule: does not count
    ],
)
def test_threshold_and_require(signed: set[str], problems: int) -> None:
    two_of_three = ImageRule(0, "**", ("ci", "release", "qa"), threshold=2, require=("release",))
    assert len(two_of_three.quorum_problems(signed)) == problems


def test_rule_model_refuses_impossible_quorums() -> None:
    with pytest.raises(ValueError):
        ImageRule(0, "**", ("a", "b"), threshold=3)
    with pytest.raises(ValueError):
        ImageRule(0, "**", ("a", "b"), threshold=1, require=("a", "b"))
    with pytest.raises(ValueError):
        ImageRule(0, "**", ("a",), mode="audit")  # type: ignore[arg-type]


# -- the policy hash ------------------------------------------------------------------------


def test_hash_follows_trust_bytes_and_rules(write: Write, tmp_path: Path) -> None:
    base = load_policy(write(IMAGES_ONLY)).hash
    assert load_policy(write(IMAGES_ONLY + "# a comment\n")).hash == base
    root = tmp_path / "keys" / "root.json"
    document = json.loads(root.read_text())
    root.write_text(json.dumps(document, indent=1))  # same trust, other bytes: a new hash all the same
    assert load_policy(write(IMAGES_ONLY)).hash != base
    shutil.copy(ROOT, root)
    assert load_policy(write(IMAGES_ONLY)).hash == base
    shutil.copy(tmp_path / "keys" / "release.pub", tmp_path / "keys" / "ci.pub")  # rotated key
    rotated = load_policy(write(IMAGES_ONLY)).hash
    assert rotated != base
    for change in (
        ("threshold: 2", "threshold: 3"),
        ("mode: warn", "mode: enforce"),
        ("require_tlog: true", "require_tlog: false"),
    ):
        assert load_policy(write(IMAGES_ONLY.replace(*change))).hash != rotated


def test_commit_only_policy_hash_unchanged_by_the_image_support(write: Write) -> None:
    from gitsecure.verify.policy import Rule, Signer, policy_hash

    signer = Signer(
        "ci", ssh_keys=("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",)
    )
    rules = [Rule(0, ("**",), "head", ("ci",))]
    assert policy_hash(1, [signer], rules) == policy_hash(1, [signer], rules, authorities=[], images=[])


# -- quick flags ----------------------------------------------------------------------------


def test_flags_policy(keys: Path) -> None:
    policy = image_policy_from_flags(
        keys=[keys / "ci.pub", keys / "qa.pub", keys / "ci.pub"],
        identity=None,
        identity_regexp=r".*@example\.com",
        issuer="https://issuer.example",
        issuer_regexp=None,
        trusted_root=keys / "root.json",
        threshold=3,
    )
    assert list(policy.authorities) == ["key-1", "key-2", "keyless"]
    (only,) = policy.images
    assert (only.glob, only.threshold) == ("**", 3)
    assert select_image_rule(policy.images, "anything.example/x/y", origin="flags") is only


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"keys": ["ci.pub"], "threshold": 2},
        {"keys": ["ci.key"]},
        {"keys": ["root.json"]},
        {"identity": "a@b"},
        {"issuer": "https://x"},
        {"identity_regexp": "(", "issuer": "https://x"},
        {"keys": ["ci.pub"], "trusted_root": "ci.pub"},
    ],
)
def test_flags_refused(keys: Path, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "keys": [],
        "identity": None,
        "identity_regexp": None,
        "issuer": None,
        "issuer_regexp": None,
        "trusted_root": None,
        "threshold": None,
    }
    args.update(kwargs)
    args["keys"] = [keys / str(name) for name in args["keys"]]  # type: ignore[attr-defined]
    if args["trusted_root"] is not None:
        args["trusted_root"] = keys / str(args["trusted_root"])
    with pytest.raises(UsageError):
        image_policy_from_flags(**args)  # type: ignore[arg-type]
