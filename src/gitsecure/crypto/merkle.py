"""Rekor v1 inclusion proofs: the RFC 6962 Merkle audit path and the signed checkpoint (a signed note) it ends in.

A proof binds a log entry's canonicalized body (the leaf) to a tree root; the checkpoint binds that root and tree
size to the log's key. Both must hold, and the checkpoint's root and size must be the proof's. The note signature
line is ``— <name> <base64(4-byte key hint || signature)>``; the hint is the first four bytes of the log id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.rekor import TlogRejected
from gitsecure.crypto.sigstore_root import TransparencyLog

_SIGNATURE_PREFIX = "\u2014 "
MAX_PROOF_HASHES = 64  # a tree of 2^64 leaves; anything longer is garbage


def leaf_hash(body: bytes) -> bytes:
    """RFC 6962 leaf hash of an entry body."""
    return hashlib.sha256(b"\x00" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_proof(leaf: bytes, index: int, size: int, hashes: Sequence[bytes]) -> bytes:
    """The root an audit path leads to (RFC 9162 §2.1.3.2); raise ``TlogRejected`` when the path is malformed."""
    bad = TlogRejected("bad-inclusion-proof", "the transparency-log inclusion proof does not verify")
    if not 0 <= index < size or len(hashes) > MAX_PROOF_HASHES or any(len(h) != 32 for h in hashes):
        raise bad
    fn, sn, node = index, size - 1, leaf
    for sibling in hashes:
        if sn == 0:
            raise bad
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise bad
    return node


def verify_inclusion(
    log: TransparencyLog, *, body: bytes, index: int, size: int, root: bytes, hashes: Sequence[bytes], checkpoint: str
) -> None:
    """Check the audit path from ``body`` to ``root`` and that ``checkpoint`` is ``log``'s signature over them."""
    if root_from_proof(leaf_hash(body), index, size, hashes) != root:
        raise TlogRejected("bad-inclusion-proof", "the transparency-log inclusion proof does not verify")
    verify_checkpoint(log, checkpoint, size=size, root=root)


def verify_checkpoint(log: TransparencyLog, note: str, *, size: int, root: bytes) -> None:
    """Check a signed-note checkpoint: signed by ``log``'s key, for exactly this tree ``size`` and ``root``."""
    bad = TlogRejected("bad-checkpoint", "the transparency-log checkpoint does not verify")
    text, sep, signatures = note.partition("\n\n")
    if not sep:
        raise bad
    lines = text.split("\n")
    # origin, size, root, then optional extension lines
    if len(lines) < 3 or lines[1] != str(size) or lines[2] != base64.b64encode(root).decode():
        raise bad
    signed = (text + "\n").encode()
    for line in signatures.split("\n"):
        if not line.startswith(_SIGNATURE_PREFIX):
            continue
        _name, _, blob = line[len(_SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) < 5 or raw[:4] != log.log_id[:4]:
            continue
        try:
            log.key.verify(raw[4:], signed)
        except BadSignature:
            continue
        return
    raise bad
