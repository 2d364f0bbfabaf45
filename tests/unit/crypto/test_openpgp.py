"""OpenPGP parsing and signature math against real gpg keys and signatures, RFC 9580 vectors and forged packets."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitsecure.crypto.openpgp import (
    BadSignature,
    OpenPgpKey,
    parse_armored_signature,
    parse_public_keys,
    parse_signature_packet,
    signature_problem,
    verify_signature,
)
from gitsecure.crypto.openpgp_keys import key_problem, parse_key_packet
from gitsecure.crypto.openpgp_packets import dearmor, iter_packets
from gitsecure.errors import InputError
from tests.support.gpgkit import (
    GpgKit,
    armor_signature,
    forge_signature,
    new_format_packet,
    old_format_packet,
    strip_back_signatures,
    subpacket,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "openpgp"
PAYLOAD = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\n\nmessage\n"


@dataclasses.dataclass
class Keys:
    """One gpg home with the module's keys: fingerprint by name, and the parsed export."""

    kit: GpgKit
    fpr: dict[str, str]
    parsed: dict[str, OpenPgpKey]
    samples: dict[str, bytes] = dataclasses.field(default_factory=dict)

    def sample(self, name: str) -> bytes:
        """One signature per key, made once (for tests that only read it)."""
        if name not in self.samples:
            self.samples[name] = self.sign(name)
        return self.samples[name]

    def sign(self, name: str, payload: bytes = PAYLOAD, **kwargs: object) -> bytes:
        return self.kit.sign(payload, self.fpr[name], **kwargs)  # type: ignore[arg-type]

    def key(self, name: str) -> OpenPgpKey:
        return self.parsed[self.fpr[name]]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    kit = GpgKit(tmp_path_factory.mktemp("openpgp"))
    fpr = {
        "ed25519": kit.gen_key("Ed <ed@example.com>", "ed25519", "sign"),
        "rsa3072": kit.gen_key("Rsa <rsa@example.com>", "rsa3072", "sign"),
        "p256": kit.gen_key("P256 <p256@example.com>", "nistp256", "sign"),
        "p384": kit.gen_key("P384 <p384@example.com>", "nistp384", "sign"),
        "p521": kit.gen_key("P521 <p521@example.com>", "nistp521", "sign"),
        "rsa1024": kit.gen_key("Weak <weak@example.com>", "rsa1024", "sign"),
        "cert": kit.gen_key("Sub <sub@example.com>", "ed25519", "cert"),
    }
    fpr["sub-ed25519"] = kit.add_key(fpr["cert"], "ed25519", "sign")
    fpr["sub-rsa"] = kit.add_key(fpr["cert"], "rsa3072", "sign")
    fpr["sub-encr"] = kit.add_key(fpr["cert"], "cv25519", "encr")
    parsed = {key.fingerprint: key for key in parse_public_keys(kit.export(armor=False))}
    yield Keys(kit, fpr, parsed)
    kit.close()


# -- keys ---------------------------------------------------------------------------------------------------------


def test_fingerprints_and_key_ids_match_gpg(keys: Keys) -> None:
    listing = keys.kit.gpg("--with-colons", "--fixed-list-mode", "--list-keys").stdout.decode().splitlines()
    gpg_fprs = [line.split(":")[9] for line in listing if line.startswith("fpr:")]
    gpg_ids = [line.split(":")[4] for line in listing if line.startswith(("pub:", "sub:"))]
    assert [key.fingerprint for key in keys.parsed.values()] == gpg_fprs
    assert [key.key_id for key in keys.parsed.values()] == gpg_ids
    for name in ("sub-ed25519", "sub-rsa", "sub-encr"):
        sub = keys.key(name)
        assert sub.is_subkey and sub.primary_fingerprint == keys.fpr["cert"]
    assert not keys.key("cert").is_subkey


def test_armoured_and_binary_exports_parse_alike(keys: Keys) -> None:
    armoured = parse_public_keys(keys.kit.export(keys.fpr["cert"]))
    assert armoured == [key for key in keys.parsed.values() if key.primary_fingerprint == keys.fpr["cert"]]


def test_signing_subkeys_are_cross_certified_and_encryption_subkeys_are_not(keys: Keys) -> None:
    assert keys.key("sub-ed25519").cross_certified and keys.key("sub-rsa").cross_certified
    assert not keys.key("sub-encr").cross_certified


def test_a_binding_without_its_back_signature_is_not_cross_certified(keys: Keys) -> None:
    stripped = strip_back_signatures(keys.kit.export(keys.fpr["cert"], armor=False))
    by_fpr = {key.fingerprint: key for key in parse_public_keys(stripped)}
    assert not by_fpr[keys.fpr["sub-ed25519"]].cross_certified
    assert by_fpr[keys.fpr["sub-ed25519"]].material == keys.key("sub-ed25519").material


