"""Strict parsing of gitsign's CMS (RFC 5652) SignedData and of its Fulcio certificate claims.

Only the shape gitsign produces is accepted: detached ``id-data`` content, exactly one
certificate and one SignerInfo naming it, SHA-256 with ECDSA, signed attributes with exactly one
``contentType`` (id-data) and one ``messageDigest``, no repeated attribute types. Anything else is
:class:`SignatureMalformed`; so is a leaf that is not an EC code-signing certificate, which
sigstore would otherwise fail on with an exception outside its error hierarchy.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, core, x509

from gitsecure.errors import InputError

_BEGIN = b"-----BEGIN SIGNED MESSAGE-----"
_END = b"-----END SIGNED MESSAGE-----"
_TLOG_ENTRY_OID = "1.3.6.1.4.1.57264.3.1"
_ISSUER_V1_OID = "1.3.6.1.4.1.57264.1.1"
_ISSUER_V2_OID = "1.3.6.1.4.1.57264.1.8"
_OTHERNAME_OID = "1.3.6.1.4.1.57264.1.7"
# asn1crypto raises these on malformed DER (its parsing is lazy, so they surface on access).
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)


class SignatureMalformed(InputError):
    """The X.509 signature is not a well-formed gitsign CMS signature."""

    reference = "malformed-signature"


@dataclass(frozen=True)
class ParsedCms:
    """The parts of a gitsign signature that verification needs (all DER / raw bytes)."""

    signed_attrs: bytes  # DER(SignedAttrs) re-tagged as SET OF: what the ECDSA signature covers
    message_digest: bytes
    signature: bytes
    certificate: bytes
    tlog_entry: bytes | None  # the embedded TransparencyLogEntry protobuf, None in online mode


def parse_cms(armored: bytes) -> ParsedCms:
    """Parse an armoured ``SIGNED MESSAGE`` block; raise :class:`SignatureMalformed` on any deviation."""
    try:
        return _parse(_unarmor(armored))
    except _ASN1_ERRORS as exc:
        raise SignatureMalformed(f"malformed CMS signature: {exc}") from None


def cert_claims(der: bytes, *, tbs_only: bool = False) -> tuple[tuple[str, ...], str | None]:
    """Return (SANs, OIDC issuer) of a Fulcio certificate (or of its TBSCertificate with ``tbs_only``).

    SANs are emails, URIs and Sigstore otherNames, as raw strings (no IRI or IDNA decoding, so what
    is matched is what Fulcio certified). The issuer is ``1.3.6.1.4.1.57264.1.8`` or the legacy
    ``.1.1``; when both are present and disagree it is ``None``, which no policy matches.
    """
    try:
        tbs = x509.TbsCertificate.load(der, strict=True) if tbs_only else x509.Certificate.load(der)["tbs_certificate"]
        return _claims(tbs)
    except (*_ASN1_ERRORS, UnicodeError) as exc:
        raise SignatureMalformed(f"malformed certificate: {exc}") from None


def _unarmor(armored: bytes) -> bytes:
    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _BEGIN or lines[-1] != _END:
        raise SignatureMalformed("not an armoured SIGNED MESSAGE block")
    try:
        return base64.b64decode(b"".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise SignatureMalformed("bad base64 in SIGNED MESSAGE block") from None


def _parse(der: bytes) -> ParsedCms:
    info = cms.ContentInfo.load(der, strict=True)
    _expect(info["content_type"].native == "signed_data", "not a CMS SignedData")
    signed = info["content"]
    _expect(signed["version"].native == "v1", "unexpected SignedData version")
    _expect([a["algorithm"].native for a in signed["digest_algorithms"]] == ["sha256"], "digest algorithms")
    encap = signed["encap_content_info"]
    _expect(encap["content_type"].native == "data" and encap["content"].native is None, "content is not detached data")
    certs = signed["certificates"]
    _expect(len(certs) == 1 and certs[0].name == "certificate", "expected exactly one certificate")
    cert = certs[0].chosen
    _expect(len(signed["signer_infos"]) == 1, "expected exactly one signer")
    signer = signed["signer_infos"][0]
    _expect(signer["version"].native == "v1", "unexpected SignerInfo version")
    sid = signer["sid"]
    _expect(sid.name == "issuer_and_serial_number", "signer is not identified by issuer and serial")
    _expect(
        sid.chosen["issuer"].dump() == cert.issuer.dump() and sid.chosen["serial_number"].native == cert.serial_number,
        "signer does not name the embedded certificate",
    )
    _expect(signer["digest_algorithm"]["algorithm"].native == "sha256", "digest algorithm is not SHA-256")
    _expect(signer["signature_algorithm"]["algorithm"].native == "sha256_ecdsa", "signature is not ECDSA-SHA256")
    _expect(cert.public_key.algorithm == "ec", "certificate key is not EC")
    _expect(cert.key_usage_value is not None and "digital_signature" in cert.key_usage_value.native, "key usage")
    eku = cert.extended_key_usage_value
    _expect(eku is not None and "code_signing" in eku.native, "certificate is not for code signing")

    attrs = _attributes(signer["signed_attrs"])
    _expect(set(attrs) >= {"content_type", "message_digest"}, "signed attributes incomplete")
    _expect([v.native for v in attrs["content_type"]] == ["data"], "content type attribute is not id-data")
    _expect(len(attrs["message_digest"]) == 1, "expected one message digest")
    unsigned = _attributes(signer["unsigned_attrs"]) if signer["unsigned_attrs"].native is not None else {}
    tlog_entry = None
    if _TLOG_ENTRY_OID in unsigned:
        values = unsigned[_TLOG_ENTRY_OID]
        _expect(len(values) == 1, "expected one transparency log entry")
        tlog_entry = core.OctetString.load(values[0].dump(), strict=True).native
    # The signature covers the attributes' DER with the SET OF tag, not the [0] IMPLICIT it is stored with.
    contents = signer["signed_attrs"].contents
    return ParsedCms(
        signed_attrs=b"\x31" + _der_length(len(contents)) + contents,
        message_digest=attrs["message_digest"][0].native,
        signature=signer["signature"].native,
        certificate=cert.dump(),
        tlog_entry=tlog_entry,
    )


def _attributes(attrs: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for attr in attrs:
        kind = attr["type"].native
        _expect(kind not in out, f"attribute {kind} appears twice")  # RFC 5652 5.3
        out[kind] = list(attr["values"])
    return out


def _claims(tbs: Any) -> tuple[tuple[str, ...], str | None]:
    sans: list[str] = []
    issuers: dict[str, str] = {}
    seen: set[str] = set()
    for ext in tbs["extensions"]:
        oid = ext["extn_id"].dotted
        _expect(oid not in seen, f"extension {oid} appears twice")
        seen.add(oid)
        raw = ext["extn_value"].contents
        if oid == "2.5.29.17":
            for name in x509.GeneralNames.load(raw, strict=True):
                if name.name in ("rfc822_name", "uniform_resource_identifier"):
                    sans.append(name.chosen.contents.decode("ascii"))
                elif name.name == "other_name" and name.chosen["type_id"].dotted == _OTHERNAME_OID:
                    sans.append(core.UTF8String.load(name.chosen["value"].chosen.dump(), strict=True).native)
        elif oid == _ISSUER_V1_OID:
            issuers["v1"] = raw.decode("utf-8")
        elif oid == _ISSUER_V2_OID:
            issuers["v2"] = core.UTF8String.load(raw, strict=True).native
    values = set(issuers.values())
    return tuple(sans), values.pop() if len(values) == 1 else None


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _expect(condition: bool, reason: str) -> None:
    if not condition:
        raise SignatureMalformed(f"malformed CMS signature: {reason}")
