"""SSH public keys and OpenSSH certificates: real ssh-keygen output, and the malformations that must be refused."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gitsecure.crypto.sshcert import SshCertificate, verify_certificate
from gitsecure.crypto.sshkeys import SshPublicKey, fingerprint
from gitsecure.crypto.sshwire import MalformedWire, WireReader, ssh_mpint
from gitsecure.errors import InputError
from tests.support.sshkit import KEYGEN_ARGS, SshKit, forge_certificate, public_blob, sk_public_blob, wmpint, wstr

KINDS = sorted(KEYGEN_ARGS)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> SshKit:
    return SshKit(tmp_path_factory.mktemp("sshkeys"))


@pytest.fixture(scope="module")
def keys(kit: SshKit) -> dict[str, Path]:
    return {kind: kit.keygen(kind) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_public_keys_round_trip_with_ssh_keygen_fingerprints(kind: str, kit: SshKit, keys: dict[str, Path]) -> None:
    line = Path(str(keys[kind]) + ".pub").read_text()
    key = SshPublicKey.from_openssh(line)
    assert key.openssh() == " ".join(line.split()[:2])
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(keys[kind]) + ".pub"], check=True, capture_output=True, text=True, env=kit.env
    )
    assert key.fingerprint == listed.stdout.split()[1]
    assert key.fingerprint == fingerprint(key.blob)
    assert key.fingerprint in repr(key)


def test_fido_public_keys() -> None:
    for private in (ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())):
        key = SshPublicKey.from_blob(sk_public_blob(private))
        assert key.key_type.startswith("sk-")


def _bad_key_blobs() -> dict[str, tuple[bytes, str]]:
    ed = public_blob(ed25519.Ed25519PrivateKey.generate().public_key())
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = p256.public_numbers()
    ecdsa = public_blob(p256)
    compressed = wstr("ecdsa-sha2-nistp256") + wstr("nistp256") + wstr(bytes([2 + point.y % 2]) + point.x.to_bytes(32))
    off_curve = (
        wstr("ecdsa-sha2-nistp256")
        + wstr("nistp256")
        + wstr(b"\x04" + (point.x + 1).to_bytes(32) + point.y.to_bytes(32))
    )
    small_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    return {
        "truncated": (ed[:-1], "truncated"),
        "trailing bytes": (ed + b"\x00", "trailing bytes"),
        "short ed25519": (wstr("ssh-ed25519") + wstr(b"\x01" * 31), "ed25519 key length"),
        "unknown type": (wstr("ssh-dss") + ed[15:], "unknown key type"),
        "curve mismatch": (wstr("ecdsa-sha2-nistp256") + wstr("nistp384") + ecdsa[35:], "curve mismatch"),
        "compressed point": (compressed, "compressed point"),
        "point off curve": (off_curve, "bad key"),
        "rsa 1024": (wstr("ssh-rsa") + wmpint(small_rsa.e) + wmpint(small_rsa.n), "rsa size"),
        "rsa even exponent": (wstr("ssh-rsa") + wmpint(65536) + wmpint(n), "bad key"),
        "non-minimal mpint": (wstr("ssh-rsa") + wstr(b"\x00\x01\x00\x01") + wmpint(n), "non-minimal mpint"),
        "negative mpint": (wstr("ssh-rsa") + wstr(b"\x81\x00\x01") + wmpint(n), "negative mpint"),
        "zero mpint": (wstr("ssh-rsa") + wstr(b"") + wmpint(n), "zero mpint"),
        "NUL in application": (sk_public_blob(ed25519.Ed25519PrivateKey.generate(), "ssh:\x00x"), "NUL in string"),
        "certificate as key": (forge_certificate(ed, ed25519.Ed25519PrivateKey.generate()), "unknown key type"),
    }


def test_malformed_public_keys_are_refused() -> None:
    cases = _bad_key_blobs()
    for name, (blob, reason) in cases.items():
        with pytest.raises(InputError) as info:
            SshPublicKey.from_blob(blob)
        assert info.value.reference == "invalid-ssh-key", name
        # The user sees one message; the internal cause says which check fired.
        assert str(info.value.__cause__) == reason, name
    with pytest.raises(InputError, match="does not match"):
        SshPublicKey("ssh-rsa", public_blob(ed25519.Ed25519PrivateKey.generate().public_key()))
    ed = public_blob(ed25519.Ed25519PrivateKey.generate().public_key())
    for line in ("", "ssh-ed25519", "ssh-ed25519 !!!", "ssh-rsa " + base64.b64encode(ed).decode()):
        with pytest.raises(InputError):
            SshPublicKey.from_openssh(line)


def test_wire_reader_bounds() -> None:
    with pytest.raises(MalformedWire):
        WireReader(struct.pack(">I", 5) + b"abc").string()
    with pytest.raises(MalformedWire):
        WireReader(wstr(b"a\x00b")).cstring()
    with pytest.raises(MalformedWire):
        WireReader(wstr(b"\xff")).text()
    assert WireReader(ssh_mpint(0x80)).mpint() == 0x80


def test_certificate_fields_from_ssh_keygen(kit: SshKit, keys: dict[str, Path]) -> None:
    cert_path = kit.certify(
        keys["ed25519"],
        keys["ecdsa256"],
        principals="alice@example.com,alice",
        identity="alice-laptop",
        validity="20260101Z:20270101Z",
        options=("force-command=/bin/true", "no-pty"),
        serial=42,
    )
    cert = SshCertificate.from_openssh(cert_path.read_text())
    assert cert.key == SshPublicKey.from_openssh(kit.public(keys["ecdsa256"]))
    assert cert.signature_key == SshPublicKey.from_openssh(kit.public(keys["ed25519"]))
    assert (cert.serial, cert.cert_type, cert.key_id) == (42, 1, "alice-laptop")
    assert cert.principals == ("alice@example.com", "alice")
    assert cert.valid_after == int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
    assert cert.valid_before == int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp())
    assert cert.critical_options == {"force-command": wstr("/bin/true")}
    assert "permit-pty" not in cert.extensions and "permit-agent-forwarding" in cert.extensions
    assert cert.openssh() == kit.public(cert_path)
    assert cert.fingerprint == cert.key.fingerprint
    assert verify_certificate(cert)


@pytest.mark.parametrize("ca_kind", ["rsa", "ecdsa521", "ed25519"])
def test_certificates_from_each_ca_type(ca_kind: str, kit: SshKit, keys: dict[str, Path]) -> None:
    cert = SshCertificate.from_openssh(
        kit.certify(keys[ca_kind], keys["ed25519"], principals="bob", host=True).read_text()
    )
    assert cert.cert_type == 2
    assert cert.valid_before == 2**64 - 1
    assert verify_certificate(cert)


def test_edited_certificate_fails_verification(kit: SshKit, keys: dict[str, Path]) -> None:
    cert = SshCertificate.from_openssh(kit.certify(keys["ed25519"], keys["rsa"], principals="alice").read_text())
    assert not verify_certificate(dataclasses.replace(cert, principals=("root",)))
    assert not verify_certificate(dataclasses.replace(cert, valid_before=cert.valid_before + 1))
    tampered = cert.blob.replace(wstr("alice"), wstr("alicf"))
    with pytest.raises(InputError, match="invalid SSH certificate"):
        SshCertificate.from_blob(tampered)


def test_sha1_ca_signature_is_refused(kit: SshKit, keys: dict[str, Path]) -> None:
    path = kit.certify(keys["rsa"], keys["ed25519"], principals="alice", algorithm="ssh-rsa")
    assert "(using ssh-rsa)" in kit.describe(path)
    with pytest.raises(InputError) as info:
        SshCertificate.from_openssh(path.read_text())
    assert str(info.value.__cause__) == "signature algorithm"
    sha2 = kit.certify(keys["rsa"], keys["ed25519"], principals="alice", algorithm="rsa-sha2-256")
    assert SshCertificate.from_openssh(sha2.read_text()).signature.algorithm == "rsa-sha2-256"  # type: ignore[union-attr]


def test_forged_certificate_shapes() -> None:
    ca = ed25519.Ed25519PrivateKey.generate()
    key = public_blob(ed25519.Ed25519PrivateKey.generate().public_key())
    good = SshCertificate.from_blob(forge_certificate(key, ca, critical=wstr("verify-required") + wstr(b"")))
    assert good.critical_options == {"verify-required": b""}
    sk = SshCertificate.from_blob(forge_certificate(sk_public_blob(ec.generate_private_key(ec.SECP256R1())), ca))
    assert sk.key_type == "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
    chained = forge_certificate(key, ca)
    other_ca = public_blob(ed25519.Ed25519PrivateKey.generate().public_key())
    bad = {
        "unknown certificate type": (forge_certificate(key, ca, cert_type=3), "unknown certificate type"),
        "duplicate option": (
            forge_certificate(key, ca, extensions=(wstr("permit-pty") + wstr(b"")) * 2),
            "duplicate certificate option",
        ),
        "too many principals": (
            forge_certificate(key, ca, principals=tuple(f"p{i}" for i in range(257))),
            "too many principals",
        ),
        "chained certificate": (forge_certificate(key, ca, ca_blob=chained), "bad key"),
        "truncated": (forge_certificate(key, ca)[:-1], "truncated"),
        "trailing": (forge_certificate(key, ca) + b"\x00", "trailing bytes"),
        "wrong CA key": (forge_certificate(key, ca, ca_blob=other_ca), "certificate signature"),
    }
    for name, (blob, reason) in bad.items():
        with pytest.raises(InputError) as info:
            SshCertificate.from_blob(blob)
        assert info.value.reference == "invalid-ssh-certificate", name
        assert str(info.value.__cause__) == reason, name
