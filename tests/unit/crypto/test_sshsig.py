"""SSHSIG parsing and verification against signatures made by the real ssh-keygen (and hand-built edge cases)."""

from __future__ import annotations

import base64
import random
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gitsecure.crypto.sshcert import SshCertificate
from gitsecure.crypto.sshkeys import BadSignature, SshPublicKey
from gitsecure.crypto.sshsig import parse_armored_sshsig, parse_sshsig, verify_sshsig
from tests.support.sshkit import (
    KEYGEN_ARGS,
    SshKit,
    armor,
    forge_sshsig,
    public_blob,
    raw_sign,
    sk_public_blob,
    sk_sign,
    sshsig_blob,
    wstr,
)

PAYLOAD = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904\nauthor A <a@example.com> 1 +0000\n\nmessage\n"
KINDS = sorted(KEYGEN_ARGS)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> SshKit:
    return SshKit(tmp_path_factory.mktemp("sshsig"))


@pytest.fixture(scope="module")
def keys(kit: SshKit) -> dict[str, Path]:
    return {kind: kit.keygen(kind) for kind in KINDS}


@pytest.fixture(scope="module")
def signatures(kit: SshKit, keys: dict[str, Path]) -> dict[str, bytes]:
    return {kind: kit.sign(key, PAYLOAD) for kind, key in keys.items()}


def _blob(armored: bytes) -> bytes:
    return base64.b64decode(b"".join(armored.strip().split(b"\n")[1:-1]))


@pytest.mark.parametrize("kind", KINDS)
def test_ssh_keygen_signatures_verify(
    kind: str, kit: SshKit, keys: dict[str, Path], signatures: dict[str, bytes]
) -> None:
    sig = parse_armored_sshsig(signatures[kind])
    assert sig.namespace == "git"
    assert sig.hash_algorithm == "sha512"
    assert sig.public_key == SshPublicKey.from_openssh(kit.public(keys[kind]))
    assert verify_sshsig(sig, PAYLOAD)
    assert not verify_sshsig(sig, PAYLOAD + b"x")
    assert not verify_sshsig(sig, PAYLOAD.replace(b"message", b"messagE"))
    if kind == "rsa":
        assert sig.signature.algorithm == "rsa-sha2-512"
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(keys[kind]) + ".pub"], capture_output=True, check=True, env=kit.env, text=True
    ).stdout.split()[1]
    assert sig.fingerprint == fingerprint


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_sha256_hash_algorithm(kind: str, kit: SshKit, keys: dict[str, Path]) -> None:
    sig = parse_armored_sshsig(kit.sign(keys[kind], PAYLOAD, hashalg="sha256"))
    assert sig.hash_algorithm == "sha256"
    assert verify_sshsig(sig, PAYLOAD)


def test_other_namespace_still_verifies_mathematically(kit: SshKit, keys: dict[str, Path]) -> None:
    # The namespace is policy (allowed_signers), not math: the signature is sound for "file".
    sig = parse_armored_sshsig(kit.sign(keys["ed25519"], PAYLOAD, namespace="file"))
    assert sig.namespace == "file"
    assert verify_sshsig(sig, PAYLOAD)


def test_certificate_signature(kit: SshKit, keys: dict[str, Path]) -> None:
    cert = kit.certify(keys["rsa"], keys["ecdsa384"], principals="alice@example.com", identity="alice-laptop")
    sig = parse_armored_sshsig(kit.sign(cert, PAYLOAD))
    assert isinstance(sig.public_key, SshCertificate)
    assert sig.public_key.key_id == "alice-laptop"
    assert sig.signer == SshPublicKey.from_openssh(kit.public(keys["ecdsa384"]))
    assert verify_sshsig(sig, PAYLOAD)
    assert not verify_sshsig(sig, PAYLOAD + b"\n")


def test_signature_from_another_key_does_not_verify(
    signatures: dict[str, bytes], keys: dict[str, Path], kit: SshKit
) -> None:
    # Swap in another key of the same type: the blob parses, the math fails.
    other = SshPublicKey.from_openssh(kit.public(kit.keygen("ed25519")))
    original = parse_armored_sshsig(signatures["ed25519"])
    forged = _blob(signatures["ed25519"]).replace(original.public_key.blob, other.blob)
    assert not verify_sshsig(parse_sshsig(forged), PAYLOAD)


def test_rsa_sha2_256_accepted_and_sha1_refused(kit: SshKit) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    blob = public_blob(private.public_key())
    good = forge_sshsig(blob, lambda data: raw_sign(private, data, rsa_algorithm="rsa-sha2-256"), PAYLOAD)
    sig = parse_armored_sshsig(good)
    assert sig.signature.algorithm == "rsa-sha2-256"
    assert verify_sshsig(sig, PAYLOAD)
    sha1 = forge_sshsig(blob, lambda data: raw_sign(private, data, rsa_algorithm="ssh-rsa"), PAYLOAD)
    with pytest.raises(BadSignature):
        parse_armored_sshsig(sha1)