def test_weak_and_unsupported_keys_are_named(keys: Keys) -> None:
    assert key_problem(keys.key("rsa1024")) == "weak key"
    assert key_problem(keys.key("sub-encr")) == "unsupported algorithm"
    assert key_problem(keys.key("rsa3072")) is None


@pytest.mark.parametrize(
    "data", [b"", b"\x99\x00", b"garbage", b"\xc6\x05\x04\x00\x00", b"\xc6\x06\x04\x00\x00\x00\x00\x01"]
)
def test_malformed_key_data_is_an_input_error(data: bytes) -> None:
    if not data:
        assert parse_public_keys(data) == []
        return
    with pytest.raises(InputError) as info:
        parse_public_keys(data)
    assert info.value.reference == "bad-openpgp-key"


def test_v3_keys_are_skipped_with_their_subkeys() -> None:
    v3 = new_format_packet(6, b"\x03" + b"\x00" * 7 + b"\x01" + b"\x00\x08\xff\x00\x01\x01")
    assert parse_key_packet(b"\x03" + b"\x00" * 10, primary_fingerprint=None) is None
    assert parse_public_keys(v3 + new_format_packet(14, b"\x04" + b"\x00" * 5 + b"\x1b" + b"\x00" * 32)) == []


# -- real signatures ----------------------------------------------------------------------------------------------

REAL = [
    ("ed25519", None),
    ("ed25519", "SHA384"),
    ("ed25519", "SHA512"),
    ("rsa3072", None),
    ("rsa3072", "SHA224"),
    ("rsa3072", "SHA384"),
    ("rsa3072", "SHA512"),
    ("p256", None),
    ("p384", None),
    ("p521", None),
    ("p256", "SHA512"),
    ("sub-ed25519", None),
    ("sub-rsa", None),
]


@pytest.mark.parametrize(("name", "digest"), REAL)
def test_real_gpg_signatures_verify_and_tampering_fails(keys: Keys, name: str, digest: str | None) -> None:
    sig = parse_armored_signature(keys.sign(name, digest=digest))
    key = keys.key(name)
    assert sig.issuer_fingerprint == key.fingerprint and sig.issuer_key_id == key.key_id
    assert sig.sig_type == 0 and sig.version == 4
    assert verify_signature(sig, PAYLOAD, key)
    assert not verify_signature(sig, PAYLOAD + b" ", key)
    assert not verify_signature(sig, PAYLOAD.replace(b"message", b"messagE"), key)
    other = keys.key("rsa3072" if name != "rsa3072" else "sub-rsa")
    assert not verify_signature(sig, PAYLOAD, other)


def test_text_signatures_cover_canonical_line_endings(keys: Keys) -> None:
    text = keys.sign("ed25519", text=True)
    binary = keys.sign("ed25519")
    key = keys.key("ed25519")
    text_sig, binary_sig = parse_armored_signature(text), parse_armored_signature(binary)
    assert (text_sig.sig_type, binary_sig.sig_type) == (1, 0)
    crlf = PAYLOAD.replace(b"\n", b"\r\n")
    assert verify_signature(text_sig, PAYLOAD, key) and verify_signature(text_sig, crlf, key)
    assert verify_signature(binary_sig, PAYLOAD, key) and not verify_signature(binary_sig, crlf, key)


def test_sha1_signatures_are_refused(keys: Keys) -> None:
    sig = parse_armored_signature(keys.sign("rsa3072", digest="SHA1"))
    assert sig.hash_algo == 2
    assert signature_problem(sig) == "weak hash algorithm"
    assert not verify_signature(sig, PAYLOAD, keys.key("rsa3072"))


@pytest.mark.parametrize(
    ("hash_algo", "problem"),
    [(1, "weak hash algorithm"), (3, "weak hash algorithm"), (7, "unsupported hash algorithm")],
)
def test_md5_ripemd_and_unknown_hashes_are_refused(keys: Keys, hash_algo: int, problem: str) -> None:
    sig = dataclasses.replace(parse_armored_signature(keys.sign("rsa3072")), hash_algo=hash_algo)
    assert signature_problem(sig) == problem
    assert not verify_signature(sig, PAYLOAD, keys.key("rsa3072"))


