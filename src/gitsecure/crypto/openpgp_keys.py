"""OpenPGP public key packets: fingerprints, key ids and the public key behind each.

A fingerprint is key identity, not signature hashing: v4 is SHA-1 over
``0x99 ‖ uint16 length ‖ body`` (RFC 4880 section 12.2), v6 is SHA-256 over
``0x9B ‖ uint32 length ‖ body`` (RFC 9580). SHA-1 stays here
because the v4 format defines it; signatures over SHA-1 are refused elsewhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gitsecure.crypto.openpgp_packets import FormatError, Reader

RSA = 1
RSA_SIGN_ONLY = 3
ECDSA = 19
EDDSA_LEGACY = 22
ED25519 = 27
RSA_ALGORITHMS = frozenset({RSA, RSA_SIGN_ONLY})
SUPPORTED_ALGORITHMS = frozenset({RSA, RSA_SIGN_ONLY, ECDSA, EDDSA_LEGACY, ED25519})

MIN_RSA_BITS = 2048

# Curve OIDs as they appear in key packets (DER content bytes, no tag or length).
_ED25519_LEGACY_OID = bytes.fromhex("2b06010401da470f01")
_ECDSA_CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(),
    bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(),
}

VerifyingKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
"""A public key the signature math can use."""


@dataclass(frozen=True)
class OpenPgpKey:
    """A primary key or subkey as found in a transferable public key (``gpg --export``)."""

    version: int
    fingerprint: str
    """40 (v4) or 64 (v6) upper-case hex digits."""
    key_id: str
    """16 upper-case hex digits: the last 8 fingerprint bytes for v4, the first 8 for v6."""
    algo: int
    created: dt.datetime
    body: bytes
    """The key packet body, as hashed into fingerprints and key signatures."""
    primary_fingerprint: str
    cross_certified: bool = True
    """For a subkey: whether a binding signature carries a valid back-signature by the subkey."""

    @property
    def is_subkey(self) -> bool:
        """Whether this is a subkey of ``primary_fingerprint``."""
        return self.fingerprint != self.primary_fingerprint

    @property
    def material(self) -> bytes:
        """The algorithm-specific public key fields."""
        return self.body[10:] if self.version == 6 else self.body[6:]

    @property
    def hash_prefix(self) -> bytes:
        """How the key is framed when hashed (fingerprints and key signatures)."""
        if self.version == 6:
            return b"\x9b" + len(self.body).to_bytes(4, "big") + self.body
        return b"\x99" + len(self.body).to_bytes(2, "big") + self.body


def parse_key_packet(body: bytes, *, primary_fingerprint: str | None) -> OpenPgpKey | None:
    """Read a public key or subkey packet body; ``None`` for versions other than 4 and 6.

    ``primary_fingerprint`` is ``None`` for a primary key. Raises
    :class:`FormatError` on malformed framing.
    """
    reader = Reader(body)
    version = reader.uint(1)
    if version not in (4, 6):
        return None
    created = dt.datetime.fromtimestamp(reader.uint(4), dt.UTC)
    algo = reader.uint(1)
    if version == 6 and reader.uint(4) != len(body) - 10:
        raise FormatError("v6 key material length mismatch")
    if reader.at_end():
        raise FormatError("key packet without key material")
    if version == 6:
        digest = hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).digest()
        key_id = digest[:8]
    else:
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False).digest()
        key_id = digest[-8:]
    fingerprint = digest.hex().upper()
    return OpenPgpKey(
        version=version,
        fingerprint=fingerprint,
        key_id=key_id.hex().upper(),
        algo=algo,
        created=created,
        body=body,
        primary_fingerprint=primary_fingerprint or fingerprint,
    )


def key_problem(key: OpenPgpKey) -> str | None:
    """Why ``key`` cannot verify anything, or ``None`` when it can."""
    if key.algo not in SUPPORTED_ALGORITHMS or (key.version == 6 and key.algo == EDDSA_LEGACY):
        return "unsupported algorithm"
    try:
        public = verifying_key(key.algo, key.material)
    except (FormatError, ValueError):
        return "unsupported algorithm"
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        return "weak key"
    return None


@functools.lru_cache(maxsize=1024)
def verifying_key(algo: int, material: bytes) -> VerifyingKey:
    """The public key in ``material`` (cached: a range of commits reuses a handful of keys).

    Raises :class:`FormatError` or :class:`ValueError` for malformed material,
    unknown curves and unsupported algorithms.
    """
    reader = Reader(material)
    public: VerifyingKey
    if algo in RSA_ALGORITHMS:
        modulus = int.from_bytes(reader.mpi(), "big")
        exponent = int.from_bytes(reader.mpi(), "big")
        public = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    elif algo == ECDSA:
        curve = _ECDSA_CURVES.get(reader.take(reader.uint(1)))
        if curve is None:
            raise ValueError("unsupported curve")
        public = ec.EllipticCurvePublicKey.from_encoded_point(curve, reader.mpi())
    elif algo == EDDSA_LEGACY:
        if reader.take(reader.uint(1)) != _ED25519_LEGACY_OID:
            raise ValueError("unsupported curve")
        point = reader.mpi()
        # The native key behind a 0x40 prefix octet (RFC 9580, EdDSALegacy point format).
        if len(point) != 33 or point[0] != 0x40:
            raise ValueError("bad EdDSA point")
        public = ed25519.Ed25519PublicKey.from_public_bytes(point[1:])
    elif algo == ED25519:
        public = ed25519.Ed25519PublicKey.from_public_bytes(reader.take(32))
    else:
        raise ValueError("unsupported algorithm")
    if not reader.at_end():
        raise FormatError("trailing key material")
    return public
