"""GpgKeyring and check_openpgp with real gpg keys, real `git commit -S`, and gpg's own verdict as the reference."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from collections.abc import Iterator

import pytest

from gitsecure.crypto.openpgp import parse_armored_signature
from gitsecure.crypto.openpgp_packets import dearmor
from gitsecure.errors import InputError
from gitsecure.verify.gnupg_keys import GpgKeyring, PgpResult, check_openpgp
from gitsecure.verify.gpg_colons import parse_key_listing
from tests.support.gitrepo import GitRepo
from tests.support.gpgkit import (
    REVOKE_COMPROMISED,
    REVOKE_NO_REASON,
    REVOKE_SUPERSEDED,
    GpgKit,
    armor_signature,
    forge_signature,
    new_format_packet,
    strip_back_signatures,
    subpacket,
)
from tests.support.rawcommit import split_commit

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PAYLOAD = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\n\nmessage\n"


@dataclasses.dataclass
class World:
    """Keys made once: the signer's gpg home, fingerprints by name, the trusted ring, prepared signatures."""

    kit: GpgKit
    fpr: dict[str, str]
    ring: GpgKeyring
    sigs: dict[str, bytes]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    kit = GpgKit(tmp_path_factory.mktemp("gnupg-keys"))
    fpr: dict[str, str] = {}
    sigs: dict[str, bytes] = {}
    # Alice: certification-only primary with signing, encryption and (later revoked) signing subkeys.
    fpr["alice"] = kit.gen_key("Alice <alice@example.com>", "ed25519", "cert")
    fpr["alice-sign"] = kit.add_key(fpr["alice"], "ed25519", "sign")
    fpr["alice-cv25519"] = kit.add_key(fpr["alice"], "cv25519", "encr")
    fpr["alice-rsa-encr"] = kit.add_key(fpr["alice"], "rsa3072", "encr")
    fpr["alice-lost"] = kit.add_key(fpr["alice"], "ed25519", "sign")
    sigs["alice-lost"] = kit.sign(PAYLOAD, fpr["alice-lost"])
    kit.revoke_subkey(fpr["alice"], 4, REVOKE_COMPROMISED)
    fpr["bob"] = kit.gen_key("Bob <bob@example.com>", "rsa3072", "sign")
    fpr["nist"] = kit.gen_key("Nist <nist@example.com>", "nistp256", "sign")
    fpr["weak"] = kit.gen_key("Weak <weak@example.com>", "rsa1024", "sign")
    fpr["mallory"] = kit.gen_key("Mallory <mallory@example.com>", "ed25519", "sign")
    # Carol's key expires two days and an hour after T0; she signed on day 1 and on day 5.
    fpr["carol"] = kit.gen_key("Carol <carol@example.com>", "ed25519", "sign", "10d", at=T0)
    sigs["carol-before-expiry"] = kit.sign(PAYLOAD, fpr["carol"], at=T0 + DAY)
    sigs["carol-after-expiry"] = kit.sign(PAYLOAD, fpr["carol"], at=T0 + 5 * DAY)
    kit.set_expire(fpr["carol"], "1d", at=T0 + DAY + dt.timedelta(hours=1))
    # Dave (compromised), Erin (superseded) and Frank (no reason) were revoked on day 2.
    for name, reason in (("dave", REVOKE_COMPROMISED), ("erin", REVOKE_SUPERSEDED), ("frank", REVOKE_NO_REASON)):
        fpr[name] = kit.gen_key(f"{name.title()} <{name}@example.com>", "ed25519", "sign", at=T0)
        sigs[f"{name}-before-revocation"] = kit.sign(PAYLOAD, fpr[name], at=T0 + DAY)
        kit.revoke(fpr[name], reason, at=T0 + 2 * DAY)
    # gpg refuses to sign with a revoked key, so Erin's later signature is forged with her secret key.
    sigs["erin-after-revocation"] = forge_signature(
        kit.secret_key(fpr["erin"]), PAYLOAD, issuer=fpr["erin"], created=T0 + 3 * DAY
    ).armored
    # Gina's primary expires while her signing subkey does not; Hank's primary is revoked (compromised).
    fpr["gina"] = kit.gen_key("Gina <gina@example.com>", "ed25519", "cert", "10d", at=T0)
    fpr["gina-sign"] = kit.add_key(fpr["gina"], "ed25519", "sign", at=T0)
    sigs["gina-subkey-after-primary-expiry"] = kit.sign(PAYLOAD, fpr["gina-sign"], at=T0 + 5 * DAY)
    kit.set_expire(fpr["gina"], "1d", at=T0 + DAY)
    fpr["hank"] = kit.gen_key("Hank <hank@example.com>", "ed25519", "cert", at=T0)
    fpr["hank-sign"] = kit.add_key(fpr["hank"], "ed25519", "sign", at=T0)
    sigs["hank-subkey-primary-revoked"] = kit.sign(PAYLOAD, fpr["hank-sign"], at=T0 + DAY)
    kit.revoke(fpr["hank"], REVOKE_COMPROMISED, at=T0 + 2 * DAY)
    fpr["sigexp"] = kit.gen_key("Sig Exp <sigexp@example.com>", "ed25519", "sign", at=T0)
    sigs["signature-expired"] = kit.sign(PAYLOAD, fpr["sigexp"], at=T0 + DAY, extra=("--default-sig-expire", "1d"))
    # Xavier's signing subkey loses its back-signature in the copy the ring trusts.
    fpr["xavier"] = kit.gen_key("Xavier <xavier@example.com>", "ed25519", "cert")
    fpr["xavier-sign"] = kit.add_key(fpr["xavier"], "ed25519", "sign")
    trusted = [kit.export(fpr[name]) for name in ("alice", "bob", "nist", "weak", "carol", "dave", "erin", "frank")]
    trusted += [kit.export(fpr["gina"]), kit.export(fpr["hank"])]
    trusted += [kit.export(fpr["sigexp"]), strip_back_signatures(kit.export(fpr["xavier"], armor=False))]
    ring = GpgKeyring(trusted)
    yield World(kit, fpr, ring, sigs)
    ring.close()
    kit.close()


