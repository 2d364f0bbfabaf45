"""Controller-format keys and certificates."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gitsecure.crypto import keys
from gitsecure.errors import InputError
from tests.conftest import NOW

# keyUsage OID, critical TRUE, OCTET STRING { BIT STRING: encipherOnly only }, as upstream's Go code writes it.
# pyca refuses to *parse* encipherOnly without keyAgreement, so the DER is compared directly.
ENCIPHER_ONLY_KEY_USAGE = bytes.fromhex("0603551d0f0101ff040403020001")
# basicConstraints OID, critical TRUE, OCTET STRING { SEQUENCE { cA TRUE } }.
CRITICAL_CA_TRUE = bytes.fromhex("0603551d130101ff040530030101ff")


def test_generated_certificate_has_the_controller_shape(small_pair: keys.KeyPair, reference_cert_pem: bytes) -> None:
    cert = small_pair.certificate
    reference = x509.load_pem_x509_certificate(reference_cert_pem)
    assert cert.subject == x509.Name([]) == cert.issuer
    assert cert.version is x509.Version.v3
    assert 0 <= cert.serial_number < 2**128
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(hours=87600)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert ENCIPHER_ONLY_KEY_USAGE in reference.tbs_certificate_bytes
    assert ENCIPHER_ONLY_KEY_USAGE in cert.tbs_certificate_bytes
    assert CRITICAL_CA_TRUE in reference.tbs_certificate_bytes
    assert CRITICAL_CA_TRUE in cert.tbs_certificate_bytes
    assert small_pair.private_key.public_key().public_numbers().e == 65537


def test_certificate_is_self_signed(small_pair: keys.KeyPair) -> None:
    small_pair.certificate.verify_directly_issued_by(small_pair.certificate)


def test_common_name_and_ttl_are_honoured() -> None:
    pair = keys.generate_key_pair(now=NOW, key_size=2048, ttl=dt.timedelta(hours=1), common_name="sealed-secret")
    assert pair.certificate.subject.rfc4514_string() == "CN=sealed-secret"
    assert pair.not_before == NOW.replace(microsecond=0)
    assert pair.certificate.not_valid_after_utc == NOW + dt.timedelta(hours=1)


def test_weak_key_size_is_refused() -> None:
    with pytest.raises(InputError, match="too small"):
        keys.generate_key_pair(now=NOW, key_size=1024)


@pytest.mark.parametrize("fmt", ["pkcs1", "pkcs8"])
def test_pem_round_trip(small_pair: keys.KeyPair, fmt: Any) -> None:
    pem = keys.dump_private_key(small_pair.private_key, fmt=fmt)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----" if fmt == "pkcs1" else b"-----BEGIN PRIVATE KEY-----")
    loaded = keys.load_private_key(pem)
    assert loaded.private_numbers() == small_pair.private_key.private_numbers()


def test_reference_key_loads_and_matches_its_certificate(reference_key_pem: bytes, reference_cert_pem: bytes) -> None:
    key = keys.load_private_key(reference_key_pem)
    cert = keys.load_certificates(reference_cert_pem)[0]
    assert keys.certificate_for(key, [cert]) is cert
    assert key.key_size == 4096


def test_non_rsa_private_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InputError, match="must be RSA"):
        keys.load_private_key(pem)


@pytest.mark.parametrize(
    "pem", [b"", b"not a key", b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"]
)
def test_garbage_private_key_is_refused(pem: bytes) -> None:
    with pytest.raises(InputError, match="cannot parse private key"):
        keys.load_private_key(pem)


def test_fingerprint_matches_ssh_keygen(small_pair: keys.KeyPair, tmp_path: Path) -> None:
    public = small_pair.private_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path = tmp_path / "key.pub"
    path.write_bytes(public + b" test\n")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)], capture_output=True, check=True)
    assert out.stdout.split()[1].decode() == small_pair.fingerprint


def test_sealing_key_from_certificate(small_pair: keys.KeyPair) -> None:
    pem = keys.dump_certificate(small_pair.certificate)
    public = keys.sealing_public_key(pem, now=NOW)
    assert public.public_numbers() == small_pair.private_key.public_key().public_numbers()


def test_expired_certificate_is_refused_with_kubeseal_wording(small_pair: keys.KeyPair) -> None:
    cert = keys.self_signed_certificate(
        small_pair.private_key, now=NOW - dt.timedelta(days=30), ttl=dt.timedelta(days=2)
    )
    with pytest.raises(InputError) as info:
        keys.sealing_public_key(keys.dump_certificate(cert), now=NOW)
    expiry = NOW - dt.timedelta(days=28)
    assert (
        info.value.message
        == f"failed to encrypt using an expired certificate on {expiry:%B} {expiry.day}, {expiry.year}"
    )


def test_non_rsa_certificate_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(InputError, match="expected RSA public key"):
        keys.sealing_public_key(cert.public_bytes(serialization.Encoding.PEM), now=NOW)


@pytest.mark.parametrize("pem", [b"", b"garbage", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_input_without_a_certificate_is_refused(pem: bytes) -> None:
    with pytest.raises(InputError, match="does not contain any valid RSA or ECDSA certificates"):
        keys.sealing_public_key(pem, now=NOW)
