"""allowed_signers: parsing, OpenSSH pattern and time semantics, and a differential check against ssh-keygen."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from gitsecure.crypto.sshkeys import SshPublicKey
from gitsecure.crypto.sshsig import parse_armored_sshsig
from gitsecure.errors import InputError
from gitsecure.verify import allowed_signers as a
from gitsecure.verify.allowed_signers import AllowedSigners, check_ssh
from gitsecure.verify.allowed_signers_syntax import match_pattern_list, parse_time
from tests.support.sshkit import SshKit, forge_sshsig, public_blob, raw_sign, sk_public_blob, sk_sign

PAYLOAD = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904\ncommitter Alice <alice@example.com> 1780000000 +0000\n\nx\n"
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
ALICE = "alice@example.com"


@dataclass
class World:
    kit: SshKit
    pub: dict[str, str]  # name -> "type base64"
    sig: dict[str, bytes]  # name -> armoured signature over PAYLOAD


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    kit = SshKit(tmp_path_factory.mktemp("allowed_signers"))
    keys = {name: kit.keygen(kind) for name, kind in [
        ("alice", "ed25519"), ("bob", "ecdsa256"), ("carol", "rsa"), ("dave", "ecdsa384"), ("erin", "ecdsa521"),
        ("ca", "ed25519"), ("rogue_ca", "ecdsa256"), ("other", "ed25519"),
    ]}  # fmt: skip
    pub = {name: kit.public(path) for name, path in keys.items()}
    certs = {
        "cert_alice": kit.certify(
            keys["ca"], keys["alice"], principals=f"{ALICE},alice", validity="20260101Z:20270101Z"
        ),
        "cert_expired": kit.certify(keys["ca"], keys["alice"], principals=ALICE, validity="20250101Z:20250601Z"),
        "cert_rogue": kit.certify(keys["rogue_ca"], keys["alice"], principals=ALICE),
        "cert_host": kit.certify(keys["ca"], keys["alice"], principals=ALICE, host=True),
        "cert_bob_only": kit.certify(keys["ca"], keys["bob"], principals="bob@example.com"),
        "cert_rsa": kit.certify(keys["ca"], keys["carol"], principals=ALICE, validity="20260101Z:20270101Z"),
    }
    sig = {name: kit.sign(path, PAYLOAD) for name, path in {**keys, **certs}.items()}
    sig["alice_file"] = kit.sign(keys["alice"], PAYLOAD, namespace="file")
    sig["alice_sha256"] = kit.sign(keys["alice"], PAYLOAD, hashalg="sha256")
    sig["carol_sha256"] = kit.sign(keys["carol"], PAYLOAD, hashalg="sha256")
    return World(kit, pub, sig)


CA_LINE = "*@example.com cert-authority {ca}"
BEFORE_CERTS = dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
CERTS_END = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def case(
    name: str, lines: list[str], sig: str, problem: str | None, principal: str = ALICE, at: dt.datetime = AT
) -> Any:
    """One differential case: allowed_signers lines ({key} placeholders), signature, expected problem (None = ok)."""
    return pytest.param(lines, principal, sig, problem, at, id=name)


CASES = [
    case("ed25519", ["{me} {alice}"], "alice", None),
    case("ecdsa256", ["{me} {bob}"], "bob", None),
    case("rsa", ["{me} {carol}"], "carol", None),
    case("ecdsa384", ["{me} {dave}"], "dave", None),
    case("ecdsa521", ["{me} {erin}"], "erin", None),
    case("sha256 hash", ["{me} {alice}"], "alice_sha256", None),
    case("rsa sha256 hash", ["{me} {carol}"], "carol_sha256", None),
    case("wildcard principal", ["*@example.com {alice}"], "alice", None),
    case("question-mark pattern", ["?lice@example.co? {alice}"], "alice", None),
    case("principal list", ["bob@example.com,alice@example.com {alice}"], "alice", None),
    case("quoted principals", ['"alice@example.com" {alice}'], "alice", None),
    case("comments and blanks", ["# team", "", "   # indented", "{me} {alice} laptop key"], "alice", None),
    case("negated principal", ["!alice@example.com,*@example.com {alice}"], "alice", a.PRINCIPAL_NOT_ALLOWED),
    case("principal differs", ["bob@example.com {alice}"], "alice", a.PRINCIPAL_NOT_ALLOWED),
    case("case-sensitive principal", ["Alice@example.com {alice}"], "alice", a.PRINCIPAL_NOT_ALLOWED),
    case("second line matches", ["bob@example.com {alice}", "{me} {alice}"], "alice", None),
    case("wrong namespace", ["{me} {alice}"], "alice_file", a.WRONG_NAMESPACE),
    case("wrong namespace, line allows it", ['{me} namespaces="file,git" {alice}'], "alice_file", a.WRONG_NAMESPACE),
    case("namespaces git", ['{me} namespaces="git" {alice}'], "alice", None),
    case("namespaces pattern", ['{me} NAMESPACES="file,g?t" {alice}'], "alice", None),
    case("namespaces file only", ['{me} namespaces="file" {alice}'], "alice", a.NAMESPACE_NOT_ALLOWED),
    case("namespaces negated", ['{me} namespaces="!git,*" {alice}'], "alice", a.NAMESPACE_NOT_ALLOWED),
    case("window contains time", ['{me} valid-after="20260101Z",valid-before="20270101Z" {alice}'], "alice", None),
    case("not yet valid", ['{me} valid-after="20260601120001Z" {alice}'], "alice", a.KEY_NOT_YET_VALID),
    case("valid-after inclusive", ['{me} valid-after="20260601120000Z" {alice}'], "alice", None),
    case("valid-before inclusive", ['{me} valid-before="202606011200Z" {alice}'], "alice", None),
    case("expired key", ['{me} valid-before="20260601115959Z" {alice}'], "alice", a.KEY_EXPIRED),
    case("expired, local time", ['{me} valid-before="20260501" {alice}'], "alice", a.KEY_EXPIRED),
    case("utc suffix", ['{me} valid-before="20260501UTC" {alice}'], "alice", a.KEY_EXPIRED),
    case("another key's signature", ["{me} {alice}"], "other", a.UNTRUSTED_KEY),
    case("cert accepted", [CA_LINE], "cert_alice", None),
    case("cert, exact line", ["{me} Cert-Authority {ca}"], "cert_alice", None),
    case("cert with rsa key", [CA_LINE], "cert_rsa", None),
    case("cert principal mismatch", [CA_LINE], "cert_bob_only", a.CERT_PRINCIPAL_MISMATCH),
    case("cert, line excludes", ["bob@example.com cert-authority {ca}"], "cert_alice", a.PRINCIPAL_NOT_ALLOWED),
    case("cert principal is no pattern", [CA_LINE], "cert_alice", a.CERT_PRINCIPAL_MISMATCH, "a*@example.com"),
    case("untrusted CA", [CA_LINE], "cert_rogue", a.UNTRUSTED_CA),
    case("expired cert", [CA_LINE], "cert_expired", a.CERT_EXPIRED),
    case("cert not yet valid", [CA_LINE], "cert_alice", a.CERT_NOT_YET_VALID, at=BEFORE_CERTS),
    case("cert valid_before exclusive", [CA_LINE], "cert_alice", a.CERT_EXPIRED, at=CERTS_END),
    case("host cert", [CA_LINE], "cert_host", a.NOT_USER_CERT),
    case("CA key without cert-authority", ["*@example.com {ca}"], "cert_alice", a.UNTRUSTED_CA),
    case("cert's own key listed plainly", ["*@example.com {alice}"], "cert_alice", a.UNTRUSTED_CA),
    case("plain key on a CA line", ["*@example.com cert-authority {alice}"], "alice", a.UNTRUSTED_KEY),
    case(
        "CA line, namespace",
        ['*@example.com cert-authority,namespaces="file" {ca}'],
        "cert_alice",
        a.NAMESPACE_NOT_ALLOWED,
    ),
    case(
        "CA line expired", ['*@example.com cert-authority,valid-before="20260101Z" {ca}'], "cert_alice", a.KEY_EXPIRED
    ),
]


def _render(world: World, lines: list[str]) -> str:
    return "\n".join(line.format(me=ALICE, **world.pub) for line in lines) + "\n"


@pytest.mark.parametrize(("lines", "principal", "signature", "problem", "at"), CASES)
def test_differential_against_ssh_keygen(
    lines: list[str], principal: str, signature: str, problem: str | None, at: dt.datetime, world: World
) -> None:
    text = _render(world, lines)
    armored = world.sig[signature]
    result = check_ssh(armored, PAYLOAD, AllowedSigners.parse(text), principal_hint=principal, at=at)
    assert result.problem == problem
    assert (result.match is not None) is (problem is None)
    assert world.kit.verify(text, principal, armored, PAYLOAD, at=at) is (problem is None), "ssh-keygen disagrees"


def test_tampered_payload_rejected_by_both(world: World) -> None:
    text = _render(world, ["{me} {alice}"])
    tampered = PAYLOAD.replace(b"x\n", b"y\n")
    result = check_ssh(world.sig["alice"], tampered, AllowedSigners.parse(text), principal_hint=ALICE, at=AT)
    assert result.problem == a.BAD_SIGNATURE
    assert not world.kit.verify(text, ALICE, world.sig["alice"], tampered, at=AT)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_armour_rejected_by_both(damage: str, world: World) -> None:
    text = _render(world, ["{me} {alice}"])
    good = world.sig["alice"]
    armored = good[: len(good) // 2] if damage == "truncated" else good.replace(b"U1NIU0lH", b"U1NIU0lI")
    result = check_ssh(armored, PAYLOAD, AllowedSigners.parse(text), principal_hint=ALICE, at=AT)
    assert result.problem == a.BAD_SIGNATURE
    assert not world.kit.verify(text, ALICE, armored, PAYLOAD, at=AT)


def test_match_details(world: World) -> None:
    signers = AllowedSigners.parse(_render(world, ["{me} {alice}", "*@example.com cert-authority {ca}"]))
    plain = signers.match(parse_armored_sshsig(world.sig["alice"]), principal_hint=ALICE, at=AT)
    assert plain is not None
    assert (plain.principal, plain.key_type, plain.line, plain.ca_fingerprint) == (ALICE, "ssh-ed25519", 1, None)
    assert plain.fingerprint == SshPublicKey.from_openssh(world.pub["alice"]).fingerprint
    via_cert = signers.match(parse_armored_sshsig(world.sig["cert_alice"]), principal_hint=ALICE, at=AT)
    assert via_cert is not None
    assert via_cert.fingerprint == plain.fingerprint  # the certified key, as ssh-keygen reports it
    assert via_cert.ca_fingerprint == SshPublicKey.from_openssh(world.pub["ca"]).fingerprint
    assert (via_cert.line, via_cert.key_id) == (2, "test-cert")


def test_without_principal_hint(world: World) -> None:
    # Like git's find-principals: a plain line yields its principals field, a CA line the cert principals it covers.
    signers = AllowedSigners.parse(
        _render(world, ["*@example.com,!bob@example.com {alice}", "*@example.com cert-authority {ca}"])
    )
    plain = signers.match(parse_armored_sshsig(world.sig["alice"]), principal_hint=None, at=AT)
    assert plain is not None and plain.principal == "*@example.com,!bob@example.com"
    via_cert = signers.match(parse_armored_sshsig(world.sig["cert_alice"]), principal_hint=None, at=AT)
    assert via_cert is not None and via_cert.principal == ALICE  # "alice" is in the cert but not under *@example.com
    assert (
        signers.check(parse_armored_sshsig(world.sig["other"]), principal_hint=None, at=AT).problem == a.UNTRUSTED_KEY
    )


def test_most_specific_problem_is_reported(world: World) -> None:
    lines = ["bob@example.com {alice}", '{me} valid-before="20200101Z" {alice}', "{me} {other}"]
    signers = AllowedSigners.parse(_render(world, lines))
    assert signers.check(parse_armored_sshsig(world.sig["alice"]), principal_hint=ALICE, at=AT).problem == a.KEY_EXPIRED


def test_naive_time_is_refused(world: World) -> None:
    signers = AllowedSigners.parse(_render(world, ["{me} {alice}"]))
    with pytest.raises(ValueError, match="timezone-aware"):
        signers.check(parse_armored_sshsig(world.sig["alice"]), principal_hint=ALICE, at=dt.datetime(2026, 1, 1))


def test_fido_and_rsa_sha256_signatures_agree_with_ssh_keygen(world: World) -> None:
    sk = ed25519.Ed25519PrivateKey.generate()
    sk_line = _openssh(sk_public_blob(sk))
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_line = _openssh(public_blob(private.public_key()))
    rsa_blob = public_blob(private.public_key())
    cases = [
        (sk_line, forge_sshsig(sk_public_blob(sk), lambda d: sk_sign(sk, d), PAYLOAD), True),
        (rsa_line, forge_sshsig(rsa_blob, lambda d: raw_sign(private, d, rsa_algorithm="rsa-sha2-256"), PAYLOAD), True),
        (rsa_line, forge_sshsig(rsa_blob, lambda d: raw_sign(private, d, rsa_algorithm="ssh-rsa"), PAYLOAD), False),
    ]
    for line, armored, accepted in cases:
        text = f"{ALICE} {line}\n"
        result = check_ssh(armored, PAYLOAD, AllowedSigners.parse(text), principal_hint=ALICE, at=AT)
        assert (result.problem is None) is accepted, result.problem
        assert world.kit.verify(text, ALICE, armored, PAYLOAD, at=AT) is accepted


def test_deliberately_stricter_than_ssh_keygen(world: World, tmp_path: Path) -> None:
    # No touch on a FIDO key: ssh-keygen accepts, we refuse (fail closed).
    sk = ed25519.Ed25519PrivateKey.generate()
    text = f"{ALICE} {_openssh(sk_public_blob(sk))}\n"
    untouched = forge_sshsig(sk_public_blob(sk), lambda d: sk_sign(sk, d, flags=0), PAYLOAD)
    assert world.kit.verify(text, ALICE, untouched, PAYLOAD, at=AT)
    assert (
        check_ssh(untouched, PAYLOAD, AllowedSigners.parse(text), principal_hint=ALICE, at=AT).problem
        == a.BAD_SIGNATURE
    )
    # An unknown critical option in a certificate: ssh-keygen ignores it, we refuse.
    kit = world.kit
    ca, key = kit.keygen("ed25519"), kit.keygen("ed25519")
    cert = kit.certify(ca, key, principals=ALICE, options=("critical:only-on-tuesdays@example.com=yes",))
    armored = kit.sign(cert, PAYLOAD)
    text = f"*@example.com cert-authority {kit.public(ca)}\n"
    assert kit.verify(text, ALICE, armored, PAYLOAD, at=AT)
    result = check_ssh(armored, PAYLOAD, AllowedSigners.parse(text), principal_hint=ALICE, at=AT)
    assert result.problem == a.CERT_CRITICAL_OPTION
    # verify-required without the user-verification flag.
    cert = kit.certify(ca, key, principals=ALICE, options=("verify-required",))
    result = check_ssh(kit.sign(cert, PAYLOAD), PAYLOAD, AllowedSigners.parse(text), principal_hint=ALICE, at=AT)
    assert result.problem == a.USER_VERIFICATION_REQUIRED


def _openssh(blob: bytes) -> str:
    return SshPublicKey.from_blob(blob).openssh()


# --- parsing -------------------------------------------------------------------------------------

# Fixed, so that parametrised test ids are the same in every xdist worker.
KEY = SshPublicKey.from_blob(
    public_blob(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())
).openssh()


def test_parse_fields() -> None:
    options = 'cert-authority,namespaces="git,file",valid-after="20260101",valid-before="20270101Z"'
    text = (
        "# comment\r\n\r\n"
        f"alice@example.com,bob@example.com {options} {KEY} a comment\r\n"
        f'"carol with space" NAMESPACES="a \\"b\\"" {KEY}\n'
        f"\t  dave {KEY}"
    )
    first, second, third = AllowedSigners.parse(text).entries
    assert (first.principals, first.cert_authority, first.namespaces, first.line) == (
        "alice@example.com,bob@example.com", True, "git,file", 3,
    )  # fmt: skip
    assert first.valid_before == int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp())
    assert first.valid_after == int(time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, 0)))
    assert (second.principals, second.namespaces, second.cert_authority) == ("carol with space", 'a "b"', False)
    assert (third.principals, third.line, third.key.openssh()) == ("dave", 5, KEY)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("alice", "missing key"),
        ("alice ", "missing key"),
        ('"alice', "unterminated quote in principals"),
        (f"alice bogus {KEY}", "unknown key option"),
        (f'alice cert-authority,,namespaces="git" {KEY}', "unknown key option"),
        (f"alice cert-authority, {KEY}", "unexpected end-of-options"),
        (f"alice cert-authorityx {KEY}", "unknown key option"),
        (f"alice namespaces=git {KEY}", "missing start quote"),
        (f'alice namespaces="git {KEY}', "unterminated quote in options"),
        (f'alice namespaces="git",namespaces="file" {KEY}', 'multiple "namespaces" clauses'),
        (f'alice valid-after="2026" {KEY}', 'invalid "valid-after" time'),
        (f'alice valid-before="20260231" {KEY}', 'invalid "valid-before" time'),
        (f'alice valid-before="19700101Z" {KEY}', 'invalid "valid-before" time'),
        (f'alice valid-after="20260101Z",valid-after="20260102Z" {KEY}', 'multiple "valid-after" clauses'),
        (
            f'alice valid-after="20270101Z",valid-before="20260101Z" {KEY}',
            '"valid-before" time is before "valid-after"',
        ),
        ("alice cert-authority", "missing key"),
        ("alice ssh-ed25519", "invalid SSH public key line"),
        ("alice ssh-ed25519 AAAA", "invalid SSH public key"),
        ("alice ssh-dss AAAAB3NzaC1kc3M=", "unsupported key type ssh-dss"),
        ("alice ssh-ed25519-cert-v01@openssh.com AAAA", "unsupported key type ssh-ed25519-cert-v01@openssh.com"),
    ],
)
def test_malformed_lines_fail_the_whole_file(line: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        AllowedSigners.parse(f"ok {KEY}\n{line}\n", source="team/allowed_signers")
    assert info.value.message == f"team/allowed_signers:2: {message}"
    assert info.value.reference == "invalid-allowed-signers"


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no allowed signers"):
        AllowedSigners.parse("# nobody\n\n")
    with pytest.raises(InputError, match="cannot read"):
        AllowedSigners.from_file(tmp_path / "missing")
    (tmp_path / "latin1").write_bytes(b"\xe9 " + KEY.encode())
    with pytest.raises(InputError, match="cannot read"):
        AllowedSigners.from_file(tmp_path / "latin1")
    (tmp_path / "ok").write_text(f"alice {KEY}\n")
    assert AllowedSigners.from_file(tmp_path / "ok").source == str(tmp_path / "ok")


def test_from_keys_trusts_any_principal(world: World) -> None:
    signers = AllowedSigners.from_keys([SshPublicKey.from_openssh(world.pub["alice"])])
    match = signers.match(parse_armored_sshsig(world.sig["alice"]), principal_hint="anyone@anywhere", at=AT)
    assert match is not None and match.principal == "anyone@anywhere"


@pytest.mark.parametrize(
    ("string", "patterns", "expected"),
    [
        ("alice@example.com", "*@example.com", 1),
        ("alice@example.com", "!alice@example.com,*", -1),
        ("alice@example.com", "*,!alice@example.com", -1),
        ("alice@example.com", "bob@example.com", 0),
        ("alice@example.com", "ALICE@example.com", 0),
        ("alice@example.com", "a?ice@*", 1),
        ("alice@example.com", "", 0),
        ("", "*", 1),
        ("a.b", "a?b", 1),
        ("aXb", "a.b", 0),
        ("alice", "x" * 1023 + ",alice", 0),  # an over-long sub-pattern fails the whole list, as in OpenSSH
        ("alice", "x" * 1022 + ",alice", 1),
        ("alicé", "alic?", 0),  # ? is one byte, as OpenSSH matches bytes
        ("alicé", "alic??", 1),
    ],
)
def test_pattern_lists(string: str, patterns: str, expected: int) -> None:
    assert match_pattern_list(string, patterns) == expected


def test_times(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_time("20260601Z") == int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp())
    assert parse_time("202606011230z") == int(dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.UTC).timestamp())
    assert parse_time("20260601123045UTC") == int(dt.datetime(2026, 6, 1, 12, 30, 45, tzinfo=dt.UTC).timestamp())
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        # Summer, yet read as standard time (UTC-5), exactly as ssh-keygen's mktime with tm_isdst=0 does.
        assert parse_time("20260701120000") == int(dt.datetime(2026, 7, 1, 17, 0, tzinfo=dt.UTC).timestamp())
    finally:
        monkeypatch.undo()
        time.tzset()
    for bad in ("2026060", "202606011", "2026-06-01", "20261301", "20260601246000", "２０２６０６０１", "Z"):
        with pytest.raises(ValueError, match="invalid time|out of range|must be in"):
            parse_time(bad)
