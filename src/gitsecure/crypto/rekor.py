"""Rekor signed entry timestamps (SETs) and ``hashedrekord`` 0.0.1 bodies, checked offline.

A legacy cosign ``dev.sigstore.cosign/bundle`` carries no inclusion proof, only the SET: Rekor's signature over the
RFC 8785 canonical JSON of ``{"body", "integratedTime", "logID", "logIndex"}``. The body must then be bound to the
signature being admitted: same payload hash, same signature bytes, same key or certificate.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gitsecure.crypto.cosign import CosignPublicKey
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.sigstore_root import TrustedRoot
from gitsecure.errors import EXIT_FINDINGS, GitsecureError

_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class TlogRejected(GitsecureError):
    """A transparency-log entry cannot vouch for a signature; ``reference`` says why."""

    exit_code = EXIT_FINDINGS

    def __init__(self, reference: str, message: str) -> None:
        super().__init__(message, reference=reference)


@dataclass(frozen=True)
class RekorBundle:
    """The legacy cosign bundle annotation, decoded (``body`` raw bytes, ``log_id`` raw bytes)."""

    signed_entry_timestamp: bytes
    body_b64: str
    integrated_time: int
    log_index: int
    log_id_hex: str

    @property
    def body(self) -> bytes:
        """The Rekor entry body bytes."""
        return base64.b64decode(self.body_b64, validate=True)

    @property
    def integrated_at(self) -> dt.datetime:
        """``integratedTime`` as an aware datetime."""
        return dt.datetime.fromtimestamp(self.integrated_time, tz=dt.UTC)


def parse_cosign_bundle(text: str) -> RekorBundle:
    """Parse ``{"SignedEntryTimestamp": b64, "Payload": {...}}``; raise ``TlogRejected`` when malformed."""
    try:
        doc = json.loads(text)
        payload = doc["Payload"]
        bundle = RekorBundle(
            signed_entry_timestamp=base64.b64decode(_str(doc["SignedEntryTimestamp"]), validate=True),
            body_b64=_str(payload["body"]),
            integrated_time=_int(payload["integratedTime"]),
            log_index=_int(payload["logIndex"]),
            log_id_hex=_str(payload["logID"]),
        )
        bytes.fromhex(bundle.log_id_hex)
        bundle.body  # noqa: B018  (validates the base64)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise TlogRejected("malformed-tlog-entry", "malformed transparency-log bundle") from None
    return bundle


def verify_set(root: TrustedRoot, bundle: RekorBundle) -> None:
    """Check the SET with the trusted Rekor key named by ``logID`` (valid at ``integratedTime``)."""
    log = root.tlog(bytes.fromhex(bundle.log_id_hex))
    if log is None or not log.validity.contains(bundle.integrated_at):
        raise TlogRejected("unknown-transparency-log", "the entry's transparency log is not trusted")
    # RFC 8785 for this fixed shape (ASCII strings, integers) is sorted keys and no whitespace.
    canonical = json.dumps(
        {
            "body": bundle.body_b64,
            "integratedTime": bundle.integrated_time,
            "logID": bundle.log_id_hex,
            "logIndex": bundle.log_index,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    try:
        log.key.verify(bundle.signed_entry_timestamp, canonical)
    except BadSignature:
        raise TlogRejected("bad-tlog-entry", "the transparency-log signed entry timestamp does not verify") from None


def check_hashedrekord(
    body: bytes,
    *,
    payload: bytes,
    signature: bytes,
    public_key: CosignPublicKey | None = None,
    certificate_der: bytes | None = None,
) -> None:
    """Bind a ``hashedrekord`` 0.0.1 body to this payload, signature and key (or certificate)."""
    mismatch = TlogRejected("tlog-entry-mismatch", "the transparency-log entry is for another signature")
    try:
        doc: dict[str, Any] = json.loads(body)
        if doc.get("kind") != "hashedrekord" or doc.get("apiVersion") != "0.0.1":
            raise TlogRejected("unsupported-tlog-entry", "transparency-log entry kind is not hashedrekord 0.0.1")
        spec = doc["spec"]
        digest = spec["data"]["hash"]
        algorithm = _HASHES[_str(digest["algorithm"])]
        entry_sig = base64.b64decode(_str(spec["signature"]["content"]), validate=True)
        entry_pem = base64.b64decode(_str(spec["signature"]["publicKey"]["content"]), validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise TlogRejected("malformed-tlog-entry", "malformed transparency-log entry body") from None
    if _str(digest["value"]) != algorithm(payload).hexdigest() or entry_sig != signature:
        raise mismatch
    if certificate_der is not None:
        try:
            same = x509.load_pem_x509_certificate(entry_pem).public_bytes(serialization.Encoding.DER) == certificate_der
        except ValueError:
            same = False
    elif public_key is not None:
        try:
            loaded = serialization.load_pem_public_key(entry_pem)
            same = (
                loaded.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
                == public_key.spki_der
            )
        except (ValueError, TypeError):
            same = False
    else:
        same = False
    if not same:
        raise mismatch


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value
