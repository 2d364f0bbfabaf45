"""Managed-key ("public key") Sigstore bundles, which sigstore-python cannot verify (its issue #1244).

The signature is checked with a configured cosign key: over the artifact digest for a message signature
(prehashed SHA-256), over the DSSE PAE for an envelope. Each transparency-log entry is a Rekor v1 entry of kind
``hashedrekord`` 0.0.1 or ``dsse`` 0.0.1 whose body must name the same digest or payload, signature and key; its
SET and/or inclusion proof must verify with a trusted log key. Entries are parsed from the bundle's proto3 JSON
(integers as strings, bytes as base64) strictly: anything missing or mistyped is ``malformed-tlog-entry``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from gitsecure.crypto.cosign import CosignPublicKey
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.merkle import verify_inclusion
from gitsecure.crypto.rekor import RekorBundle, TlogRejected, verify_set
from gitsecure.crypto.sigstore_root import TrustedRoot

KNOWN_KEY_ENTRY_KINDS = frozenset({("hashedrekord", "0.0.1"), ("dsse", "0.0.1")})


@dataclass(frozen=True)
class TlogEntry:
    """One ``tlogEntries[]`` item of a bundle, decoded; ``proof_*`` are None without an inclusion proof."""

    kind: str
    version: str
    log_index: int
    log_id: bytes
    integrated_time: int
    body: bytes
    set_signature: bytes | None
    proof_index: int | None
    proof_size: int | None
    proof_root: bytes | None
    proof_hashes: tuple[bytes, ...]
    checkpoint: str | None


def parse_tlog_entry(doc: Any) -> TlogEntry:
    """Decode one proto3-JSON transparency-log entry; raise ``TlogRejected("malformed-tlog-entry")``."""
    try:
        kv = doc["kindVersion"]
        promise = doc.get("inclusionPromise")
        proof = doc.get("inclusionProof")
        return TlogEntry(
            kind=_text(kv["kind"]),
            version=_text(kv["version"]),
            log_index=_uint(doc["logIndex"]),
            log_id=_b64(doc["logId"]["keyId"]),
            integrated_time=_uint(doc.get("integratedTime", "0")),
            body=_b64(doc["canonicalizedBody"]),
            set_signature=_b64(promise["signedEntryTimestamp"]) if promise is not None else None,
            proof_index=_uint(proof.get("logIndex", "0")) if proof is not None else None,
            proof_size=_uint(proof["treeSize"]) if proof is not None else None,
            proof_root=_b64(proof["rootHash"]) if proof is not None else None,
            proof_hashes=tuple(_b64(h) for h in proof.get("hashes", [])) if proof is not None else (),
            checkpoint=_text(proof["checkpoint"]["envelope"]) if proof is not None else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
        raise TlogRejected("malformed-tlog-entry", "malformed transparency-log entry") from None


def verify_digest_signature(key: CosignPublicKey, signature: bytes, digest: bytes) -> None:
    """Check a signature over an artifact known only by its SHA-256 ``digest``; :class:`BadSignature` otherwise."""
    # Prehashed verification needs the pyca key object; rebuilt from the SPKI so CosignPublicKey stays closed.
    loaded = serialization.load_der_public_key(key.spki_der)
    prehashed = utils.Prehashed(hashes.SHA256())
    try:
        if isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.curve.name == "secp256r1":
            loaded.verify(signature, digest, ec.ECDSA(prehashed))
        elif isinstance(loaded, rsa.RSAPublicKey):
            loaded.verify(signature, digest, padding.PKCS1v15(), prehashed)
        else:  # other curves hash with SHA-384/512 and Ed25519 cannot be prehashed: no SHA-256 digest fits
            raise BadSignature()
    except (InvalidSignature, ValueError):
        raise BadSignature() from None


def dsse_pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding that envelope signatures cover."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def verify_key_entry(
    root: TrustedRoot,
    entry: TlogEntry,
    key: CosignPublicKey,
    *,
    signature: bytes,
    digest: bytes | None = None,
    dsse_payload: bytes | None = None,
) -> None:
    """Check ``entry`` vouches for this managed-key signature (message ``digest`` or DSSE ``dsse_payload``)."""
    if (entry.kind, entry.version) not in KNOWN_KEY_ENTRY_KINDS:
        raise TlogRejected("unsupported-tlog-entry", "unsupported transparency-log entry kind")
    log = root.tlog(entry.log_id)
    if log is None:
        raise TlogRejected("unknown-transparency-log", "the entry's transparency log is not trusted")
    if entry.set_signature is None and entry.proof_root is None:
        raise TlogRejected("tlog-missing", "the transparency-log entry has neither a SET nor an inclusion proof")
    if entry.set_signature is not None:
        verify_set(
            root,
            RekorBundle(
                signed_entry_timestamp=entry.set_signature,
                body_b64=base64.b64encode(entry.body).decode(),
                integrated_time=entry.integrated_time,
                log_index=entry.log_index,
                log_id_hex=entry.log_id.hex(),
            ),
        )
    if entry.proof_root is not None:
        assert entry.proof_index is not None and entry.proof_size is not None and entry.checkpoint is not None
        verify_inclusion(
            log,
            body=entry.body,
            index=entry.proof_index,
            size=entry.proof_size,
            root=entry.proof_root,
            hashes=entry.proof_hashes,
            checkpoint=entry.checkpoint,
        )
    _check_body(entry, key, signature=signature, digest=digest, dsse_payload=dsse_payload)


def _check_body(
    entry: TlogEntry, key: CosignPublicKey, *, signature: bytes, digest: bytes | None, dsse_payload: bytes | None
) -> None:
    mismatch = TlogRejected("tlog-entry-mismatch", "the transparency-log entry is for another signature")
    try:
        spec = json.loads(entry.body)["spec"]
        if entry.kind == "hashedrekord" and digest is not None:
            sig = spec["signature"]
            algo, value = _text(spec["data"]["hash"]["algorithm"]), _text(spec["data"]["hash"]["value"])
            pairs: Sequence[tuple[bytes, bytes]] = [(_b64(sig["content"]), _b64(sig["publicKey"]["content"]))]
            same_content = algo == "sha256" and value == digest.hex()
        elif entry.kind == "dsse" and dsse_payload is not None:
            algo, value = _text(spec["payloadHash"]["algorithm"]), _text(spec["payloadHash"]["value"])
            pairs = [(_b64(s["signature"]), _b64(s["verifier"])) for s in spec["signatures"]]
            same_content = algo == "sha256" and value == hashlib.sha256(dsse_payload).hexdigest()
        else:
            raise mismatch
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise TlogRejected("malformed-tlog-entry", "malformed transparency-log entry body") from None
    if not same_content or len(pairs) != 1 or pairs[0][0] != signature or not _same_key(pairs[0][1], key):
        raise mismatch


def _same_key(pem: bytes, key: CosignPublicKey) -> bool:
    try:
        loaded = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return False
    spki = loaded.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki == key.spki_der


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _uint(value: object) -> int:
    # proto3 JSON writes int64 as a decimal string; plain integers are accepted too.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError("expected an integer")
    number = int(value)
    if number < 0 or (isinstance(value, str) and not value.isdigit()):
        raise ValueError("expected a non-negative integer")
    return number


def _b64(value: object) -> bytes:
    return base64.b64decode(_text(value), validate=True)
