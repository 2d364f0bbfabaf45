"""OpenPGP detached signatures (RFC 4880 / RFC 9580), verified in-process.

Scope: v4 and v6 signature packets of type 0x00 (binary) and 0x01 (canonical
text) by RSA PKCS#1 v1.5, ECDSA on P-256/384/521, EdDSA legacy (Ed25519) and
Ed25519 keys, over SHA-2 or SHA-3 digests. MD5, SHA-1 and RIPEMD-160 are
refused: a SHA-1 signature can be forged by a chosen-prefix collision. Which
keys are trusted and whether they were valid when they signed is the caller's
business (``gitsecure.verify.gnupg_keys``); this module only does the math.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.openpgp_keys import (
    ED25519,
    EDDSA_LEGACY,
    RSA_ALGORITHMS,
    OpenPgpKey,
    key_problem,
    parse_key_packet,
    verifying_key,
)
from gitsecure.crypto.openpgp_packets import FormatError, Reader, dearmor, iter_packets, iter_subpackets
from gitsecure.crypto.openpgp_signature import (
    BINARY_DOCUMENT,
    HASHES,
    TEXT_DOCUMENT,
    WEAK_HASHES,
    OpenPgpSignature,
    canonical_text,
    parse_armored_signature,
    parse_signature_packet,
    signature_digest,
)
from gitsecure.errors import InputError

__all__ = [
    "BadSignature",
    "OpenPgpKey",
    "OpenPgpSignature",
    "canonical_text",
    "parse_armored_signature",
    "parse_public_keys",
    "parse_signature_packet",
    "signature_digest",
    "signature_problem",
    "verify_signature",
]

_SUBKEY_BINDING = 0x18
_PRIMARY_KEY_BINDING = 0x19
_EMBEDDED_SIGNATURE = 32


def signature_problem(sig: OpenPgpSignature, key: OpenPgpKey | None = None) -> str | None:
    """Why ``sig`` (made by ``key``, when given) is refused before any math, or ``None``."""
    if sig.sig_type not in (BINARY_DOCUMENT, TEXT_DOCUMENT):
        return "unsupported signature type"
    if sig.hash_algo in WEAK_HASHES:
        return "weak hash algorithm"
    if sig.hash_algo not in HASHES:
        return "unsupported hash algorithm"
    if key is None:
        return None
    return _key_signature_problem(sig, key)


def _key_signature_problem(sig: OpenPgpSignature, key: OpenPgpKey) -> str | None:
    problem = key_problem(key)
    if problem is not None:
        return problem
    same_algo = sig.pubkey_algo == key.algo or {sig.pubkey_algo, key.algo} <= RSA_ALGORITHMS
    if not same_algo or sig.version != key.version:
        return "signature does not match key"
    # RFC 9580 requires a digest of at least 256 bits for EdDSA signatures.
    if key.algo in (EDDSA_LEGACY, ED25519) and HASHES[sig.hash_algo][1]().digest_size < 32:
        return "weak hash algorithm"
    return None


def verify_signature(sig: OpenPgpSignature, payload: bytes, key: OpenPgpKey) -> bool:
    """Whether ``sig`` is a good type 0x00/0x01 signature by ``key`` over ``payload``."""
    if signature_problem(sig, key) is not None:
        return False
    data = canonical_text(payload) if sig.sig_type == TEXT_DOCUMENT else payload
    return _verify_digest(sig, key, signature_digest(sig, data))


def _verify_digest(sig: OpenPgpSignature, key: OpenPgpKey, digest: bytes) -> bool:
    if digest[:2] != sig.left16:
        return False
    public = verifying_key(key.algo, key.material)
    prehashed = Prehashed(HASHES[sig.hash_algo][1]())
    try:
        if isinstance(public, rsa.RSAPublicKey):
            value = _fixed(sig.values[0], (public.key_size + 7) // 8)
            public.verify(value, digest, padding.PKCS1v15(), prehashed)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            r, s = (int.from_bytes(value, "big") for value in sig.values)
            public.verify(encode_dss_signature(r, s), digest, ec.ECDSA(prehashed))
        elif key.algo == EDDSA_LEGACY:
            # r and s are the two halves of the native signature, stored as MPIs
            # (leading zero octets dropped), so they are left-padded back.
            public.verify(_fixed(sig.values[0], 32) + _fixed(sig.values[1], 32), digest)
        else:
            public.verify(sig.values[0], digest)
    except (InvalidSignature, ValueError):
        return False
    return True


def _fixed(value: bytes, size: int) -> bytes:
    stripped = value.lstrip(b"\x00")
    if len(stripped) > size:
        raise ValueError("value too large")
    return stripped.rjust(size, b"\x00")


def parse_public_keys(data: bytes) -> list[OpenPgpKey]:
    """Every v4/v6 primary key and subkey in ``data`` (binary, or one armoured public key block).

    Key versions other than 4 and 6 are skipped along with their subkeys.
    Whether self-signatures are valid is not checked here (GnuPG does that on
    import); a subkey's back-signature is, because GnuPG's listing does not
    show it. Raises :class:`InputError` on malformed data.
    """
    try:
        if data.lstrip().startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"):
            data = dearmor(data, label="PUBLIC KEY BLOCK")
        return _parse_keys(data)
    except FormatError:
        raise InputError("malformed OpenPGP public key data", reference="bad-openpgp-key") from None


def _parse_keys(data: bytes) -> list[OpenPgpKey]:
    keys: list[OpenPgpKey] = []
    primary: OpenPgpKey | None = None
    subkey: OpenPgpKey | None = None
    back_signed: set[str] = set()
    for packet in iter_packets(data):
        if packet.tag == 6:
            primary = parse_key_packet(packet.body, primary_fingerprint=None)
            subkey = None
            if primary is not None:
                keys.append(primary)
        elif packet.tag == 14:
            subkey = None
            if primary is not None:
                subkey = parse_key_packet(packet.body, primary_fingerprint=primary.fingerprint)
                if subkey is not None:
                    keys.append(subkey)
        elif packet.tag == 2 and primary and subkey and _has_back_signature(packet.body, primary, subkey):
            back_signed.add(subkey.fingerprint)
    return [replace(key, cross_certified=key.fingerprint in back_signed) if key.is_subkey else key for key in keys]


def _has_back_signature(body: bytes, primary: OpenPgpKey, subkey: OpenPgpKey) -> bool:
    """Whether a subkey binding signature embeds a valid primary key binding (0x19) by ``subkey``.

    SHA-1 is accepted here, unlike for documents: the back-signature covers
    only the two keys' own packets, which nobody else chooses, and refusing it
    would orphan the signing subkeys of keys made before 2019.
    """
    try:
        embedded_signatures = _embedded_signatures(body)
    except FormatError:
        return False
    data = primary.hash_prefix + subkey.hash_prefix
    for embedded in embedded_signatures:
        try:
            back = parse_signature_packet(embedded)
        except BadSignature:
            continue
        if back.sig_type != _PRIMARY_KEY_BINDING or back.hash_algo not in HASHES:
            continue
        if _key_signature_problem(back, subkey) is None and _verify_digest(back, subkey, signature_digest(back, data)):
            return True
    return False


def _embedded_signatures(body: bytes) -> list[bytes]:
    """The embedded signatures of a subkey binding signature packet (none for any other type)."""
    reader = Reader(body)
    version = reader.uint(1)
    if version not in (4, 6) or reader.uint(1) != _SUBKEY_BINDING:
        return []
    reader.take(2)
    size = 4 if version == 6 else 2
    hashed = reader.take(reader.uint(size))
    unhashed = reader.take(reader.uint(size))
    subpackets = [*iter_subpackets(hashed), *iter_subpackets(unhashed)]
    return [sub.value for sub in subpackets if sub.type == _EMBEDDED_SIGNATURE]
