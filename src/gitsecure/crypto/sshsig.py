"""SSHSIG detached signatures (OpenSSH ``PROTOCOL.sshsig``), as ``git`` makes them with ``gpg.format=ssh``.

:func:`parse_armored_sshsig` accepts exactly one armoured version-1 signature and nothing around
it; :func:`verify_sshsig` does the signature math only. Who may sign, for which namespace and when
is decided by the caller (``gitsecure.verify.allowed_signers``), which must also insist on the
``git`` namespace: the math accepts whatever namespace the signer chose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.sshcert import SshCertificate, parse_certificate, verify_certificate
from gitsecure.crypto.sshkeys import (
    CERT_TYPES,
    KEY_TYPES,
    RawSignature,
    SshPublicKey,
    parse_raw_signature,
    verify_raw,
)
from gitsecure.crypto.sshwire import MalformedWire, WireReader, ssh_string
from gitsecure.errors import InputError

__all__ = ["BadSignature", "SshSignature", "parse_armored_sshsig", "parse_sshsig", "signed_data", "verify_sshsig"]

ARMOR_BEGIN = b"-----BEGIN SSH SIGNATURE-----"
ARMOR_END = b"-----END SSH SIGNATURE-----"
_MAGIC = b"SSHSIG"
_VERSION = 1
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/=]+")


@dataclass(frozen=True)
class SshSignature:
    """A parsed SSHSIG blob: who signed (a key or a certificate), for which namespace, how."""

    public_key: SshPublicKey | SshCertificate
    namespace: str
    hash_algorithm: str
    signature: RawSignature = field(repr=False)
    blob: bytes = field(repr=False)

    @property
    def signer(self) -> SshPublicKey:
        """The key that made the signature (the certified key when signed with a certificate)."""
        return self.public_key.key if isinstance(self.public_key, SshCertificate) else self.public_key

    @property
    def fingerprint(self) -> str:
        """The signing key's ``SHA256:`` fingerprint, as ``ssh-keygen -Y verify`` reports it."""
        return self.signer.fingerprint


def _dearmor(armored: bytes) -> bytes:
    lines = armored.split(b"\n")
    # One final newline is normal; anything else after the footer is not part of a signature.
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise MalformedWire("armour")
    body = lines[1:-1]
    if not all(_BASE64_LINE.fullmatch(line) for line in body):
        raise MalformedWire("armour body")
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except binascii.Error as exc:
        raise MalformedWire("base64") from exc


def _public_key(blob: bytes) -> SshPublicKey | SshCertificate:
    key_type = WireReader(blob).text()
    if key_type in CERT_TYPES.values():
        return parse_certificate(blob)
    if key_type not in KEY_TYPES:
        raise MalformedWire("unknown key type")
    try:
        return SshPublicKey(key_type, blob)
    except InputError as exc:
        raise MalformedWire("bad key") from exc


def _parse(blob: bytes) -> SshSignature:
    reader = WireReader(blob)
    if reader.raw(len(_MAGIC)) != _MAGIC or reader.u32() != _VERSION:
        raise MalformedWire("preamble")
    public_key = _public_key(reader.string())
    namespace = reader.text()
    # Reserved must be empty: OpenSSH signs over an empty one whatever the blob says, so a
    # filled-in field would be unauthenticated data riding along.
    reserved = reader.string()
    hash_algorithm = reader.text()
    signature_blob = reader.string()
    reader.done()
    if not namespace:
        raise MalformedWire("empty namespace")
    if reserved:
        raise MalformedWire("reserved field set")
    if hash_algorithm not in _HASHES:
        raise MalformedWire("hash algorithm")
    signer = public_key.key if isinstance(public_key, SshCertificate) else public_key
    signature = parse_raw_signature(signature_blob, signer)
    return SshSignature(public_key, namespace, hash_algorithm, signature, blob)


def parse_sshsig(blob: bytes) -> SshSignature:
    """Parse a binary SSHSIG blob; raises :class:`BadSignature` on anything malformed or unsupported."""
    try:
        return _parse(blob)
    except MalformedWire as exc:
        raise BadSignature() from exc


def parse_armored_sshsig(armored: bytes) -> SshSignature:
    """Parse an armoured SSH signature; raises :class:`BadSignature` on anything malformed or unsupported."""
    try:
        return _parse(_dearmor(armored))
    except MalformedWire as exc:
        raise BadSignature() from exc


def signed_data(namespace: str, hash_algorithm: str, payload: bytes) -> bytes:
    """What the key actually signs for ``payload`` (PROTOCOL.sshsig §3)."""
    digest = _HASHES[hash_algorithm](payload).digest()
    return _MAGIC + ssh_string(namespace) + ssh_string(b"") + ssh_string(hash_algorithm) + ssh_string(digest)


def verify_sshsig(sig: SshSignature, payload: bytes) -> bool:
    """True when ``sig`` covers ``payload`` (and, for a certificate, the CA's signature holds).

    Math only: the namespace, the signer's identity and any validity window are not checked here.
    """
    if not sig.namespace or sig.hash_algorithm not in _HASHES:
        return False
    if isinstance(sig.public_key, SshCertificate) and not verify_certificate(sig.public_key):
        return False
    return verify_raw(sig.signer, sig.signature, signed_data(sig.namespace, sig.hash_algorithm, payload))
