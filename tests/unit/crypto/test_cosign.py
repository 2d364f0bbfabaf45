"""cosign key handling, Rekor SETs and Fulcio certificates, against cosign's own committed test data."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gitsecure.crypto.cosign import CosignPublicKey, CosignSigner, load_public_key
from gitsecure.crypto.cosign_keys import (
    COSIGN_PEM_TYPE,
    KeyDecryptionFailed,
    decrypt_private_key,
    encrypt_private_key,
    generate_key_pair,
)
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.fulcio import CertificateRejected, parse_certificate, verify_signing_certificate
from gitsecure.crypto.rekor import TlogRejected, check_hashedrekord, parse_cosign_bundle, verify_set
from gitsecure.crypto.sigstore_root import load_trusted_root
from gitsecure.errors import InputError
from tests.support.cosign_pki import NOW, MiniSigstore

FIXTURES = Path(__file__).parents[2] / "fixtures" / "cosign"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- encrypted private keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fingerprint"),
    [
        ("cosign-ec.key", "sha256:a6659c08b9909880c6e4bc51cab6fd7265673f67d614c20ba59a18957feb700d"),
        ("sigstore.key", "sha256:f1057bf3c114d5486f0bdb3c702596d6154158248980d4be49f6c61fdc62c591"),
    ],
)
def test_cosign_fixture_keys_decrypt_and_sign(name: str, fingerprint: str) -> None:
    signer = decrypt_private_key(fixture(name), b"hello")
    assert signer.public_key.fingerprint == fingerprint
    signature = signer.sign(b"payload")
    signer.public_key.verify(signature, b"payload")
    with pytest.raises(BadSignature):
        signer.public_key.verify(signature, b"payload!")


@pytest.mark.parametrize("password", [b"wrong", b"", b"hello "])
def test_wrong_password_is_opaque(password: bytes) -> None:
    with pytest.raises(KeyDecryptionFailed) as info:
        decrypt_private_key(fixture("sigstore.key"), password)
    assert info.value.reference == "cosign-key-decrypt-failed"
    assert "hello" not in str(info.value)


def test_sec1_inside_the_envelope_is_refused_like_cosign() -> None:
    # cosign's keys_test.go expects this key (decryptable with "hello") to fail: it holds SEC1, not PKCS#8.
    with pytest.raises(KeyDecryptionFailed):
        decrypt_private_key(fixture("cosign-ec-sec1.key"), b"hello")


def _reencode(pem: bytes, mutate: object) -> bytes:
    lines = pem.decode().strip().splitlines()
    doc = json.loads(base64.b64decode("".join(lines[1:-1])))
    mutate(doc)  # type: ignore[operator]
    body = base64.b64encode(json.dumps(doc).encode()).decode()
    return f"{lines[0]}\n{body}\n{lines[-1]}\n".encode()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__(
            "ciphertext", base64.b64encode(b"\x00" + base64.b64decode(d["ciphertext"])[1:]).decode()
        ),
        lambda d: d["cipher"].__setitem__("nonce", base64.b64encode(bytes(24)).decode()),
        lambda d: d["kdf"].__setitem__("salt", base64.b64encode(bytes(32)).decode()),
        lambda d: d["kdf"]["params"].__setitem__("N", 1 << 30),
        lambda d: d["kdf"]["params"].__setitem__("N", 1000),
        lambda d: d["kdf"].__setitem__("name", "pbkdf2"),
        lambda d: d["cipher"].__setitem__("name", "aes-gcm"),
        lambda d: d.pop("ciphertext"),
    ],
)
def test_tampered_key_files_fail_the_same_way(mutate: object) -> None:
    with pytest.raises(KeyDecryptionFailed):
        decrypt_private_key(_reencode(fixture("sigstore.key"), mutate), b"hello")


@pytest.mark.parametrize(
    "garbage", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]
)
def test_garbage_keys_fail(garbage: bytes) -> None:
    with pytest.raises(KeyDecryptionFailed):
        decrypt_private_key(garbage, b"hello")


def test_generated_key_pair_round_trips_in_cosign_format() -> None:
    private_pem, public_pem = generate_key_pair(b"s3cret")
    assert private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in private_pem.splitlines())
    doc = json.loads(base64.b64decode(b"".join(private_pem.splitlines()[1:-1])))
    assert list(doc) == ["kdf", "cipher", "ciphertext"]
    assert doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert doc["cipher"]["name"] == "nacl/secretbox"
    signer = decrypt_private_key(private_pem, b"s3cret")
    assert signer.public_key == load_public_key(public_pem)
    with pytest.raises(KeyDecryptionFailed):
        decrypt_private_key(private_pem, b"s3cret2")


def test_legacy_cosign_pem_type_is_written_and_read() -> None:
    signer = CosignSigner.generate()
    pem = encrypt_private_key(signer, b"", pem_type=COSIGN_PEM_TYPE)
    assert pem.startswith(b"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----")
    assert decrypt_private_key(pem, b"").public_key == signer.public_key


# --- public keys and cosign's hash choice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("curve", "digest"),
    [(ec.SECP256R1(), hashes.SHA256()), (ec.SECP384R1(), hashes.SHA384()), (ec.SECP521R1(), hashes.SHA512())],
)
def test_ecdsa_hash_follows_the_curve(curve: ec.EllipticCurve, digest: hashes.HashAlgorithm) -> None:
    key = ec.generate_private_key(curve)
    public = load_public_key(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    public.verify(key.sign(b"data", ec.ECDSA(digest)), b"data")
    with pytest.raises(BadSignature):
        public.verify(key.sign(b"data", ec.ECDSA(hashes.SHA224())), b"data")


def test_rsa_and_ed25519_keys_verify() -> None:
    from cryptography.hazmat.primitives.asymmetric import padding

    rkey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    CosignPublicKey(rkey.public_key()).verify(rkey.sign(b"d", padding.PKCS1v15(), hashes.SHA256()), b"d")
    ekey = ed25519.Ed25519PrivateKey.generate()
    CosignPublicKey(ekey.public_key()).verify(ekey.sign(b"d"), b"d")
    with pytest.raises(BadSignature):
        CosignPublicKey(ekey.public_key()).verify(ekey.sign(b"e"), b"d")


def test_unsupported_and_malformed_public_keys() -> None:
    small = ec.generate_private_key(ec.SECP224R1()).public_key()
    with pytest.raises(InputError):
        CosignPublicKey(small)
    with pytest.raises(InputError):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_fingerprint_is_sha256_of_spki() -> None:
    key = CosignSigner.generate().public_key
    assert key.fingerprint == "sha256:" + hashlib.sha256(key.spki_der).hexdigest()


# --- Rekor SETs: a real public-good SET from cosign's SIGNATURE_SPEC, and our own --------------------------------


def test_upstream_public_good_set_verifies() -> None:
    root = load_trusted_root(fixture("trusted_root_pgi.json"))
    bundle = parse_cosign_bundle(fixture("spec-rekor-bundle.json").decode())
    verify_set(root, bundle)
    with pytest.raises(TlogRejected) as info:
        verify_set(root, parse_cosign_bundle(fixture("spec-rekor-bundle.json").decode().replace("5179", "5180")))
    assert info.value.reference == "bad-tlog-entry"
    # That entry is a "rekord" (pre-hashedrekord) body: bound to nothing we accept.
    with pytest.raises(TlogRejected) as info:
        check_hashedrekord(bundle.body, payload=b"x", signature=b"y", public_key=CosignSigner.generate().public_key)
    assert info.value.reference == "unsupported-tlog-entry"


def test_set_from_an_untrusted_log_is_rejected() -> None:
    ours, theirs = MiniSigstore(), MiniSigstore(name="other")
    signer = CosignSigner.generate()
    sig = signer.sign(b"p")
    text = ours.rekor_bundle(
        payload=b"p", signature=sig, verifier_pem=signer.public_key.pem(), rekor_key=theirs.rekor_key
    )
    with pytest.raises(TlogRejected) as info:
        verify_set(load_trusted_root(ours.trusted_root_json()), parse_cosign_bundle(text))
    assert info.value.reference == "unknown-transparency-log"


def test_hashedrekord_body_binding() -> None:
    sigstore = MiniSigstore()
    signer, other = CosignSigner.generate(), CosignSigner.generate()
    sig = signer.sign(b"p")
    bundle = parse_cosign_bundle(
        sigstore.rekor_bundle(payload=b"p", signature=sig, verifier_pem=signer.public_key.pem())
    )
    verify_set(load_trusted_root(sigstore.trusted_root_json()), bundle)
    check_hashedrekord(bundle.body, payload=b"p", signature=sig, public_key=signer.public_key)
    for kwargs in (
        {"payload": b"q", "signature": sig, "public_key": signer.public_key},
        {"payload": b"p", "signature": signer.sign(b"p"), "public_key": signer.public_key},
        {"payload": b"p", "signature": sig, "public_key": other.public_key},
    ):
        with pytest.raises(TlogRejected) as info:
            check_hashedrekord(bundle.body, **kwargs)  # type: ignore[arg-type]
        assert info.value.reference == "tlog-entry-mismatch"


@pytest.mark.parametrize("text", ["", "{}", '{"SignedEntryTimestamp":"!!","Payload":{}}', '{"Payload":{"body":1}}'])
def test_malformed_bundles(text: str) -> None:
    with pytest.raises(TlogRejected) as info:
        parse_cosign_bundle(text)
    assert info.value.reference == "malformed-tlog-entry"


# --- Fulcio certificates: cosign's SCT fixture and our own CA -----------------------------------------------------


def _sct_fixture_root(*, ct_key: bytes | None = None) -> bytes:
    root = x509.load_pem_x509_certificate(fixture("sct-root-cert.pem"))
    ct = serialization.load_pem_public_key(ct_key or fixture("sct-ctlog-key.pem")).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "ctlogs": [
                {
                    "publicKey": {"rawBytes": b64(ct), "validFor": {"start": "2022-01-01T00:00:00Z"}},
                    "logId": {"keyId": b64(hashlib.sha256(ct).digest())},
                }
            ],
            "certificateAuthorities": [
                {
                    "certChain": {"certificates": [{"rawBytes": b64(root.public_bytes(serialization.Encoding.DER))}]},
                    "validFor": {"start": "2022-01-01T00:00:00Z"},
                }
            ],
        }
    ).encode()


def test_upstream_embedded_sct_verifies() -> None:
    leaf = parse_certificate(fixture("sct-embedded-cert.pem"))
    assert leaf.issuer == "https://token.actions.githubusercontent.com"
    assert leaf.identities[0].startswith("https://github.com/sigstore-conformance/")
    at = dt.datetime(2023, 2, 1, 0, 5, tzinfo=dt.UTC)
    verify_signing_certificate(leaf, load_trusted_root(_sct_fixture_root()), at=at)


def test_upstream_sct_with_another_ct_log_key_is_rejected() -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    leaf = parse_certificate(fixture("sct-embedded-cert.pem"))
    with pytest.raises(CertificateRejected) as info:
        verify_signing_certificate(
            leaf, load_trusted_root(_sct_fixture_root(ct_key=pem)), at=dt.datetime(2023, 2, 1, 0, 5, tzinfo=dt.UTC)
        )
    assert info.value.reference == "bad-sct"


def test_own_ca_certificates() -> None:
    sigstore = MiniSigstore()
    root = load_trusted_root(sigstore.trusted_root_json())
    _, pem = sigstore.issue(email="alice@example.com", issuer="https://issuer.example")
    verify_signing_certificate(parse_certificate(pem), root, at=NOW)
    cases = {
        "certificate-not-valid-at-signing": (sigstore.issue(email="a@b", issuer="i")[1], NOW + dt.timedelta(hours=1)),
        "certificate-not-code-signing": (sigstore.issue(email="a@b", issuer="i", code_signing=False)[1], NOW),
        "sct-missing": (sigstore.issue(email="a@b", issuer="i", sct=False)[1], NOW),
        "untrusted-certificate": (MiniSigstore(name="evil").issue(email="a@b", issuer="i")[1], NOW),
    }
    for reason, (cert_pem, at) in cases.items():
        with pytest.raises(CertificateRejected) as info:
            verify_signing_certificate(parse_certificate(cert_pem), root, at=at)
        assert info.value.reference == reason


def test_trusted_root_must_be_a_trusted_root() -> None:
    for data in (
        b"",
        b"{}",
        b'{"mediaType":"application/json"}',
        fixture("trusted_root_pgi.json").replace(b"version=0.1", b"version=9"),
    ):
        with pytest.raises(InputError):
            load_trusted_root(data)
