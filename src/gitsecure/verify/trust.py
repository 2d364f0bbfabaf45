"""Reading trust material for the verify policy, with cheap shape checks.

These checks only catch the configuration mistakes that would otherwise surface as a confusing
"untrusted key" later: a path to the wrong file, an empty file, a private key where a public
one belongs. The real parsing happens where each kind is used (GnuPG for OpenPGP keyrings,
``verify.allowed_signers`` for SSH, sigstore for trusted roots). Every function raises
ValueError with a phrase that names the material, for the caller to prefix with the file and
field path.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from pathlib import Path

from gitsecure.crypto.sshkeys import KEY_TYPES

__all__ = [
    "MAX_TRUST_FILE",
    "SSH_KEY_TYPES",
    "check_allowed_signers",
    "check_openpgp_keys",
    "check_trusted_root",
    "parse_ssh_key_line",
    "read_trust_file",
    "ssh_keys_from_file",
]

# A keyring or allowed_signers file of a large organisation stays far below this; anything
# bigger is a wrong path (a repository pack, a log file) rather than trust material.
MAX_TRUST_FILE = 8 * 1024 * 1024

# Plain public key types git can sign with (the crypto core's list). Certificates are not trust
# anchors here: trust a CA with a cert-authority line in an allowed_signers file instead.
SSH_KEY_TYPES = KEY_TYPES
_PGP_PUBLIC = (b"-----BEGIN PGP PUBLIC KEY BLOCK-----", b"-----END PGP PUBLIC KEY BLOCK-----")
# Covers PGP PRIVATE KEY BLOCK, OPENSSH PRIVATE KEY, (RSA|EC) PRIVATE KEY and PKCS#8 armour.
_PRIVATE_MARKER = b"PRIVATE KEY"


def read_trust_file(path: Path, display: str) -> bytes:
    """The bytes of a trust file; ValueError when it cannot be read, is empty or is implausibly large."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TRUST_FILE + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {display}: {exc.strerror or exc}") from None
    if len(data) > MAX_TRUST_FILE:
        raise ValueError(f"{display} is larger than {MAX_TRUST_FILE // (1024 * 1024)} MiB")
    if not data.strip():
        raise ValueError(f"{display} is empty")
    return data


def _refuse_private(data: bytes, display: str) -> None:
    if _PRIVATE_MARKER in data:
        raise ValueError(f"{display} holds a private key (give the public key only, and rotate this one)")


def check_openpgp_keys(data: bytes, display: str) -> None:
    """ValueError unless ``data`` holds an armoured OpenPGP public key block (and no private key)."""
    _refuse_private(data, display)
    begin, end = _PGP_PUBLIC
    start = data.find(begin)
    if start < 0 or data.find(end, start) < 0:
        raise ValueError(f"{display} holds no OpenPGP public key (expected an armoured PGP PUBLIC KEY BLOCK)")


def parse_ssh_key_line(line: str, display: str) -> str:
    """``"<type> <base64>"`` from an OpenSSH public key line (comment dropped); ValueError if it is not one."""
    fields = line.split()
    if len(fields) < 2 or fields[0] not in SSH_KEY_TYPES:
        raise ValueError(f"{display} is not an SSH public key (expected '<type> <base64> [comment]')")
    key_type, encoded = fields[0], fields[1]
    try:
        blob = base64.b64decode(encoded, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        inner = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise ValueError(f"{display} is not an SSH public key (the base64 blob is malformed)") from None
    # The wire blob names its own type; a mismatch is a pasted-together or corrupted key.
    if inner != key_type:
        raise ValueError(f"{display} is not an SSH public key (type {key_type} but the blob says {inner[:40]!r})")
    if len(blob) < 4 + length + 4 + 16:  # every supported type carries at least a 16-byte field after its name
        raise ValueError(f"{display} is not an SSH public key (the blob is truncated)")
    return f"{key_type} {encoded}"


def ssh_keys_from_file(data: bytes, display: str) -> tuple[str, ...]:
    """Every public key line of a ``.pub`` or authorized_keys-style file (no options); ValueError if none."""
    _refuse_private(data, display)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{display} holds no SSH public key (not UTF-8 text)") from None
    lines = [line.strip() for line in text.splitlines()]
    keys = tuple(parse_ssh_key_line(line, display) for line in lines if line and not line.startswith("#"))
    if not keys:
        raise ValueError(f"{display} holds no SSH public key")
    return keys


def check_allowed_signers(data: bytes, display: str) -> None:
    """ValueError unless every entry line of an allowed_signers file names a known SSH key type."""
    _refuse_private(data, display)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{display} holds no allowed signers (not UTF-8 text)") from None
    entries = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not any(token in SSH_KEY_TYPES for token in line.split()):
            raise ValueError(f"{display} line {number} names no SSH public key of a known type")
        entries += 1
    if not entries:
        raise ValueError(f"{display} holds no allowed signers")


def check_trusted_root(data: bytes, display: str) -> None:
    """ValueError unless ``data`` is a Sigstore trusted_root.json with at least one certificate authority."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError(f"{display} is not a Sigstore trusted root (not JSON)") from None
    media_type = document.get("mediaType") if isinstance(document, dict) else None
    if not isinstance(media_type, str) or not media_type.startswith("application/vnd.dev.sigstore.trustedroot"):
        raise ValueError(f"{display} is not a Sigstore trusted root (no trustedroot mediaType)")
    authorities = document.get("certificateAuthorities")
    if not isinstance(authorities, list) or not authorities:
        raise ValueError(f"{display} is not a Sigstore trusted root for keyless signing (no certificateAuthorities)")