# -- the keyring and its facts ------------------------------------------------------------------------------------


def test_facts_are_keyed_by_every_usable_key_fingerprint(world: World) -> None:
    facts, keys = world.ring.facts(), world.ring.keys()
    assert world.fpr["mallory"] not in facts
    for name in ("alice", "alice-sign", "alice-cv25519", "alice-rsa-encr", "alice-lost", "bob", "carol"):
        assert world.fpr[name] in facts and world.fpr[name] in keys
    assert set(facts) == set(keys)
    for fingerprint, fact in facts.items():
        assert fact.subkey_fingerprint == fingerprint
        assert fact.primary_fingerprint == keys[fingerprint].primary_fingerprint


def test_capabilities_uids_and_subkeys(world: World) -> None:
    facts = world.ring.facts()
    alice = facts[world.fpr["alice"]]
    assert not alice.can_sign  # certification only: the upper-case S of the whole key must not count
    assert facts[world.fpr["alice-sign"]].can_sign
    assert not facts[world.fpr["alice-cv25519"]].can_sign and not facts[world.fpr["alice-rsa-encr"]].can_sign
    assert facts[world.fpr["alice-sign"]].primary_fingerprint == world.fpr["alice"]
    assert alice.uids == ("Alice <alice@example.com>",) == facts[world.fpr["alice-sign"]].uids
    assert facts[world.fpr["bob"]].can_sign and facts[world.fpr["bob"]].expires is None


def test_creation_and_expiry_times(world: World) -> None:
    carol = world.ring.fact(world.fpr["carol"])
    assert carol is not None
    assert carol.created == T0
    assert carol.expires == T0 + 2 * DAY + dt.timedelta(hours=1)
    assert not carol.revoked