@pytest.mark.parametrize("sig_type", [0x02, 0x10, 0x13, 0x18, 0x20, 0x40])
def test_only_document_signature_types_are_accepted(keys: Keys, sig_type: int) -> None:
    sig = dataclasses.replace(parse_armored_signature(keys.sign("ed25519")), sig_type=sig_type)
    assert signature_problem(sig) == "unsupported signature type"
    assert not verify_signature(sig, PAYLOAD, keys.key("ed25519"))


def test_a_signature_checked_against_the_wrong_kind_of_key_is_refused(keys: Keys) -> None:
    sig = parse_armored_signature(keys.sign("ed25519"))
    assert signature_problem(sig, keys.key("rsa3072")) == "signature does not match key"
    assert signature_problem(sig, keys.key("rsa1024")) == "weak key"


def test_weak_rsa_keys_never_verify(keys: Keys) -> None:
    sig = parse_armored_signature(keys.sign("rsa1024"))
    assert not verify_signature(sig, PAYLOAD, keys.key("rsa1024"))


def test_a_flipped_signature_bit_or_quick_check_fails(keys: Keys) -> None:
    for name in ("ed25519", "rsa3072", "p384"):
        sig = parse_armored_signature(keys.sign(name))
        first = sig.values[0]
        flipped = dataclasses.replace(sig, values=(bytes([first[0] ^ 1]) + first[1:], *sig.values[1:]))
        assert not verify_signature(flipped, PAYLOAD, keys.key(name))
        wrong_left16 = dataclasses.replace(sig, left16=bytes([sig.left16[0] ^ 1, sig.left16[1]]))
        assert not verify_signature(wrong_left16, PAYLOAD, keys.key(name))


# -- RFC 9580 vectors ---------------------------------------------------------------------------------------------


def test_rfc9580_v4_ed25519_legacy_vector() -> None:
    (key,) = parse_public_keys(base64.b64decode((FIXTURES / "rfc9580-a1-v4-ed25519legacy.key").read_bytes()))
    assert key.fingerprint == "C959BDBAFA32A2F89A153B678CFDE12197965A9A"
    (packet,) = iter_packets(base64.b64decode((FIXTURES / "rfc9580-a2-v4-ed25519legacy.sig").read_bytes()))
    sig = parse_signature_packet(packet.body)
    assert sig.issuer_key_id == key.key_id and sig.issuer_fingerprint is None
    assert sig.created == dt.datetime(2015, 9, 16, 12, 24, 53, tzinfo=dt.UTC)
    assert verify_signature(sig, b"OpenPGP", key)
    assert not verify_signature(sig, b"OpenPGP\n", key)


def test_rfc9580_v6_certificate_and_salted_text_signature() -> None:
    primary, subkey = parse_public_keys((FIXTURES / "rfc9580-a3-v6-certificate.asc").read_bytes())
    assert primary.version == 6 and primary.algo == 27
    assert primary.fingerprint == "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9"
    assert primary.key_id == "CB186C4F0609A697"
    assert subkey.fingerprint == "12C83F1E706F6308FE151A417743A1F033790E93E9978488D1DB378DA9930885"
    assert subkey.primary_fingerprint == primary.fingerprint
    sig = parse_armored_signature((FIXTURES / "rfc9580-a6-v6-text.sig").read_bytes())
    assert (sig.version, sig.sig_type, sig.hash_algo, len(sig.salt)) == (6, 1, 10, 32)
    assert sig.issuer_fingerprint == primary.fingerprint
    text = (FIXTURES / "rfc9580-a6-v6-text.txt").read_bytes()
    assert verify_signature(sig, text, primary)
    assert verify_signature(sig, text.replace(b"\n", b"\r\n"), primary)
    assert not verify_signature(sig, text.replace(b"tofu", b"tofU"), primary)
    assert not verify_signature(dataclasses.replace(sig, salt=bytes(32)), text, primary)


# -- forged packets: algorithm 27, subpackets ---------------------------------------------------------------------


def _ed25519_v4_key(private: ed25519.Ed25519PrivateKey, algo: int = 27) -> OpenPgpKey:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    material = raw if algo == 27 else bytes.fromhex("092b06010401da470f01") + b"\x01\x07\x40" + raw
    key = parse_key_packet(
        b"\x04" + (1_600_000_000).to_bytes(4, "big") + bytes([algo]) + material, primary_fingerprint=None
    )
    assert key is not None
    return key


CREATED = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def test_ed25519_algorithm_27_in_a_v4_signature() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = _ed25519_v4_key(private)
    forged = forge_signature(private, PAYLOAD, issuer=key.fingerprint, created=CREATED, pubkey_algo=27)
    sig = parse_armored_signature(forged.armored)
    assert sig.pubkey_algo == 27 and len(sig.values[0]) == 64
    assert verify_signature(sig, PAYLOAD, key)
    assert not verify_signature(sig, PAYLOAD[:-1], key)


