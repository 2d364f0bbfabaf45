"""A Sigstore ``trusted_root.json``, parsed into the keys and CAs offline verification needs.

Format: protobuf-specs ``dev.sigstore.trustedroot.v1.TrustedRoot`` in proto3 JSON (``tlogs``/``ctlogs`` with
``publicKey.rawBytes`` (DER SPKI), ``logId.keyId`` and ``validFor``; ``certificateAuthorities`` with
``certChain.certificates[].rawBytes`` leaf-most first, and ``validFor``). An unknown media type, a missing field or
an unparsable CA is an error; a log whose key type we cannot use is skipped (it can then never vouch for anything).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from gitsecure.crypto.cosign import CosignPublicKey, public_key_from_der
from gitsecure.errors import InputError

MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "application/vnd.dev.sigstore.trustedroot.v0.2+json",
    }
)


@dataclass(frozen=True)
class Validity:
    """A ``validFor`` window; ``end`` None means still valid."""

    start: dt.datetime
    end: dt.datetime | None

    def contains(self, when: dt.datetime) -> bool:
        """True when ``when`` (aware) lies in the window, both ends inclusive."""
        return self.start <= when and (self.end is None or when <= self.end)


@dataclass(frozen=True)
class TransparencyLog:
    """A Rekor or CT log key: ``log_id`` is the key's ``logId.keyId`` (sha256 of the SPKI DER for Rekor v1/CT)."""

    log_id: bytes
    key: CosignPublicKey
    validity: Validity


@dataclass(frozen=True)
class CertificateAuthority:
    """A Fulcio CA: its chain (issuing certificate first, root last) and when it may issue."""

    chain: tuple[x509.Certificate, ...]
    validity: Validity


@dataclass(frozen=True)
class TrustedRoot:
    """The parsed trust material; ``digest`` identifies the exact file (for caches)."""

    tlogs: tuple[TransparencyLog, ...]
    ctlogs: tuple[TransparencyLog, ...]
    cas: tuple[CertificateAuthority, ...]

    def tlog(self, log_id: bytes) -> TransparencyLog | None:
        """The Rekor log with this id, if trusted."""
        return next((log for log in self.tlogs if log.log_id == log_id), None)

    def ctlog(self, log_id: bytes) -> TransparencyLog | None:
        """The CT log with this id, if trusted."""
        return next((log for log in self.ctlogs if log.log_id == log_id), None)


def load_trusted_root(data: bytes) -> TrustedRoot:
    """Parse ``trusted_root.json`` bytes; raise ``InputError("invalid-trusted-root")`` when unusable."""
    try:
        doc = json.loads(data)
        if doc["mediaType"] not in MEDIA_TYPES:
            raise ValueError("unknown trusted root media type")
        tlogs = tuple(log for log in (_log(e) for e in doc.get("tlogs", [])) if log is not None)
        ctlogs = tuple(log for log in (_log(e) for e in doc.get("ctlogs", [])) if log is not None)
        cas = tuple(_ca(e) for e in doc.get("certificateAuthorities", []))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError("not a usable Sigstore trusted_root.json", reference="invalid-trusted-root") from None
    return TrustedRoot(tlogs=tlogs, ctlogs=ctlogs, cas=cas)


def _log(entry: dict[str, Any]) -> TransparencyLog | None:
    key_doc = entry["publicKey"]
    validity = _validity(key_doc.get("validFor") or {})
    log_id = _b64(entry["logId"]["keyId"])
    try:
        key = public_key_from_der(_b64(key_doc["rawBytes"]))
    except InputError:
        return None
    return TransparencyLog(log_id=log_id, key=key, validity=validity)


def _ca(entry: dict[str, Any]) -> CertificateAuthority:
    certs = entry["certChain"]["certificates"]
    if not certs:
        raise ValueError("empty CA chain")
    chain = tuple(x509.load_der_x509_certificate(_b64(c["rawBytes"])) for c in certs)
    return CertificateAuthority(chain=chain, validity=_validity(entry.get("validFor") or {}))


def _validity(doc: dict[str, Any]) -> Validity:
    start = _time(doc["start"])
    end = _time(doc["end"]) if doc.get("end") else None
    return Validity(start=start, end=end)


def _time(text: object) -> dt.datetime:
    if not isinstance(text, str):
        raise TypeError("time is not a string")
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("time without zone")
    return when


def _b64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("bad base64") from None
