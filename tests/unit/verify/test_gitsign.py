"""gitsign (Sigstore keyless) signatures, verified offline against gitsign's real public-good fixture."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitsecure.errors import GitsecureError, InputError
from gitsecure.verify import gitsign
from gitsecure.verify.gitsign import KeylessIdentity, X509Result, check_x509
from gitsecure.verify.gitsign_cms import SignatureMalformed, cert_claims, parse_cms
from gitsecure.verify.tlog_entry import MalformedEntry, decode_entry
from tests.support.rawcommit import split_commit

FIXTURES = Path(__file__).parents[2] / "fixtures" / "gitsign"
ROOT = FIXTURES / "trusted_root.json"
BILLY = KeylessIdentity(subject="billy@chainguard.dev", issuer="https://accounts.google.com")


OFFLINE_SIG, OFFLINE_PAYLOAD = split_commit((FIXTURES / "offline.commit").read_bytes())
ONLINE_SIG, ONLINE_PAYLOAD = split_commit((FIXTURES / "online.commit").read_bytes())


def der_of(armored: bytes) -> bytes:
    return base64.b64decode(b"".join(armored.strip().splitlines()[1:-1]))


def armor(der: bytes) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([b"-----BEGIN SIGNED MESSAGE-----", *lines, b"-----END SIGNED MESSAGE-----"]) + b"\n"


def mutated(change: Callable[[Any], None]) -> bytes:
    """The offline signature with its SignedData changed by ``change`` and re-encoded."""
    info = cms.ContentInfo.load(der_of(OFFLINE_SIG))
    change(info["content"])
    return armor(info.dump(force=True))


def replaced(old: bytes, new: bytes) -> bytes:
    """The offline signature with one byte string swapped for another of the same length."""
    der = der_of(OFFLINE_SIG)
    assert len(old) == len(new) and der.count(old) == 1
    return armor(der.replace(old, new))


def rejected(result: X509Result, problem: str) -> None:
    assert result == X509Result(
        ok=False, identity="billy@chainguard.dev", issuer="https://accounts.google.com", problem=problem
    )


# --- the happy path ---------------------------------------------------------------------------


def test_offline_commit_verifies() -> None:
    result = check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [BILLY])
    assert result == X509Result(
        ok=True, identity="billy@chainguard.dev", issuer="https://accounts.google.com", problem=None
    )


def test_verification_touches_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    gitsign._load_verifier.cache_clear()

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [BILLY]).ok


@pytest.mark.parametrize(
    "identity",
    [
        KeylessIdentity(subject_regexp=r"[a-z]+@chainguard\.dev", issuer="https://accounts.google.com"),
        KeylessIdentity(subject="billy@chainguard.dev", issuer_regexp=r"https://accounts\.google\.com"),
        KeylessIdentity(subject_regexp=r".*", issuer_regexp=r"https://(accounts\.google|github)\.com"),
    ],
)
def test_regexp_identities_verify(identity: KeylessIdentity) -> None:
    assert check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [identity]).ok


def test_any_listed_identity_suffices() -> None:
    other = KeylessIdentity(subject="alice@example.com", issuer="https://github.com/login/oauth")
    assert check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [other, BILLY]).ok


def test_the_signed_artifact_is_the_signed_attributes() -> None:
    parsed = parse_cms(OFFLINE_SIG)
    assert parsed.signed_attrs[0] == 0x31  # SET OF, not the stored [0] IMPLICIT tag
    assert parsed.signed_attrs[2:] in der_of(OFFLINE_SIG)
    assert cert_claims(parsed.certificate) == (("billy@chainguard.dev",), "https://accounts.google.com")


def test_embedded_log_entry_decodes() -> None:
    entry = decode_entry(parse_cms(OFFLINE_SIG).tlog_entry or b"")
    assert entry["logIndex"] == "22784639"
    assert entry["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.1"}
    assert entry["integratedTime"] == "1685981480"
    assert entry["inclusionProof"]["checkpoint"]["envelope"].startswith("rekor.sigstore.dev - ")


def test_sigstore_is_not_imported_until_a_signature_is_checked() -> None:
    code = "import sys, gitsecure.verify.gitsign; print('sigstore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- rejections: content, identity, mode ----------------------------------------------------


def test_tampered_commit_is_rejected() -> None:
    tampered = OFFLINE_PAYLOAD.replace(b"Billy Lynch", b"Billy Lynck", 1)
    rejected(check_x509(OFFLINE_SIG, tampered, ROOT, [BILLY]), gitsign.PROBLEM_DIGEST)


def test_signature_copied_onto_another_commit_is_rejected() -> None:
    rejected(check_x509(OFFLINE_SIG, ONLINE_PAYLOAD, ROOT, [BILLY]), gitsign.PROBLEM_DIGEST)


@pytest.mark.parametrize(
    "identity",
    [
        KeylessIdentity(subject="alice@chainguard.dev", issuer="https://accounts.google.com"),
        KeylessIdentity(subject="BILLY@chainguard.dev", issuer="https://accounts.google.com"),
        # Full-match: a pattern that only finds the name inside the SAN is not enough.
        KeylessIdentity(subject_regexp=r"billy", issuer="https://accounts.google.com"),
        KeylessIdentity(subject_regexp=r"billy@chainguard", issuer="https://accounts.google.com"),
        KeylessIdentity(subject_regexp=r"chainguard\.dev", issuer="https://accounts.google.com"),
    ],
)
def test_wrong_identity_is_rejected(identity: KeylessIdentity) -> None:
    rejected(check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [identity]), gitsign.PROBLEM_IDENTITY)


@pytest.mark.parametrize(
    "identity",
    [
        KeylessIdentity(subject="billy@chainguard.dev", issuer="https://github.com/login/oauth"),
        KeylessIdentity(subject="billy@chainguard.dev", issuer="https://accounts.google.com/"),
        KeylessIdentity(subject="billy@chainguard.dev", issuer_regexp=r"https://accounts"),
        KeylessIdentity(subject="billy@chainguard.dev", issuer_regexp=r"accounts\.google\.com"),
    ],
)
def test_wrong_issuer_is_rejected(identity: KeylessIdentity) -> None:
    rejected(check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [identity]), gitsign.PROBLEM_ISSUER)


def test_online_mode_commit_is_rejected_offline() -> None:
    # The content binding holds (the digest check runs first), yet there is nothing to verify offline.
    result = check_x509(ONLINE_SIG, ONLINE_PAYLOAD, ROOT, [BILLY])
    assert result == X509Result(
        ok=False, identity="billy@chainguard.dev", issuer="https://accounts.google.com", problem=gitsign.PROBLEM_ONLINE
    )


# --- rejections: cryptography and transparency log -----------------------------------------


def test_forged_ecdsa_signature_is_rejected() -> None:
    sig = parse_cms(OFFLINE_SIG).signature
    forged = sig[:-1] + bytes([sig[-1] ^ 1])
    rejected(check_x509(replaced(sig, forged), OFFLINE_PAYLOAD, ROOT, [BILLY]), gitsign.PROBLEM_BAD)


def test_altered_signing_time_breaks_the_signature() -> None:
    rejected(
        check_x509(
            replaced(b"\x31\x0f\x17\x0d230605161119Z", b"\x31\x0f\x17\x0d230605161120Z"), OFFLINE_PAYLOAD, ROOT, [BILLY]
        ),
        gitsign.PROBLEM_BAD,
    )


def test_altered_log_integration_time_is_rejected() -> None:
    # integratedTime (field 4) 1685981480 -> 1685981481: the SET no longer verifies.
    old = b"\x20" + bytes([0xA8, 0x92, 0xF8, 0xA3, 0x06])
    new = b"\x20" + bytes([0xA9, 0x92, 0xF8, 0xA3, 0x06])
    rejected(check_x509(replaced(old, new), OFFLINE_PAYLOAD, ROOT, [BILLY]), gitsign.PROBLEM_BAD)


def test_altered_inclusion_proof_is_rejected() -> None:
    rekor_hash = base64.b64decode(decode_entry(parse_cms(OFFLINE_SIG).tlog_entry or b"")["inclusionProof"]["hashes"][0])
    flipped = rekor_hash[:-1] + bytes([rekor_hash[-1] ^ 1])
    rejected(check_x509(replaced(rekor_hash, flipped), OFFLINE_PAYLOAD, ROOT, [BILLY]), gitsign.PROBLEM_BAD)


def _root_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    root = json.loads(ROOT.read_text())
    change(root)
    path = tmp_path / "root.json"
    path.write_text(json.dumps(root))
    return path


def _lookalike_fulcio_ca() -> bytes:
    # Same name as the public-good Fulcio root, different key: only the signature check tells them apart.
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name.from_rfc4514_string("CN=sigstore,O=sigstore.dev")
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_root_with_another_fulcio_ca_rejects(tmp_path: Path) -> None:
    raw = base64.b64encode(_lookalike_fulcio_ca()).decode()

    def swap(root: dict[str, Any]) -> None:
        for authority in root["certificateAuthorities"]:
            authority["certChain"]["certificates"] = [{"rawBytes": raw}]

    result = check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, _root_with(tmp_path, swap), [BILLY])
    rejected(result, gitsign.PROBLEM_UNTRUSTED)


def test_a_root_with_other_log_keys_rejects(tmp_path: Path) -> None:
    def drop_old_rekor(root: dict[str, Any]) -> None:
        root["tlogs"] = [t for t in root["tlogs"] if t["baseUrl"] != "https://rekor.sigstore.dev"]

    rejected(
        check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, _root_with(tmp_path, drop_old_rekor), [BILLY]), gitsign.PROBLEM_BAD
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda root: root.update(certificateAuthorities=[]),
        lambda root: root.update(tlogs=[]),
        lambda root: root.update(ctlogs=[]),
        lambda root: root.update(certificateAuthorities=[], tlogs=[], ctlogs=[], timestampAuthorities=[]),
        lambda root: root.update(mediaType="application/vnd.dev.sigstore.trustedroot+json;version=9"),
        lambda root: root.pop("tlogs") and root.update(tlogs=[{"baseUrl": 1}]),
    ],
    ids=["no-fulcio-ca", "no-rekor", "no-ct-log", "empty", "unknown-version", "bad-shape"],
)
def test_an_unusable_trusted_root_is_a_configuration_error(
    tmp_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    with pytest.raises(InputError) as err:
        check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, _root_with(tmp_path, change), [BILLY])
    assert err.value.reference == "invalid-trusted-root"


def test_trusted_root_that_is_not_json_or_missing(tmp_path: Path) -> None:
    (tmp_path / "root.json").write_text("{not json")
    with pytest.raises(InputError) as err:
        check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, tmp_path / "root.json", [BILLY])
    assert err.value.reference == "invalid-trusted-root"
    with pytest.raises(InputError) as err:
        check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, tmp_path / "missing.json", [BILLY])
    assert err.value.reference == "trusted-root-unreadable"


# --- rejections: malformed CMS ----------------------------------------------------------------


def _drop_attr(name: str) -> Callable[[Any], None]:
    def change(signed: Any) -> None:
        signer = signed["signer_infos"][0]
        signer["signed_attrs"] = cms.CMSAttributes([a for a in signer["signed_attrs"] if a["type"].native != name])

    return change


def _double_attr(field: str, name: str) -> Callable[[Any], None]:
    def change(signed: Any) -> None:
        signer = signed["signer_infos"][0]
        attrs = list(signer[field])
        attrs += [a for a in attrs if a["type"].native == name]
        signer[field] = cms.CMSAttributes(attrs)

    return change


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[Any], None]:
    def change(signed: Any) -> None:
        node = signed
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return change


def _second_certificate(signed: Any) -> None:
    signed["certificates"] = cms.CertificateSet([signed["certificates"][0], signed["certificates"][0]])


def _no_certificate(signed: Any) -> None:
    signed["certificates"] = cms.CertificateSet([])


def _other_serial(signed: Any) -> None:
    signed["signer_infos"][0]["sid"].chosen["serial_number"] = 7


def _log_entry(payload: bytes) -> Callable[[Any], None]:
    def change(signed: Any) -> None:
        for attr in signed["signer_infos"][0]["unsigned_attrs"]:
            attr["values"] = cms.SetOfAny([core.OctetString(payload)])

    return change


MALFORMED: dict[str, tuple[bytes, str]] = {
    "pgp-armour": (OFFLINE_SIG.replace(b"SIGNED MESSAGE", b"PGP SIGNATURE"), "not an armoured SIGNED MESSAGE"),
    "bad-base64": (OFFLINE_SIG.replace(b"MIIH", b"MI!H", 1), "bad base64"),
    "truncated": (armor(der_of(OFFLINE_SIG)[:-40]), "Insufficient data"),
    "trailing-bytes": (armor(der_of(OFFLINE_SIG) + b"\x00\x00"), "trailing data"),
    "garbage": (armor(b"\x30\x03\x02\x01\x01"), "ContentInfo"),
    "empty": (b"", "not an armoured SIGNED MESSAGE"),
    "attached-content": (
        mutated(_set(("encap_content_info", "content"), core.OctetString(b"tree x\n"))),
        "content is not detached",
    ),
    "sha1-digest": (
        mutated(_set(("signer_infos", 0, "digest_algorithm"), cms.DigestAlgorithm({"algorithm": "sha1"}))),
        "digest algorithm is not SHA-256",
    ),
    "rsa-signature": (
        mutated(
            _set(("signer_infos", 0, "signature_algorithm"), cms.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}))
        ),
        "signature is not ECDSA-SHA256",
    ),
    "no-message-digest": (mutated(_drop_attr("message_digest")), "signed attributes incomplete"),
    "no-content-type": (mutated(_drop_attr("content_type")), "signed attributes incomplete"),
    "two-message-digests": (mutated(_double_attr("signed_attrs", "message_digest")), "message_digest appears twice"),
    "two-log-entries": (
        mutated(_double_attr("unsigned_attrs", "1.3.6.1.4.1.57264.3.1")),
        "1.3.6.1.4.1.57264.3.1 appears twice",
    ),
    "two-certificates": (mutated(_second_certificate), "expected exactly one certificate"),
    "no-certificate": (mutated(_no_certificate), "expected exactly one certificate"),
    "other-serial": (mutated(_other_serial), "signer does not name the embedded certificate"),
    "log-entry-unknown-field": (mutated(_log_entry(b"\x48\x01")), "unknown field 9"),
    "log-entry-truncated": (mutated(_log_entry(b"\x12\x05\x0a")), "log entry is truncated"),
    "log-entry-not-hashedrekord": (
        mutated(_log_entry(b"\x1a\x0b\x0a\x04dsse\x12\x030.0")),
        "not a hashedrekord 0.0.1 entry",
    ),
}


@pytest.mark.parametrize(("armored", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_signature_is_rejected(armored: bytes, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    # The verdict says only "malformed signature"; the specific reason goes to the debug log.
    with caplog.at_level(logging.DEBUG, logger="gitsecure.verify.gitsign"):
        result = check_x509(armored, OFFLINE_PAYLOAD, ROOT, [BILLY])
    assert not result.ok
    assert result.problem == gitsign.PROBLEM_MALFORMED
    assert reason in caplog.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0, max_value=len(der_of(OFFLINE_SIG)) - 1), mask=st.integers(1, 255))
def test_any_corrupted_byte_gives_a_verdict_not_a_traceback(position: int, mask: int) -> None:
    der = bytearray(der_of(OFFLINE_SIG))
    der[position] ^= mask
    try:
        result = check_x509(armor(bytes(der)), OFFLINE_PAYLOAD, ROOT, [BILLY])
    except GitsecureError:
        return
    # A flip can land in bytes nothing depends on (a DER length form asn1crypto tolerates is not one:
    # strict loading refuses it); if it still verifies, it verified as billy.
    assert not result.ok or result.identity == "billy@chainguard.dev"


# --- configuration errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"issuer": "https://accounts.google.com"},
        {"subject": "a@b", "subject_regexp": "a@b", "issuer": "https://x"},
        {"subject": "a@b"},
        {"subject": "a@b", "issuer": "https://x", "issuer_regexp": "https://x"},
        {"subject": "", "issuer": "https://x"},
        {"subject_regexp": "(", "issuer": "https://x"},
    ],
)
def test_invalid_identity_is_a_configuration_error(fields: dict[str, str]) -> None:
    with pytest.raises(InputError) as err:
        KeylessIdentity(**fields)
    assert err.value.reference == "invalid-keyless-identity"


def test_no_identities_is_a_configuration_error() -> None:
    with pytest.raises(InputError) as err:
        check_x509(OFFLINE_SIG, OFFLINE_PAYLOAD, ROOT, [])
    assert err.value.reference == "invalid-keyless-identity"


# --- the log-entry decoder on its own -------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x48\x01",  # unknown field 9
        b"\x08\x01\x08\x02",  # logIndex twice
        b"\x0a\x01\x00",  # logIndex with a length-delimited wire type
        b"\x08",  # missing varint
        b"\x08" + b"\xff" * 11,  # overlong varint
        b"\x08" + b"\xff" * 9 + b"\x01",  # a negative int64
        b"\x3a\x05ab",  # body shorter than its length
        b"\x1a\x02\x0a\x01",  # nested message truncated
        b"\x1a\x03\x0a\x01\xff",  # kind is not UTF-8
        b"\x0b",  # group start
    ],
)
def test_malformed_log_entries_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedEntry):
        decode_entry(data)


def test_log_entry_defaults_are_filled_in() -> None:
    assert decode_entry(b"\x32\x00") == {
        "logIndex": "0",
        "integratedTime": "0",
        "inclusionProof": {"logIndex": "0", "treeSize": "0", "hashes": []},
    }


def test_cert_claims_refuses_garbage() -> None:
    with pytest.raises(SignatureMalformed):
        cert_claims(b"\x30\x00")