@pytest.mark.parametrize("curve", ["ed25519", "p256"])
def test_fido_signatures(curve: str) -> None:
    private = ed25519.Ed25519PrivateKey.generate() if curve == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    blob = sk_public_blob(private)
    sig = parse_armored_sshsig(forge_sshsig(blob, lambda data: sk_sign(private, data, flags=0x05), PAYLOAD))
    assert (sig.signature.sk_flags, sig.signature.sk_counter) == (0x05, 7)
    assert verify_sshsig(sig, PAYLOAD)
    assert not verify_sshsig(sig, PAYLOAD + b"x")
    # No touch (user-presence flag clear): refused even though the math holds.
    untouched = forge_sshsig(blob, lambda data: sk_sign(private, data, flags=0x00), PAYLOAD)
    assert not verify_sshsig(parse_armored_sshsig(untouched), PAYLOAD)
    # Signed for another relying party than the key's application.
    other_app = forge_sshsig(blob, lambda data: sk_sign(private, data, application="ssh:other"), PAYLOAD)
    assert not verify_sshsig(parse_armored_sshsig(other_app), PAYLOAD)
    # The counter is signed: changing it on the wire breaks the signature.
    good = _blob(forge_sshsig(blob, lambda data: sk_sign(private, data), PAYLOAD))
    assert not verify_sshsig(parse_sshsig(good[:-1] + b"\x08"), PAYLOAD)


def test_armour_variants(signatures: dict[str, bytes]) -> None:
    armored = signatures["ed25519"]
    crlf = armored.replace(b"\n", b"\r\n")
    no_final_newline = armored.rstrip(b"\n")
    for variant in (armored, crlf, no_final_newline, armor(_blob(armored))):
        assert verify_sshsig(parse_armored_sshsig(variant), PAYLOAD)


def _malformed(armored: bytes) -> dict[str, tuple[bytes, str]]:
    blob = _blob(armored)
    sig = parse_sshsig(blob)
    key = sig.public_key.blob
    inner = blob[-83:]  # the Ed25519 signature structure: string "ssh-ed25519", string sig[64]
    assert inner.startswith(wstr("ssh-ed25519"))
    return {
        "no header": (armored.split(b"\n", 1)[1], "armour"),
        "no footer": (armored.rsplit(b"-----END", 1)[0], "armour"),
        "text after footer": (armored + b"trailing\n", "armour"),
        "text before header": (b"x\n" + armored, "armour"),
        "empty body": (b"-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n", "armour"),
        "PGP armour": (armored.replace(b"SSH SIGNATURE", b"PGP SIGNATURE"), "armour"),
        "garbage base64": (armored.replace(armored.split(b"\n")[1][:8], b"!!!!!!!!"), "armour body"),
        "cut base64": (b"\n".join([*armored.split(b"\n")[:2], b"-----END SSH SIGNATURE-----"]), "base64"),
        "truncated blob": (armor(blob[:-10]), "truncated"),
        "trailing bytes": (armor(blob + b"\x00"), "trailing bytes"),
        "wrong magic": (armor(sshsig_blob(key, inner, magic=b"SSHSIH")), "preamble"),
        "version 2": (armor(sshsig_blob(key, inner, version=2)), "preamble"),
        "version 0": (armor(sshsig_blob(key, inner, version=0)), "preamble"),
        "empty namespace": (armor(sshsig_blob(key, inner, namespace="")), "empty namespace"),
        "reserved set": (armor(sshsig_blob(key, inner, reserved=b"tag")), "reserved field set"),
        "sha1 hash": (armor(sshsig_blob(key, inner, hashalg="sha1")), "hash algorithm"),
        "algorithm mismatch": (
            armor(sshsig_blob(key, wstr("ecdsa-sha2-nistp256") + inner[15:])),
            "signature algorithm",
        ),
        "short ed25519 signature": (
            armor(sshsig_blob(key, wstr("ssh-ed25519") + wstr(b"x" * 63))),
            "ed25519 signature length",
        ),
        "unknown key type": (armor(sshsig_blob(wstr("ssh-dss") + key[15:], inner)), "unknown key type"),
        "truncated key": (armor(sshsig_blob(key[:-1], inner)), "bad key"),
        "webauthn": (
            armor(sshsig_blob(key, wstr("webauthn-sk-ecdsa-sha2-nistp256@openssh.com") + inner[15:])),
            "signature algorithm",
        ),
    }


def test_malformed_signatures_are_refused(signatures: dict[str, bytes]) -> None:
    cases = _malformed(signatures["ed25519"])
    assert len(cases) == 21
    for name, (armored, reason) in cases.items():
        with pytest.raises(BadSignature) as info:
            parse_armored_sshsig(armored)
        assert info.value.message == "bad signature", name
        assert info.value.reference == "bad-signature"
        # Opaque to the caller; the chained internal cause names the check that fired.
        assert str(info.value.__cause__) == reason, name


def test_random_corruption_never_verifies(signatures: dict[str, bytes]) -> None:
    # Every single-byte change is either refused as malformed or fails the math; nothing else escapes.
    rng = random.Random(6)
    for kind in ("ed25519", "ecdsa256", "rsa"):
        blob = _blob(signatures[kind])
        for _ in range(150):
            position = rng.randrange(len(blob))
            mutated = blob[:position] + bytes([blob[position] ^ (1 << rng.randrange(8))]) + blob[position + 1 :]
            try:
                sig = parse_sshsig(mutated)
            except BadSignature:
                continue
            assert not verify_sshsig(sig, PAYLOAD), (kind, position)