@pytest.mark.parametrize(("name", "reason", "hard"), [("dave", 2, True), ("erin", 1, False), ("frank", 0, True)])
def test_revocation_time_and_reason(world: World, name: str, reason: int, hard: bool) -> None:
    fact = world.ring.fact(world.fpr[name])
    assert fact is not None and fact.revoked
    assert fact.revoked_at == T0 + 2 * DAY
    assert fact.revocation_reason == reason
    assert fact.hard_revoked is hard
    assert fact.uids == (f"{name.title()} <{name}@example.com>",)


def test_subkey_revocation_is_the_subkey_s_own(world: World) -> None:
    lost = world.ring.fact(world.fpr["alice-lost"])
    assert lost is not None and lost.revoked and lost.revocation_reason == 2 and lost.hard_revoked
    alice = world.ring.fact(world.fpr["alice"])
    assert alice is not None and not alice.revoked


def test_cross_certification_follows_the_back_signature(world: World) -> None:
    keys = world.ring.keys()
    assert keys[world.fpr["alice-sign"]].cross_certified
    assert not keys[world.fpr["xavier-sign"]].cross_certified


def test_the_home_is_removed_and_no_agent_is_left(world: World) -> None:
    with GpgKeyring([world.kit.export(world.fpr["bob"])]) as ring:
        home = ring.home
        assert home.is_dir()
        result = check_openpgp(world.kit.sign(PAYLOAD, world.fpr["bob"]), PAYLOAD, ring)
        assert result.ok
        assert ring.gpg_verify(PAYLOAD, world.kit.sign(PAYLOAD, world.fpr["bob"])) == world.fpr["bob"]
        assert not [path for path in home.iterdir() if path.name.startswith("S.")]
    assert not home.exists()
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, check=True).stdout.decode()
    assert str(home) not in processes


def test_a_secret_key_is_refused(world: World) -> None:
    secret = world.kit.gpg("--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--armor",
                           "--export-secret-keys", world.fpr["mallory"]).stdout  # fmt: skip
    with pytest.raises(InputError) as info:
        GpgKeyring([world.kit.export(world.fpr["bob"]), secret])
    assert info.value.reference == "secret-key" and "key 2" in info.value.message


def test_a_missing_gpg_is_a_configuration_error() -> None:
    with pytest.raises(InputError) as info:
        GpgKeyring([b"irrelevant"], gpg_binary="/nonexistent/gpg")
    assert info.value.reference == "gpg-unavailable"


