"""OpenPGP signature packets (RFC 4880 / RFC 9580): parsing and the digest they sign.

v4 and v6 packets are read; v3 and anything malformed raise the opaque
:class:`BadSignature`. The creation time must be in the hashed area; issuer
fingerprint and key id may be in either area (they only select a key, the
math binds it). A critical subpacket this code does not understand rejects
the signature, as RFC 4880 and RFC 9580 require.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.openpgp_keys import ECDSA, ED25519, EDDSA_LEGACY, RSA_ALGORITHMS
from gitsecure.crypto.openpgp_packets import FormatError, Reader, Subpacket, dearmor, iter_packets, iter_subpackets

BINARY_DOCUMENT = 0x00
TEXT_DOCUMENT = 0x01

WEAK_HASHES = {1: "MD5", 2: "SHA1", 3: "RIPEMD160"}
SHA1 = 2
# hash id -> (hashlib name, pyca hash, v6 salt size). SHA-1 is listed only for
# subkey back-signatures (see _has_back_signature); signature_problem() refuses
# it for every document signature before this table is consulted.
HASHES: dict[int, tuple[str, type[hashes.HashAlgorithm], int]] = {
    SHA1: ("sha1", hashes.SHA1, 0),
    8: ("sha256", hashes.SHA256, 16),
    9: ("sha384", hashes.SHA384, 24),
    10: ("sha512", hashes.SHA512, 32),
    11: ("sha224", hashes.SHA224, 16),
    12: ("sha3_256", hashes.SHA3_256, 16),
    14: ("sha3_512", hashes.SHA3_512, 32),
}


_CREATED, _SIG_EXPIRES, _ISSUER_KEY_ID, _ISSUER_FINGERPRINT = 2, 3, 16, 33
# Subpackets a document signature may mark critical: the ones read here and the
# ones that do not change what a signature over a Git object means
# (exportable, policy URI, signer's user ID). Any other critical one rejects.
_CRITICAL_UNDERSTOOD = frozenset({_CREATED, _SIG_EXPIRES, 4, _ISSUER_KEY_ID, 26, 28, _ISSUER_FINGERPRINT})


@dataclass(frozen=True)
class OpenPgpSignature:
    """A parsed v4 or v6 signature packet."""

    version: int
    sig_type: int
    pubkey_algo: int
    hash_algo: int
    created: dt.datetime
    expires: dt.datetime | None
    """When the signature itself expires (subpacket 3), if it does."""
    issuer_fingerprint: str | None
    issuer_key_id: str | None
    hashed_area: bytes
    left16: bytes
    salt: bytes
    """The v6 salt; empty for v4."""
    values: tuple[bytes, ...]
    """The signature: MPI magnitudes (RSA s; ECDSA/EdDSA r, s) or the native Ed25519 bytes."""


def parse_armored_signature(armored: bytes) -> OpenPgpSignature:
    """Parse an armoured detached signature holding exactly one signature packet."""
    try:
        packets = list(iter_packets(dearmor(armored, label="SIGNATURE")))
    except FormatError:
        raise BadSignature() from None
    if len(packets) != 1 or packets[0].tag != 2:
        raise BadSignature()
    return parse_signature_packet(packets[0].body)


def parse_signature_packet(body: bytes) -> OpenPgpSignature:
    """Parse a signature packet body; :class:`BadSignature` on anything malformed or unsupported."""
    try:
        return _parse_signature(body)
    except FormatError:
        raise BadSignature() from None


def _parse_signature(body: bytes) -> OpenPgpSignature:
    reader = Reader(body)
    version = reader.uint(1)
    if version not in (4, 6):
        raise FormatError("unsupported signature version")
    sig_type, pubkey_algo, hash_algo = reader.uint(1), reader.uint(1), reader.uint(1)
    count_size = 4 if version == 6 else 2
    hashed_area = reader.take(reader.uint(count_size))
    unhashed_area = reader.take(reader.uint(count_size))
    left16 = reader.take(2)
    salt = reader.take(reader.uint(1)) if version == 6 else b""
    if version == 6 and hash_algo in HASHES and len(salt) != HASHES[hash_algo][2]:
        raise FormatError("v6 salt size does not match the hash")
    values = _signature_values(reader, pubkey_algo)
    hashed = list(iter_subpackets(hashed_area))
    unhashed = list(iter_subpackets(unhashed_area))
    if any(sub.critical and sub.type not in _CRITICAL_UNDERSTOOD for sub in hashed + unhashed):
        raise FormatError("unsupported critical subpacket")
    created_values = [sub.value for sub in hashed if sub.type == _CREATED]
    if len(created_values) != 1 or len(created_values[0]) != 4:
        raise FormatError("signature creation time missing from the hashed area")
    created = dt.datetime.fromtimestamp(int.from_bytes(created_values[0], "big"), dt.UTC)
    expires = None
    for sub in hashed:
        if sub.type == _SIG_EXPIRES and len(sub.value) == 4 and int.from_bytes(sub.value, "big"):
            expires = created + dt.timedelta(seconds=int.from_bytes(sub.value, "big"))
    fingerprint, key_id = _issuer(hashed) or _issuer(unhashed) or (None, None)
    return OpenPgpSignature(
        version=version,
        sig_type=sig_type,
        pubkey_algo=pubkey_algo,
        hash_algo=hash_algo,
        created=created,
        expires=expires,
        issuer_fingerprint=fingerprint,
        issuer_key_id=key_id,
        hashed_area=hashed_area,
        left16=left16,
        salt=salt,
        values=values,
    )


def _signature_values(reader: Reader, pubkey_algo: int) -> tuple[bytes, ...]:
    if pubkey_algo in RSA_ALGORITHMS:
        values: tuple[bytes, ...] = (reader.mpi(),)
    elif pubkey_algo in (17, ECDSA, EDDSA_LEGACY):
        values = (reader.mpi(), reader.mpi())
    elif pubkey_algo == ED25519:
        values = (reader.take(64),)
    else:
        # Unknown layout: keep the bytes; signature_problem() rejects the algorithm.
        values = (reader.rest(),)
    if not reader.at_end():
        raise FormatError("trailing signature bytes")
    return values


def _issuer(subpackets: Iterable[Subpacket]) -> tuple[str | None, str | None] | None:
    """(fingerprint, key id) named by ``subpackets``; conflicting issuers are malformed."""
    fingerprints = set()
    key_ids = set()
    for sub in subpackets:
        if sub.type == _ISSUER_FINGERPRINT:
            expected = {b"\x04": 21, b"\x06": 33}.get(sub.value[:1])
            if expected is None or len(sub.value) != expected:
                raise FormatError("bad issuer fingerprint")
            fingerprints.add(sub.value[1:].hex().upper())
        elif sub.type == _ISSUER_KEY_ID:
            if len(sub.value) != 8:
                raise FormatError("bad issuer key id")
            key_ids.add(sub.value.hex().upper())
    if len(fingerprints) > 1 or len(key_ids) > 1:
        raise FormatError("several issuers")
    fingerprint = next(iter(fingerprints), None)
    key_id = next(iter(key_ids), None)
    if fingerprint is not None:
        derived = fingerprint[:16] if len(fingerprint) == 64 else fingerprint[-16:]
        if key_id is not None and key_id != derived:
            raise FormatError("issuer key id and fingerprint disagree")
        key_id = derived
    if fingerprint is None and key_id is None:
        return None
    return fingerprint, key_id


def canonical_text(payload: bytes) -> bytes:
    """Line endings as CR LF: what a type 0x01 (text) signature covers."""
    return payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signature_digest(sig: OpenPgpSignature, data: bytes) -> bytes:
    """The digest ``sig`` signs over ``data`` (already canonicalised): salt, data, then the trailer."""
    name = HASHES[sig.hash_algo][0]
    hasher = hashlib.new(name, sig.salt) if sig.salt else hashlib.new(name)
    hasher.update(data)
    size = 4 if sig.version == 6 else 2
    header = bytes((sig.version, sig.sig_type, sig.pubkey_algo, sig.hash_algo))
    hashed = header + len(sig.hashed_area).to_bytes(size, "big") + sig.hashed_area
    hasher.update(hashed)
    hasher.update(bytes((sig.version, 0xFF)) + len(hashed).to_bytes(4, "big"))
    return hasher.digest()
