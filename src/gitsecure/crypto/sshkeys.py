"""SSH public keys and raw SSH signatures (RFC 4253/5656/8332/8709, OpenSSH PROTOCOL.u2f); certificates: sshcert.

Only what a Git signature can carry is accepted: Ed25519, ECDSA on P-256/384/521, RSA of 2048 to
16384 bits with SHA-2 signatures, and the FIDO ``sk-`` variants of Ed25519 and P-256. DSA, the
SHA-1 ``ssh-rsa`` signature, webauthn signatures and chained certificates are refused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gitsecure.crypto.errors import BadSignature as BadSignature  # noqa: PLC0414 (re-exported, its former home)
from gitsecure.crypto.sshwire import MalformedWire, WireReader
from gitsecure.errors import InputError

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
_ECDSA: dict[str, tuple[str, ec.EllipticCurve, hashes.HashAlgorithm]] = {
    "ecdsa-sha2-nistp256": ("nistp256", ec.SECP256R1(), hashes.SHA256()),
    "ecdsa-sha2-nistp384": ("nistp384", ec.SECP384R1(), hashes.SHA384()),
    "ecdsa-sha2-nistp521": ("nistp521", ec.SECP521R1(), hashes.SHA512()),
}
KEY_TYPES = frozenset({ED25519, RSA, SK_ED25519, SK_ECDSA, *_ECDSA})
"""Plain key types accepted."""
CERT_TYPES = {
    ED25519: "ssh-ed25519-cert-v01@openssh.com",
    RSA: "ssh-rsa-cert-v01@openssh.com",
    SK_ED25519: "sk-ssh-ed25519-cert-v01@openssh.com",
    SK_ECDSA: "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    **{name: f"{name}-cert-v01@openssh.com" for name in _ECDSA},
}
"""Certificate key type for each plain key type."""
_RSA_SIGNATURES = {"rsa-sha2-256": hashes.SHA256(), "rsa-sha2-512": hashes.SHA512()}
_RSA_BITS = (2048, 16384)
# PROTOCOL.u2f flag bits: the authenticator saw a touch / verified the user (PIN or biometric).
SK_USER_PRESENT = 0x01
SK_USER_VERIFIED = 0x04


@dataclass(frozen=True)
class _Material:
    key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    application: bytes | None  # FIDO keys: the relying-party string hashed into every signature


def read_key_fields(reader: WireReader, key_type: str) -> _Material:
    """Read the fields after the type name of a plain key (also the key part of a certificate)."""
    try:
        if key_type in (ED25519, SK_ED25519):
            raw = reader.string()
            if len(raw) != 32:
                raise MalformedWire("ed25519 key length")
            key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        elif key_type in _ECDSA or key_type == SK_ECDSA:
            curve_name, curve, _ = _ECDSA.get(key_type, _ECDSA["ecdsa-sha2-nistp256"])
            if reader.text() != curve_name:
                raise MalformedWire("curve mismatch")
            point = reader.string()
            # Uncompressed points only, so that blob equality is key equality.
            if not point.startswith(b"\x04"):
                raise MalformedWire("compressed point")
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        elif key_type == RSA:
            e, n = reader.mpint(), reader.mpint()
            if not _RSA_BITS[0] <= n.bit_length() <= _RSA_BITS[1]:
                raise MalformedWire("rsa size")
            key = rsa.RSAPublicNumbers(e, n).public_key()
        else:
            raise MalformedWire("unknown key type")
    except MalformedWire:
        raise
    except ValueError as exc:  # pyca: point not on the curve, bad exponent, ...
        raise MalformedWire("bad key") from exc
    application = reader.cstring() if key_type in (SK_ED25519, SK_ECDSA) else None
    return _Material(key, application)


@functools.lru_cache(maxsize=4096)
def _material(blob: bytes) -> tuple[str, _Material]:
    # Cached: a 5,000-commit range is signed by a handful of keys, and loading is the costly part.
    reader = WireReader(blob)
    key_type = reader.text()
    if key_type not in KEY_TYPES:
        raise MalformedWire("unknown key type")
    material = read_key_fields(reader, key_type)
    reader.done()
    return key_type, material


@dataclass(frozen=True)
class SshPublicKey:
    """A plain SSH public key: its type name and its wire blob (validated on construction)."""

    key_type: str
    blob: bytes

    def __repr__(self) -> str:
        return f"SshPublicKey({self.key_type} {self.fingerprint})"

    def __post_init__(self) -> None:
        try:
            key_type, _ = _material(self.blob)
        except MalformedWire as exc:
            raise InputError("invalid SSH public key", reference="invalid-ssh-key") from exc
        if key_type != self.key_type:
            raise InputError("SSH public key type does not match its blob", reference="invalid-ssh-key")

    @classmethod
    def from_blob(cls, blob: bytes) -> SshPublicKey:
        """The key whose wire encoding is ``blob``; raises InputError for anything else."""
        try:
            key_type = WireReader(blob).text()
        except MalformedWire as exc:
            raise InputError("invalid SSH public key", reference="invalid-ssh-key") from exc
        return cls(key_type, blob)

    @classmethod
    def from_openssh(cls, line: str) -> SshPublicKey:
        """Parse ``<type> <base64> [comment]`` (a ``.pub`` file line)."""
        key_type, blob = _split_openssh(line)
        key = cls.from_blob(blob)
        if key.key_type != key_type:
            raise InputError("SSH public key type does not match its blob", reference="invalid-ssh-key")
        return key

    @property
    def fingerprint(self) -> str:
        """``SHA256:<unpadded base64>``, as ``ssh-keygen -l`` prints it."""
        return fingerprint(self.blob)

    def openssh(self) -> str:
        """The one-line OpenSSH form, without a comment."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode('ascii')}"