@pytest.mark.parametrize("data", [b"", b"not a key", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=AAAA\n"])
def test_a_key_file_without_a_key_is_refused(data: bytes) -> None:
    with pytest.raises(InputError) as info:
        GpgKeyring([data])
    assert info.value.reference == "no-openpgp-key"


# -- check_openpgp, against gpg's own verdict ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One signature to judge: the problem we must report (None = accepted), and where gpg differs by design."""

    sig: str
    problem: str | None
    signer: str | None = None
    payload: bytes = PAYLOAD
    deviates: frozenset[str] = frozenset()


def _sign(world: World, name: str, **kwargs: object) -> bytes:
    return world.kit.sign(PAYLOAD, world.fpr[name], **kwargs)  # type: ignore[arg-type]


def _forge(world: World, name: str, *, created: dt.datetime | None = None, **kwargs: object) -> bytes:
    key = world.kit.secret_key(world.fpr[name])
    when = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
    return forge_signature(key, PAYLOAD, issuer=world.fpr[name], created=when, **kwargs).armored  # type: ignore[arg-type]


def _two_signatures(world: World) -> bytes:
    data = dearmor(_sign(world, "bob"), label="SIGNATURE")
    return armor_signature(data + dearmor(_sign(world, "bob"), label="SIGNATURE"))


def _trailing_user_id(world: World) -> bytes:
    data = dearmor(_sign(world, "alice-sign"), label="SIGNATURE")
    return armor_signature(data + new_format_packet(13, b"Alice <alice@example.com>"))


def _issuer_key_id_only(world: World) -> bytes:
    key_id = world.fpr["alice-sign"][-16:]
    hashed = subpacket(2, int(dt.datetime.now(dt.UTC).timestamp()).to_bytes(4, "big"))
    return _forge(world, "alice-sign", hashed=hashed, unhashed=subpacket(16, bytes.fromhex(key_id)))


def _no_issuer(world: World) -> bytes:
    hashed = subpacket(2, int(dt.datetime.now(dt.UTC).timestamp()).to_bytes(4, "big"))
    return _forge(world, "alice-sign", hashed=hashed)


def _critical_unknown(world: World) -> bytes:
    now = int(dt.datetime.now(dt.UTC).timestamp()).to_bytes(4, "big")
    hashed = (
        subpacket(33, b"\x04" + bytes.fromhex(world.fpr["bob"]))
        + subpacket(2, now)
        + subpacket(101, b"x", critical=True)
    )
    return _forge(world, "bob", hashed=hashed)


def _issuer_lies(world: World) -> bytes:
    # Made by Mallory's key but naming Bob's fingerprint as issuer.
    key = world.kit.secret_key(world.fpr["mallory"])
    return forge_signature(key, PAYLOAD, issuer=world.fpr["bob"], created=dt.datetime.now(dt.UTC)).armored


def _issuer_lies_same_algorithm(world: World) -> bytes:
    key = world.kit.secret_key(world.fpr["mallory"])
    return forge_signature(key, PAYLOAD, issuer=world.fpr["alice-sign"], created=dt.datetime.now(dt.UTC)).armored


BUILDERS = {
    "ed25519-subkey": lambda w: _sign(w, "alice-sign"),
    "ed25519-subkey-text": lambda w: _sign(w, "alice-sign", text=True),
    "rsa3072-primary": lambda w: _sign(w, "bob"),
    "rsa3072-primary-sha512": lambda w: _sign(w, "bob", digest="SHA512"),
    "ecdsa-p256-primary": lambda w: _sign(w, "nist"),
    "issuer-key-id-only": _issuer_key_id_only,
    "tampered": lambda w: _sign(w, "alice-sign"),
    "untrusted-key": lambda w: _sign(w, "mallory"),
    "issuer-names-another-key": _issuer_lies,
    "issuer-names-another-key-same-algorithm": _issuer_lies_same_algorithm,
    "no-issuer": _no_issuer,
    "sha1": lambda w: _sign(w, "bob", digest="SHA1"),
    "garbage": lambda w: b"-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n-----END PGP SIGNATURE-----\n",
    "two-signatures": _two_signatures,
    "trailing-user-id": _trailing_user_id,
    "critical-unknown-subpacket": _critical_unknown,
    "encryption-subkey-signs": lambda w: _forge(w, "alice-rsa-encr"),
    "certification-primary-signs": lambda w: _forge(w, "alice"),
    "not-cross-certified": lambda w: _sign(w, "xavier-sign"),
    "before-key-creation": lambda w: _forge(w, "alice-sign", created=T0),
    "weak-rsa1024": lambda w: _sign(w, "weak"),
    "revoked-subkey": lambda w: w.sigs["alice-lost"],
    "carol-before-expiry": lambda w: w.sigs["carol-before-expiry"],
    "carol-after-expiry": lambda w: w.sigs["carol-after-expiry"],
    "dave-compromised-signed-before": lambda w: w.sigs["dave-before-revocation"],
    "frank-no-reason-signed-before": lambda w: w.sigs["frank-before-revocation"],
    "erin-superseded-signed-before": lambda w: w.sigs["erin-before-revocation"],
    "erin-superseded-signed-after": lambda w: w.sigs["erin-after-revocation"],
    "signature-expired": lambda w: w.sigs["signature-expired"],
    "subkey-of-expired-primary": lambda w: w.sigs["gina-subkey-after-primary-expiry"],
    "subkey-of-revoked-primary": lambda w: w.sigs["hank-subkey-primary-revoked"],
}

TAMPERED = PAYLOAD.replace(b"message", b"massage")
CASES = {
    "ed25519-subkey": Case("ed25519-subkey", None, "alice"),
    "ed25519-subkey-text": Case("ed25519-subkey-text", None, "alice"),
    "rsa3072-primary": Case("rsa3072-primary", None, "bob"),
    "rsa3072-primary-sha512": Case("rsa3072-primary-sha512", None, "bob"),
    "ecdsa-p256-primary": Case("ecdsa-p256-primary", None, "nist"),
    "issuer-key-id-only": Case("issuer-key-id-only", None, "alice"),
    "tampered": Case("tampered", "bad signature", payload=TAMPERED),
    "untrusted-key": Case("untrusted-key", "untrusted key"),
    "issuer-names-another-key": Case("issuer-names-another-key", "signature does not match key"),
    "issuer-names-another-key-same-algorithm": Case("issuer-names-another-key-same-algorithm", "bad signature"),
    "no-issuer": Case("no-issuer", "signature names no issuer"),
    "sha1": Case("sha1", "weak hash algorithm"),
    "garbage": Case("garbage", "malformed signature"),
    "two-signatures": Case("two-signatures", "malformed signature"),
    "trailing-user-id": Case("trailing-user-id", "malformed signature"),
    "critical-unknown-subpacket": Case("critical-unknown-subpacket", "malformed signature"),
    "encryption-subkey-signs": Case("encryption-subkey-signs", "key cannot sign"),
    "certification-primary-signs": Case("certification-primary-signs", "key cannot sign"),
    "not-cross-certified": Case("not-cross-certified", "subkey not cross-certified"),
    "before-key-creation": Case("before-key-creation", "signature predates key"),
    # Policy, not math: gpg still accepts 1024-bit RSA.
    "weak-rsa1024": Case("weak-rsa1024", "weak key", deviates=frozenset({"now", "at"})),
    "revoked-subkey": Case("revoked-subkey", "key revoked"),
    # Expiry is judged at the signature's time; gpg judges it now (and agrees when its clock is set back).
    "carol-before-expiry": Case("carol-before-expiry", None, "carol", deviates=frozenset({"now"})),
    "carol-after-expiry": Case("carol-after-expiry", "key expired"),
    "dave-compromised-signed-before": Case("dave-compromised-signed-before", "key revoked"),
    "frank-no-reason-signed-before": Case("frank-no-reason-signed-before", "key revoked"),
    # A soft revocation does not reach back; gpg rejects every signature by a revoked key.
    "erin-superseded-signed-before": Case(
        "erin-superseded-signed-before", None, "erin", deviates=frozenset({"now", "at"})
    ),
    "erin-superseded-signed-after": Case("erin-superseded-signed-after", "key revoked"),
    "signature-expired": Case("signature-expired", "signature expired"),
    "subkey-of-expired-primary": Case("subkey-of-expired-primary", "key expired"),
    "subkey-of-revoked-primary": Case("subkey-of-revoked-primary", "key revoked"),
}


@pytest.fixture(scope="module")
def signatures(world: World) -> dict[str, bytes]:
    return {name: build(world) for name, build in BUILDERS.items()}


def _created(sig: bytes) -> dt.datetime | None:
    try:
        return parse_armored_signature(sig).created
    except Exception:
        return None


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_verdict_and_reason_match_gpg(world: World, signatures: dict[str, bytes], case: Case) -> None:
    sig = signatures[case.sig]
    ours = check_openpgp(sig, case.payload, world.ring)
    assert ours.problem == case.problem
    assert ours.ok is (case.problem is None)
    if case.signer is not None:
        assert ours.primary_fingerprint == world.fpr[case.signer]
    created = _created(sig)
    # At the signature's own time, our verdict and gpg's (with its clock set there) agree.
    ours_then = check_openpgp(sig, case.payload, world.ring, now=created)
    gpg_then = world.ring.gpg_verify(case.payload, sig, at=created)
    assert ours_then.ok is (gpg_then is not None) or "at" in case.deviates
    assert ours_then.ok is not (gpg_then is not None) or "at" not in case.deviates
    # Now, they agree except where the semantics above differ on purpose.
    gpg_now = world.ring.gpg_verify(case.payload, sig)
    assert ours.ok is (gpg_now is not None) or "now" in case.deviates
    assert ours.ok is not (gpg_now is not None) or "now" not in case.deviates
    for verdict, reference in ((ours, gpg_now), (ours_then, gpg_then)):
        if verdict.ok and reference is not None:
            assert verdict.primary_fingerprint == reference


def test_the_signing_subkey_is_reported(world: World, signatures: dict[str, bytes]) -> None:
    result = check_openpgp(signatures["ed25519-subkey"], PAYLOAD, world.ring)
    assert result == PgpResult(True, world.fpr["alice"], world.fpr["alice-sign"], None, result.created)
    primary = check_openpgp(signatures["rsa3072-primary"], PAYLOAD, world.ring)
    assert primary.subkey_fingerprint == primary.primary_fingerprint == world.fpr["bob"]


def test_signature_expiry_is_judged_at_now(world: World, signatures: dict[str, bytes]) -> None:
    sig = signatures["signature-expired"]
    assert check_openpgp(sig, PAYLOAD, world.ring, now=T0 + DAY + dt.timedelta(hours=23)).ok
    assert check_openpgp(sig, PAYLOAD, world.ring, now=T0 + 2 * DAY).problem == "signature expired"


def test_text_signatures_accept_crlf_payloads(world: World, signatures: dict[str, bytes]) -> None:
    crlf = PAYLOAD.replace(b"\n", b"\r\n")
    assert check_openpgp(signatures["ed25519-subkey-text"], crlf, world.ring).ok
    assert check_openpgp(signatures["ed25519-subkey"], crlf, world.ring).problem == "bad signature"


# -- real git ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_repo(world: World, tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    root = tmp_path_factory.mktemp("git")
    repo = GitRepo(root / "repo", home=root)
    repo.env["GNUPGHOME"] = str(world.kit.home)
    for name, key in (("alice", world.fpr["alice-sign"] + "!"), ("bob", world.fpr["bob"])):
        repo.write(f"{name}.txt", name)
        repo.git("add", "-A")
        repo.git("-c", f"user.signingkey={key}", "commit", "-q", "-S", "-m", f"signed by {name}")
        repo.git("tag", f"by-{name}")
    repo.git("-c", f"user.signingkey={world.fpr['bob']}", "tag", "-s", "-m", "release", "v1", "by-bob")
    return repo


@pytest.mark.parametrize("signer", ["alice", "bob"])
def test_commits_signed_by_git_verify(world: World, signed_repo: GitRepo, signer: str) -> None:
    raw = signed_repo.git("cat-file", "commit", f"by-{signer}").stdout
    signature, payload = split_commit(raw)
    result = check_openpgp(signature, payload, world.ring)
    assert result.ok and result.primary_fingerprint == world.fpr[signer]
    assert world.ring.gpg_verify(payload, signature) == world.fpr[signer]
    assert signed_repo.git("verify-commit", f"by-{signer}", check=False).returncode == 0
    tampered = payload.replace(f"signed by {signer}".encode(), b"signed by mallory")
    assert check_openpgp(signature, tampered, world.ring).problem == "bad signature"
    assert world.ring.gpg_verify(tampered, signature) is None


def test_a_signature_copied_to_another_commit_is_bad(world: World, signed_repo: GitRepo) -> None:
    alice_sig, _ = split_commit(signed_repo.git("cat-file", "commit", "by-alice").stdout)
    _, bob_payload = split_commit(signed_repo.git("cat-file", "commit", "by-bob").stdout)
    assert check_openpgp(alice_sig, bob_payload, world.ring).problem == "bad signature"
    assert world.ring.gpg_verify(bob_payload, alice_sig) is None


def test_a_signed_tag_verifies(world: World, signed_repo: GitRepo) -> None:
    raw = signed_repo.git("cat-file", "tag", "v1").stdout
    start = raw.index(b"-----BEGIN PGP SIGNATURE-----")
    payload, signature = raw[:start], raw[start:]
    result = check_openpgp(signature, payload, world.ring)
    assert result.ok and result.primary_fingerprint == world.fpr["bob"]
    assert world.ring.gpg_verify(payload, signature) == world.fpr["bob"]
    assert check_openpgp(signature, payload.replace(b"release", b"Release"), world.ring).problem == "bad signature"


# -- the colon listing, record by record ---------------------------------------------------------------------------

PRIMARY = "A" * 40
SUBKEY = "B" * 40


def _listing(*records: str) -> str:
    return "\n".join(["tru::1:0:0:3:1:5", *records]) + "\n"


def _pub(validity: str = "u", caps: str = "scSC", created: str = "1577836800", expires: str = "") -> list[str]:
    return [
        f"pub:{validity}:255:22:{PRIMARY[-16:]}:{created}:{expires}::u:::{caps}:::::ed25519:::0:",
        f"fpr:::::::::{PRIMARY}:",
    ]


def _sub(validity: str = "u", caps: str = "s") -> list[str]:
    return [f"sub:{validity}:255:22:{SUBKEY[-16:]}:1577836800::::::{caps}:::::ed25519::", f"fpr:::::::::{SUBKEY}:"]


def _rev(status: str, created: str, sig_class: str) -> str:
    return f"rev:{status}::22:{PRIMARY[-16:]}:{created}::::A:{sig_class}::{PRIMARY}:::8:"


def test_colons_a_designated_revoker_leaves_the_time_unknown_so_the_revocation_is_hard() -> None:
    facts = parse_key_listing(_listing(*_pub("r"), "uid:r::::1::X::A <a@example.com>::::::::::0:"))
    fact = facts[PRIMARY]
    assert fact.revoked and fact.revoked_at is None and fact.revocation_reason is None and fact.hard_revoked
    assert fact.uids == ("A <a@example.com>",)


def test_colons_invalid_keys_and_subkeys_are_left_out() -> None:
    assert parse_key_listing(_listing(*_pub("i"), *_sub())) == {}
    assert set(parse_key_listing(_listing(*_pub(), *_sub("i")))) == {PRIMARY}
    assert set(parse_key_listing(_listing(*_pub(), *_sub("d")))) == {PRIMARY}


def test_colons_escapes_iso_times_and_revoked_user_ids() -> None:
    text = _listing(
        *_pub(created="20200101T000000", expires="20200201T000000"),
        "uid:u::::1::X::Some\\x3a One \\xc3\\xa9 <s@example.com>::::::::::0:",
        "uid:r::::1::X::Old <old@example.com>::::::::::0:",
        _rev("!", "1577836900", "30x"),
    )
    fact = parse_key_listing(text)[PRIMARY]
    assert fact.created == T0 and fact.expires == dt.datetime(2020, 2, 1, tzinfo=dt.UTC)
    assert fact.uids == ("Some: One é <s@example.com>",)
    assert not fact.revoked  # a user ID revocation is not a key revocation


def test_colons_only_verified_key_revocations_count_and_a_hard_one_wins() -> None:
    unverified = parse_key_listing(_listing(*_pub(), _rev("-", "1577836900", "20x,02"), _rev("?", "1577836900", "20x")))
    assert not unverified[PRIMARY].revoked
    text = _listing(*_pub("r"), _rev("!", "1577923200", "20x,01"), _rev("!", "1578009600", "20x,02"), *_sub())
    facts = parse_key_listing(text)
    assert facts[PRIMARY].revoked_at == T0 + DAY and facts[PRIMARY].revocation_reason == 2
    assert facts[PRIMARY].hard_revoked
    assert not facts[SUBKEY].revoked  # the primary's revocation is judged through the primary's facts
    soft = parse_key_listing(_listing(*_pub("r"), _rev("!", "1577923200", "20x,03")))[PRIMARY]
    assert soft.revocation_reason == 3 and not soft.hard_revoked
