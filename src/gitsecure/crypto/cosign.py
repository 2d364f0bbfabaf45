"""cosign public and signing keys: PEM SPKI keys verified with cosign's hash choice, and signing with them.

cosign (through sigstore/sigstore ``LoadDefaultVerifier``) ties the hash to the key: SHA-256 for P-256 and RSA
(PKCS#1 v1.5, 2048-4096 bits), SHA-384 for P-384, SHA-512 for P-521, and pure Ed25519. Nothing else is accepted:
an unknown key type is an input error, a signature that does not verify is the opaque :class:`BadSignature`.
"""

from __future__ import annotations

import hashlib

from asn1crypto import keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from gitsecure.crypto.errors import BadSignature
from gitsecure.errors import InputError

_CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
_RSA_BITS = range(2048, 4097)


def _check_supported(key: object) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if key.curve.name not in _CURVE_HASHES:
            raise InputError(f"unsupported ECDSA curve {key.curve.name}", reference="unsupported-key-type")
    elif isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size not in _RSA_BITS:
            raise InputError(f"unsupported RSA key size {key.key_size}", reference="unsupported-key-type")
    elif not isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        raise InputError(
            "unsupported key type (cosign keys are ECDSA, RSA or Ed25519)", reference="unsupported-key-type"
        )


class CosignPublicKey:
    """A verifying key as cosign uses it; ``fingerprint`` is ``sha256:<hex>`` of the SPKI DER."""

    def __init__(self, key: PublicKeyTypes) -> None:
        _check_supported(key)
        self._key = key
        self.spki_der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.fingerprint = "sha256:" + hashlib.sha256(self.spki_der).hexdigest()

    def pem(self) -> bytes:
        """The key as a ``PUBLIC KEY`` PEM block, as ``cosign.pub`` holds it."""
        return self._key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check ``signature`` over ``data``; raise :class:`BadSignature` on any failure."""
        key = self._key
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(_CURVE_HASHES[key.curve.name]()))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            else:  # pragma: no cover - excluded by the constructor
                raise BadSignature()
        except (InvalidSignature, ValueError):
            raise BadSignature() from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CosignPublicKey) and other.spki_der == self.spki_der

    def __hash__(self) -> int:
        return hash(self.spki_der)


def load_public_key(pem: bytes) -> CosignPublicKey:
    """Parse a PEM ``PUBLIC KEY`` (SPKI) block; raise ``InputError("invalid-public-key")`` otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InputError(
            "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)", reference="invalid-public-key"
        ) from None
    return CosignPublicKey(key)


def public_key_from_der(der: bytes) -> CosignPublicKey:
    """Parse a DER SubjectPublicKeyInfo (as trusted_root.json and certificates carry it)."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError):
        raise InputError("not a DER public key", reference="invalid-public-key") from None
    return CosignPublicKey(key)


class CosignSigner:
    """A private key that signs the way cosign does (ECDSA DER with the curve's hash, RSA PKCS#1 v1.5 SHA-256).

    Ed25519 is refused for signing: cosign signs with Ed25519ph but verifies keys with pure Ed25519, so such a
    signature would not verify with ``cosign verify --key``.
    """

    def __init__(self, key: PrivateKeyTypes) -> None:
        if isinstance(key, ed25519.Ed25519PrivateKey):
            raise InputError("Ed25519 cosign keys cannot be used for signing here", reference="unsupported-key-type")
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise InputError("unsupported private key type", reference="unsupported-key-type")
        _check_supported(key)
        self._key = key
        self.public_key = CosignPublicKey(key.public_key())

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (the exact payload bytes)."""
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(_CURVE_HASHES[key.curve.name]()))
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def pkcs8_der(self) -> bytes:
        """The unencrypted PKCS#8 DER (only to be encrypted right away, never written out)."""
        return self._key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def generate(cls) -> CosignSigner:
        """A new ECDSA P-256 key, cosign's default."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pkcs8_der(cls, der: bytes) -> CosignSigner:
        """Load an unencrypted PKCS#8 DER private key; raise ``InputError`` when it is not one."""
        try:
            # cosign (Go's ParsePKCS8PrivateKey) takes PKCS#8 only; pyca would also accept SEC1 or PKCS#1 DER.
            info = keys.PrivateKeyInfo.load(der, strict=True)
            info.native  # noqa: B018  (forces the full parse)
            key = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError):
            raise InputError("not a PKCS#8 private key", reference="invalid-private-key") from None
        return cls(key)