def test_eddsa_over_sha224_is_refused() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = _ed25519_v4_key(private, algo=22)
    sig = parse_armored_signature(
        forge_signature(private, PAYLOAD, issuer=key.fingerprint, created=CREATED, hash_name="SHA224").armored
    )
    assert signature_problem(sig, key) == "weak hash algorithm"
    assert not verify_signature(sig, PAYLOAD, key)


def _created(when: dt.datetime = CREATED) -> bytes:
    return int(when.timestamp()).to_bytes(4, "big")


def test_an_issuer_key_id_alone_and_signature_expiry_are_read() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = _ed25519_v4_key(private, algo=22)
    hashed = subpacket(2, _created()) + subpacket(3, (3600).to_bytes(4, "big"), critical=True)
    unhashed = subpacket(16, bytes.fromhex(key.key_id))
    forged = forge_signature(private, PAYLOAD, issuer="", created=CREATED, hashed=hashed, unhashed=unhashed)
    sig = parse_armored_signature(forged.armored)
    assert sig.issuer_fingerprint is None and sig.issuer_key_id == key.key_id
    assert sig.expires == CREATED + dt.timedelta(hours=1)
    assert verify_signature(sig, PAYLOAD, key)


def test_unknown_non_critical_subpackets_are_ignored() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = _ed25519_v4_key(private, algo=22)
    hashed = subpacket(33, b"\x04" + bytes.fromhex(key.fingerprint)) + subpacket(2, _created()) + subpacket(100, b"x")
    sig = parse_armored_signature(forge_signature(private, PAYLOAD, issuer="", created=CREATED, hashed=hashed).armored)
    assert verify_signature(sig, PAYLOAD, key)


ISSUER = "AB" * 20
MALFORMED_SUBPACKETS = {
    "unknown critical subpacket": subpacket(2, _created()) + subpacket(100, b"x", critical=True),
    "critical notation": subpacket(2, _created()) + subpacket(20, b"\x80" + b"\x00" * 7, critical=True),
    "no creation time": subpacket(33, b"\x04" + bytes.fromhex(ISSUER)),
    "two creation times": subpacket(2, _created()) + subpacket(2, _created()),
    "short creation time": subpacket(2, b"\x00\x01"),
    "fingerprint and key id disagree": subpacket(2, _created())
    + subpacket(33, b"\x04" + bytes.fromhex(ISSUER))
    + subpacket(16, b"\x01" * 8),
    "two issuers": subpacket(2, _created()) + subpacket(16, b"\x01" * 8) + subpacket(16, b"\x02" * 8),
    "v4 fingerprint of the wrong size": subpacket(2, _created()) + subpacket(33, b"\x04" + b"\x01" * 19),
    "zero-length subpacket": subpacket(2, _created()) + b"\x00",
    "subpacket past the area": subpacket(2, _created()) + b"\x09\x10\x01",
}


@pytest.mark.parametrize("hashed", MALFORMED_SUBPACKETS.values(), ids=MALFORMED_SUBPACKETS.keys())
def test_malformed_subpacket_areas_are_bad_signatures(hashed: bytes) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    forged = forge_signature(private, PAYLOAD, issuer=ISSUER, created=CREATED, hashed=hashed)
    with pytest.raises(BadSignature) as info:
        parse_armored_signature(forged.armored)
    assert info.value.reference == "bad-signature" and info.value.message == "bad signature"


def test_a_creation_time_only_in_the_unhashed_area_is_refused() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    hashed = subpacket(33, b"\x04" + bytes.fromhex(ISSUER))
    forged = forge_signature(
        private, PAYLOAD, issuer=ISSUER, created=CREATED, hashed=hashed, unhashed=subpacket(2, _created())
    )
    with pytest.raises(BadSignature):
        parse_armored_signature(forged.armored)


# -- armour and packet framing ------------------------------------------------------------------------------------


def _lines(armored: bytes) -> list[bytes]:
    return armored.strip().split(b"\n")


def test_armour_checksum_is_optional_but_checked(keys: Keys) -> None:
    armored = keys.sample("ed25519")
    lines = _lines(armored)
    assert lines[-2].startswith(b"=")
    without = b"\n".join(lines[:-2] + lines[-1:])
    assert parse_armored_signature(without) == parse_armored_signature(armored)
    bad = [*lines[:-2], b"=AAAA", lines[-1]]
    with pytest.raises(BadSignature):
        parse_armored_signature(b"\n".join(bad))