def fingerprint(blob: bytes) -> str:
    """The SHA-256 fingerprint of a key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def _split_openssh(line: str) -> tuple[str, bytes]:
    fields = line.strip().split(maxsplit=2)
    if len(fields) < 2:
        raise InputError("invalid SSH public key line", reference="invalid-ssh-key")
    try:
        return fields[0], base64.b64decode(fields[1], validate=True)
    except binascii.Error as exc:
        raise InputError("invalid SSH public key line", reference="invalid-ssh-key") from exc


@dataclass(frozen=True)
class RawSignature:
    """An SSH signature structure (``string algorithm, string blob`` and the FIDO flags and counter)."""

    algorithm: str
    value: bytes  # Ed25519: 64 bytes; ECDSA: DER (r, s); RSA: the PKCS#1 v1.5 signature
    sk_flags: int | None = None
    sk_counter: int | None = None


def _signature_algorithms(key_type: str) -> frozenset[str]:
    # RSA keys sign with SHA-2 only: the key type name "ssh-rsa" is also the SHA-1 algorithm name.
    return frozenset(_RSA_SIGNATURES) if key_type == RSA else frozenset({key_type})


def parse_raw_signature(blob: bytes, key: SshPublicKey) -> RawSignature:
    """Parse a signature made by ``key``; the algorithm must be the one that key type signs with."""
    reader = WireReader(blob)
    algorithm = reader.text()
    if algorithm not in _signature_algorithms(key.key_type):
        raise MalformedWire("signature algorithm")
    if key.key_type in (ED25519, SK_ED25519):
        value = reader.string()
        if len(value) != 64:
            raise MalformedWire("ed25519 signature length")
    elif key.key_type == RSA:
        value = reader.string()
    else:
        inner = WireReader(reader.string())
        r, s = inner.mpint(), inner.mpint()
        inner.done()
        value = encode_dss_signature(r, s)
    flags = counter = None
    if key.key_type in (SK_ED25519, SK_ECDSA):
        flags, counter = reader.u8(), reader.u32()
    reader.done()
    return RawSignature(algorithm, value, flags, counter)


def verify_raw(key: SshPublicKey, signature: RawSignature, data: bytes) -> bool:
    """True when ``signature`` by ``key`` covers ``data``. FIDO signatures must assert user presence."""
    _, material = _material(key.blob)
    pub = material.key
    if signature.algorithm not in _signature_algorithms(key.key_type):
        return False
    if material.application is not None:
        if signature.sk_flags is None or signature.sk_counter is None or not signature.sk_flags & SK_USER_PRESENT:
            return False
        # PROTOCOL.u2f: the authenticator signs H(application) || flags || counter || H(message).
        data = (
            hashlib.sha256(material.application).digest()
            + bytes([signature.sk_flags])
            + signature.sk_counter.to_bytes(4, "big")
            + hashlib.sha256(data).digest()
        )
    try:
        if isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(signature.value, data)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            digest = hashes.SHA256() if key.key_type == SK_ECDSA else _ECDSA[key.key_type][2]
            pub.verify(signature.value, data, ec.ECDSA(digest))
        else:
            # OpenSSH signers always pad to the modulus length; a shorter value is not theirs.
            if len(signature.value) != (pub.key_size + 7) // 8:
                return False
            pub.verify(signature.value, data, padding.PKCS1v15(), _RSA_SIGNATURES[signature.algorithm])
    except InvalidSignature:
        return False
    return True
