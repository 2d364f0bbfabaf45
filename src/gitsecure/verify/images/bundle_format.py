"""The Sigstore bundle JSON (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``), pre-checked strictly before use.

Fail closed: an unknown ``mediaType`` (version), not exactly one content (``messageSignature`` or
``dsseEnvelope``), not exactly one kind of verification material, a DSSE envelope with other than one signature,
or a transparency-log entry of a kind no verifier here understands is a :class:`BundleRejected` with a
kebab-case reference, before sigstore-python or the managed-key code sees the bundle.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

from gitsecure.crypto.rekor import TlogRejected
from gitsecure.crypto.sigstore_bundle import TlogEntry, parse_tlog_entry
from gitsecure.errors import EXIT_FINDINGS, GitsecureError

BUNDLE_MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
}
# hashedrekord 0.0.2 is Rekor v2 (also DSSE over v2); intoto 0.0.2 and dsse 0.0.2 are refused (sigstore-python
# cannot bind them to the bundle, so accepting them would skip the body consistency check).
KNOWN_ENTRY_KINDS = frozenset({("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2"), ("dsse", "0.0.1")})
MAX_BUNDLE = 4 << 20
MAX_ENTRIES = 16

Content = Literal["message-signature", "dsse-envelope"]


class BundleRejected(GitsecureError):
    """A bundle is malformed, of an unknown version or uses something we do not verify; ``reference`` says which."""

    exit_code = EXIT_FINDINGS

    def __init__(self, reference: str, message: str) -> None:
        super().__init__(message, reference=reference)


@dataclass(frozen=True)
class ParsedBundle:
    """The parts of a bundle the verifiers need; ``raw`` is the exact JSON handed to sigstore-python."""

    raw: bytes
    version: str
    content: Content
    signature: bytes
    message_digest: bytes | None
    payload_type: str | None
    payload: bytes | None
    certificate_der: bytes | None
    key_hint: str | None
    entries: tuple[TlogEntry, ...]


def parse_bundle(raw: bytes) -> ParsedBundle:
    """Pre-check and decode a bundle; raise :class:`BundleRejected`."""
    if len(raw) > MAX_BUNDLE:
        raise BundleRejected("malformed-bundle", "the bundle is too large")
    try:
        doc = json.loads(raw)
        media_type = doc["mediaType"]
    except (ValueError, TypeError, KeyError):
        raise BundleRejected("malformed-bundle", "the bundle is not a JSON object with a mediaType") from None
    version = BUNDLE_MEDIA_TYPES.get(media_type) if isinstance(media_type, str) else None
    if version is None:
        raise BundleRejected("unknown-bundle-media-type", "unknown Sigstore bundle media type or version")
    try:
        return _parse(raw, doc, version)
    except TlogRejected as exc:
        raise BundleRejected(exc.reference, exc.message) from None
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
        raise BundleRejected("malformed-bundle", "malformed Sigstore bundle") from None


def _parse(raw: bytes, doc: dict[str, Any], version: str) -> ParsedBundle:
    material = doc["verificationMaterial"]
    kinds = [k for k in ("publicKey", "x509CertificateChain", "certificate") if material.get(k) is not None]
    if len(kinds) != 1 or (kinds[0] == "certificate" and version != "0.3"):
        raise BundleRejected("malformed-bundle", "the bundle needs exactly one kind of verification material")
    cert: bytes | None = None
    hint: str | None = None
    if kinds[0] == "publicKey":
        hint = str(material["publicKey"].get("hint", ""))
    elif kinds[0] == "certificate":
        cert = _b64(material["certificate"]["rawBytes"])
    else:
        chain = material["x509CertificateChain"]["certificates"]
        if not chain:
            raise BundleRejected("malformed-bundle", "the bundle's certificate chain is empty")
        cert = _b64(chain[0]["rawBytes"])
    entries_doc = material.get("tlogEntries") or []
    if not isinstance(entries_doc, list) or len(entries_doc) > MAX_ENTRIES:
        raise ValueError("bad tlogEntries")
    entries = tuple(parse_tlog_entry(e) for e in entries_doc)
    for entry in entries:
        if (entry.kind, entry.version) not in KNOWN_ENTRY_KINDS:
            raise BundleRejected("unsupported-tlog-entry", f"unsupported log entry kind {entry.kind}/{entry.version}")
    message: Any = doc.get("messageSignature")
    envelope: Any = doc.get("dsseEnvelope")
    if (message is None) == (envelope is None):
        raise BundleRejected("malformed-bundle", "the bundle needs exactly one of messageSignature and dsseEnvelope")
    if message is not None:
        digest = message["messageDigest"]
        if digest["algorithm"] != "SHA2_256":
            raise BundleRejected("unsupported-digest-algorithm", "message digest is not SHA2_256")
        return ParsedBundle(
            raw=raw,
            version=version,
            content="message-signature",
            signature=_b64(message["signature"]),
            message_digest=_b64(digest["digest"]),
            payload_type=None,
            payload=None,
            certificate_der=cert,
            key_hint=hint,
            entries=entries,
        )
    signatures = envelope["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise BundleRejected("malformed-bundle", "the DSSE envelope must carry exactly one signature")
    payload_type = envelope["payloadType"]
    if not isinstance(payload_type, str):
        raise TypeError("payloadType")
    return ParsedBundle(
        raw=raw,
        version=version,
        content="dsse-envelope",
        signature=_b64(signatures[0]["sig"]),
        message_digest=None,
        payload_type=payload_type,
        payload=_b64(envelope["payload"]),
        certificate_der=cert,
        key_hint=hint,
        entries=entries,
    )


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(value, validate=True)