def test_armour_headers_crlf_and_surrounding_whitespace_are_accepted(keys: Keys) -> None:
    body = dearmor(keys.sample("ed25519"), label="SIGNATURE")
    armored = armor_signature(body, headers=("Version: GnuPG v2", "Comment: a: b"))
    crlf = b"\n\n " + armored.replace(b"\n", b"\r\n") + b"\r\n\r\n"
    assert parse_armored_signature(crlf) == parse_armored_signature(armored)


GARBAGE = {
    "empty": b"",
    "not armour": b"hello",
    "message label": b"-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n",
    "mismatched end": b"-----BEGIN PGP SIGNATURE-----\n\niHUE\n-----END PGP MESSAGE-----\n",
    "bad base64": b"-----BEGIN PGP SIGNATURE-----\n\n!!!!\n-----END PGP SIGNATURE-----\n",
    "empty body": b"-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n",
    "ssh signature": b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
    "random packet bytes": armor_signature(b"\x88\x05\x04\x00\x16\x08\x00"),
    "not a packet": armor_signature(b"\x01\x02\x03"),
}


@pytest.mark.parametrize("armored", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_armour_is_a_bad_signature(armored: bytes) -> None:
    with pytest.raises(BadSignature):
        parse_armored_signature(armored)


def test_structural_armour_errors(keys: Keys) -> None:
    lines = _lines(keys.sample("ed25519"))
    no_blank = [line for index, line in enumerate(lines) if not (index == 1 and line == b"")]
    trailing_text = [*lines, b"more"]
    leading_text = [b"text", *lines]
    for variant in (no_blank, trailing_text, leading_text):
        with pytest.raises(BadSignature):
            parse_armored_signature(b"\n".join(variant))


def test_old_and_new_packet_headers_are_equivalent(keys: Keys) -> None:
    (packet,) = iter_packets(dearmor(keys.sample("rsa3072"), label="SIGNATURE"))
    framings = [new_format_packet(2, packet.body), old_format_packet(2, packet.body)]
    parsed = [parse_armored_signature(armor_signature(data)) for data in framings]
    assert parsed[0] == parsed[1]
    assert verify_signature(parsed[0], PAYLOAD, keys.key("rsa3072"))


def test_trailing_packets_are_refused(keys: Keys) -> None:
    data = dearmor(keys.sample("ed25519"), label="SIGNATURE")
    (packet,) = iter_packets(data)
    for extra in (data, new_format_packet(13, b"Mallory <m@example.com>"), new_format_packet(10, b"PGP")):
        with pytest.raises(BadSignature):
            parse_armored_signature(armor_signature(data + extra))
    # A lone non-signature packet is no signature either.
    with pytest.raises(BadSignature):
        parse_armored_signature(armor_signature(new_format_packet(13, b"uid")))
    assert packet.tag == 2


FRAMING = {
    "truncated packet": lambda body: new_format_packet(2, body)[:-1],
    "partial body length": lambda body: b"\xc2\xe1" + body[:2],
    "indeterminate old length": lambda body: b"\x8b" + body,
    "v3 signature": lambda body: new_format_packet(2, b"\x03" + body[1:]),
    "v5 signature": lambda body: new_format_packet(2, b"\x05" + body[1:]),
    "trailing bytes in the packet": lambda body: new_format_packet(2, body + b"\x00"),
    "truncated mpi": lambda body: new_format_packet(2, body[:-3]),
}


@pytest.mark.parametrize("build", FRAMING.values(), ids=FRAMING.keys())
def test_framing_errors_are_bad_signatures(keys: Keys, build: object) -> None:
    (packet,) = iter_packets(dearmor(keys.sample("ed25519"), label="SIGNATURE"))
    with pytest.raises(BadSignature):
        parse_armored_signature(armor_signature(build(packet.body)))  # type: ignore[operator]


# -- robustness ---------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_signatures_parse_or_raise_bad_signature_only(keys: Keys, data: st.DataObject) -> None:
    body = dearmor(keys.sample(data.draw(st.sampled_from(["p256", "rsa3072", "ed25519"]))), label="SIGNATURE")
    position = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.binary(min_size=0, max_size=4))
    mutated = body[:position] + replacement + body[position + 1 :]
    try:
        sig = parse_armored_signature(armor_signature(mutated))
    except BadSignature:
        return
    for key in keys.parsed.values():
        assert isinstance(verify_signature(sig, PAYLOAD, key), bool)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_other_errors(data: bytes) -> None:
    with contextlib.suppress(BadSignature):
        parse_armored_signature(armor_signature(data))
    with contextlib.suppress(InputError):
        parse_public_keys(data)
