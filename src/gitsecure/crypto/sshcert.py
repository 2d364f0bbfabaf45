"""OpenSSH certificates (``*-cert-v01@openssh.com``, PROTOCOL.certkeys), parsed with the CA signature checked.

Parsing mirrors OpenSSH's ``cert_parse``: a certificate whose CA signature does not verify is not
a certificate at all, so :func:`parse_certificate` never returns one. What a certificate
*authorises* (type, validity window, principals, critical options) is the caller's decision.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from gitsecure.crypto.sshkeys import (
    CERT_TYPES,
    RawSignature,
    SshPublicKey,
    parse_raw_signature,
    read_key_fields,
    verify_raw,
)
from gitsecure.crypto.sshwire import MalformedWire, WireReader, ssh_string
from gitsecure.errors import InputError

CERT_TYPE_USER = 1
CERT_TYPE_HOST = 2
_PLAIN_TYPES = {cert: plain for plain, cert in CERT_TYPES.items()}
# OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS.
_MAX_PRINCIPALS = 256


@dataclass(frozen=True)
class SshCertificate:
    """An OpenSSH certificate whose CA signature has been verified."""

    key: SshPublicKey
    signature_key: SshPublicKey
    serial: int
    cert_type: int
    key_id: str
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical_options: dict[str, bytes] = field(hash=False)
    extensions: dict[str, bytes] = field(hash=False)
    blob: bytes = field(default=b"", repr=False)
    signature: RawSignature | None = field(default=None, repr=False)
    signed_length: int = field(default=0, repr=False)

    @property
    def key_type(self) -> str:
        """The certificate type name, e.g. ``ssh-ed25519-cert-v01@openssh.com``."""
        return CERT_TYPES[self.key.key_type]

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the certified key (what ``ssh-keygen`` prints for a certificate)."""
        return self.key.fingerprint

    @classmethod
    def from_blob(cls, blob: bytes) -> SshCertificate:
        """Parse and check a certificate blob; raises InputError when malformed or badly signed."""
        try:
            return parse_certificate(blob)
        except MalformedWire as exc:
            raise InputError("invalid SSH certificate", reference="invalid-ssh-certificate") from exc

    @classmethod
    def from_openssh(cls, line: str) -> SshCertificate:
        """Parse a ``-cert.pub`` line: ``<cert type> <base64> [comment]``."""
        fields = line.strip().split(maxsplit=2)
        try:
            blob = base64.b64decode(fields[1], validate=True) if len(fields) >= 2 else b""
        except ValueError as exc:
            raise InputError("invalid SSH certificate", reference="invalid-ssh-certificate") from exc
        cert = cls.from_blob(blob)
        if fields[0] != cert.key_type:
            raise InputError("invalid SSH certificate", reference="invalid-ssh-certificate")
        return cert

    def openssh(self) -> str:
        """The one-line OpenSSH form, without a comment."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode('ascii')}"


def _options(data: bytes) -> dict[str, bytes]:
    reader = WireReader(data)
    options: dict[str, bytes] = {}
    while reader.position < len(data):
        name, value = reader.text(), reader.string()
        # A repeated name would let two readers of one certificate see different values.
        if name in options:
            raise MalformedWire("duplicate certificate option")
        options[name] = value
    return options


def _principals(data: bytes) -> tuple[str, ...]:
    reader = WireReader(data)
    principals: list[str] = []
    while reader.position < len(data):
        if len(principals) >= _MAX_PRINCIPALS:
            raise MalformedWire("too many principals")
        principals.append(reader.text())
    return tuple(principals)


def parse_certificate(blob: bytes) -> SshCertificate:
    """Parse a certificate blob and verify its CA signature; raises MalformedWire otherwise."""
    reader = WireReader(blob)
    plain_type = _PLAIN_TYPES.get(reader.text())
    if plain_type is None:
        raise MalformedWire("not a certificate type")
    reader.string()  # nonce: only there to randomise what the CA signs
    start = reader.position
    read_key_fields(reader, plain_type)
    key_blob = ssh_string(plain_type) + blob[start : reader.position]
    serial, cert_type, key_id = reader.u64(), reader.u32(), reader.text()
    principals = _principals(reader.string())
    valid_after, valid_before = reader.u64(), reader.u64()
    critical_options, extensions = _options(reader.string()), _options(reader.string())
    reader.string()  # reserved: covered by the CA signature, no meaning yet
    ca_blob = reader.string()
    signed_length = reader.position
    signature_blob = reader.string()
    reader.done()
    if cert_type not in (CERT_TYPE_USER, CERT_TYPE_HOST):
        raise MalformedWire("unknown certificate type")
    try:
        # A certificate type as CA key (a chained certificate) fails here: only plain types are keys.
        key, ca_key = SshPublicKey(plain_type, key_blob), SshPublicKey.from_blob(ca_blob)
    except InputError as exc:
        raise MalformedWire("bad key") from exc
    signature = parse_raw_signature(signature_blob, ca_key)
    if not verify_raw(ca_key, signature, blob[:signed_length]):
        raise MalformedWire("certificate signature")
    return SshCertificate(
        key=key,
        signature_key=ca_key,
        serial=serial,
        cert_type=cert_type,
        key_id=key_id,
        principals=principals,
        valid_after=valid_after,
        valid_before=valid_before,
        critical_options=critical_options,
        extensions=extensions,
        blob=blob,
        signature=signature,
        signed_length=signed_length,
    )


def verify_certificate(cert: SshCertificate) -> bool:
    """True when ``cert`` is exactly what its blob says and the CA key's signature covers that blob.

    Re-parsing (rather than checking the signature alone) also catches a dataclass whose fields
    were edited after parsing.
    """
    try:
        return parse_certificate(cert.blob) == cert
    except MalformedWire:
        return False
