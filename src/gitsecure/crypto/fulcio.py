"""Fulcio (keyless) signing certificates: chain to a trusted root at a given time, codeSigning, SCT, claims.

The chain is built only from the trusted root's CA chains; intermediates shipped next to a signature (cosign's
``dev.sigstore.cosign/chain``) are never trusted. Every check is judged at one instant, the Rekor ``integratedTime``,
because a Fulcio leaf lives ten minutes. The embedded SCT is verified against the trusted root's CT logs over the
precertificate TBS (RFC 6962 §3.2), as cosign does unless told to ignore it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from dataclasses import dataclass

from asn1crypto import core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.certificate_transparency import LogEntryType, Version
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from gitsecure.crypto.cosign import CosignPublicKey
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.sigstore_root import CertificateAuthority, TrustedRoot
from gitsecure.errors import EXIT_FINDINGS, GitsecureError, InputError

_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_OTHERNAME_SAN = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
# Critical extensions a Fulcio leaf may carry; any other critical extension means we do not understand it.
_KNOWN_CRITICAL = {ExtensionOID.KEY_USAGE, ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.SUBJECT_ALTERNATIVE_NAME}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class CertificateRejected(GitsecureError):
    """A signing certificate is not acceptable; ``reference`` names the failed check."""

    exit_code = EXIT_FINDINGS

    def __init__(self, reference: str, message: str) -> None:
        super().__init__(message, reference=reference)


@dataclass(frozen=True)
class SigningCertificate:
    """A parsed leaf: its key, DER, SAN identities and OIDC issuer (extension .1.8, else the legacy .1.1)."""

    der: bytes
    public_key: CosignPublicKey
    identities: tuple[str, ...]
    issuer: str | None
    _cert: x509.Certificate


def parse_certificate(pem: bytes) -> SigningCertificate:
    """Parse one PEM certificate; raise ``InputError("invalid-certificate")`` when malformed."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
        return SigningCertificate(
            der=cert.public_bytes(serialization.Encoding.DER),
            public_key=CosignPublicKey(cert.public_key()),
            identities=_identities(cert),
            issuer=_issuer(cert),
            _cert=cert,
        )
    except (ValueError, TypeError, InputError):
        raise InputError("malformed signing certificate", reference="invalid-certificate") from None


def verify_signing_certificate(leaf: SigningCertificate, root: TrustedRoot, *, at: dt.datetime) -> None:
    """Raise :class:`CertificateRejected` unless ``leaf`` is a code-signing cert of a trusted CA, valid ``at``."""
    cert = leaf._cert
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise CertificateRejected(
            "certificate-not-valid-at-signing", "the certificate was not valid when the signature was logged"
        )
    _check_leaf_extensions(cert)
    issuer = _trusted_issuer(cert, root, at)
    if issuer is None:
        raise CertificateRejected("untrusted-certificate", "the certificate does not chain to a trusted Fulcio CA")
    _check_sct(cert, issuer, root)


def _check_leaf_extensions(cert: x509.Certificate) -> None:
    for ext in cert.extensions:
        if ext.critical and ext.oid not in _KNOWN_CRITICAL:
            raise CertificateRejected("untrusted-certificate", "the certificate has an unknown critical extension")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise CertificateRejected("certificate-not-code-signing", "the certificate is not for code signing")
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise CertificateRejected("untrusted-certificate", "the signing certificate is a CA certificate")
    except x509.ExtensionNotFound:
        pass


def _trusted_issuer(cert: x509.Certificate, root: TrustedRoot, at: dt.datetime) -> x509.Certificate | None:
    for ca in root.cas:
        if ca.validity.contains(at) and _chains(cert, ca, at):
            return ca.chain[0]
    return None


def _chains(cert: x509.Certificate, ca: CertificateAuthority, at: dt.datetime) -> bool:
    child = cert
    for parent in ca.chain:
        if not parent.not_valid_before_utc <= at <= parent.not_valid_after_utc:
            return False
        try:
            if not parent.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return False
            child.verify_directly_issued_by(parent)
        except (x509.ExtensionNotFound, ValueError, TypeError, InvalidSignature):
            return False
        child = parent
    return True


def _check_sct(cert: x509.Certificate, issuer: x509.Certificate, root: TrustedRoot) -> None:
    try:
        scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound:
        raise CertificateRejected("sct-missing", "the certificate has no embedded SCT") from None
    issuer_key_hash = hashlib.sha256(
        issuer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).digest()
    tbs = cert.tbs_precertificate_bytes
    for sct in scts:
        log = root.ctlog(sct.log_id)
        when = sct.timestamp.replace(tzinfo=dt.UTC)
        if log is None or sct.version != Version.v1 or sct.entry_type != LogEntryType.PRE_CERTIFICATE:
            continue
        if not log.validity.contains(when):
            continue
        millis = (when - _EPOCH) // dt.timedelta(milliseconds=1)
        signed = (
            struct.pack(">BBQH", 0, 0, millis, 1)  # v1, certificate_timestamp, timestamp, precert_entry
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + len(sct.extension_bytes).to_bytes(2, "big")
            + sct.extension_bytes
        )
        try:
            log.key.verify(sct.signature, signed)
        except BadSignature:
            continue
        return
    raise CertificateRejected("bad-sct", "no embedded SCT verifies with a trusted CT log")


def _identities(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    values: list[str] = [
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.UniformResourceIdentifier),
    ]
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == _OTHERNAME_SAN:
            values.append(str(core.UTF8String.load(other.value, strict=True).native))
    return tuple(values)


def _issuer(cert: x509.Certificate) -> str | None:
    for oid, der in ((_ISSUER_V2, True), (_ISSUER_V1, False)):
        try:
            value = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        return str(core.UTF8String.load(raw, strict=True).native) if der else raw.decode("utf-8")
    return None


def issued_by_trusted_ca(certificate_der: bytes, root: TrustedRoot) -> bool:
    """Whether the certificate's signature chains to one of ``root``'s CAs, whatever the validity times.

    Used to name a rejection correctly: a certificate from an unknown CA is "untrusted", one from a trusted CA
    outside its validity is "not valid at signing".
    """
    try:
        cert = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        return False
    for ca in root.cas:
        child = cert
        try:
            for parent in ca.chain:
                child.verify_directly_issued_by(parent)
                child = parent
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False
