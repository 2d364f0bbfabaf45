"""cosign's encrypted private key files (``cosign.key``), read and written byte-compatibly.

The PEM block (type ``ENCRYPTED SIGSTORE PRIVATE KEY``, or the older ``ENCRYPTED COSIGN PRIVATE KEY``) holds the JSON
of go-securesystemslib's ``encrypted`` package::

    {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<b64 32>"},
     "cipher":{"name":"nacl/secretbox","nonce":"<b64 24>"},"ciphertext":"<b64>"}

key = scrypt(password, salt, N, r, p, 32); plaintext = PKCS#8 DER. Every failure to open a key (wrong password,
corrupt JSON, odd parameters, not PKCS#8) is the same opaque :class:`KeyDecryptionFailed`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import textwrap
from typing import Any

import nacl.exceptions
import nacl.secret

from gitsecure.crypto.cosign import CosignSigner
from gitsecure.errors import GitsecureError, InputError

SIGSTORE_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
_PEM_TYPES = (SIGSTORE_PEM_TYPE, COSIGN_PEM_TYPE)
# go-securesystemslib's defaults, which cosign uses for every key it writes.
_N, _R, _P = 32768, 8, 1
# Bounds on what we agree to compute for a key someone hands us: 2**20 * 8 * 128 bytes = 1 GiB at most.
_MAX_N, _MAX_R, _MAX_P = 1 << 20, 32, 16
_MAX_MEMORY = 1 << 30


class KeyDecryptionFailed(GitsecureError):
    """The cosign private key could not be opened: a wrong password and a damaged file look the same."""

    reference = "cosign-key-decrypt-failed"

    def __init__(self) -> None:
        super().__init__(
            "cannot decrypt the cosign private key (wrong password or damaged key file)",
            hint="check COSIGN_PASSWORD; an empty password is a valid cosign password",
        )


def decrypt_private_key(pem: bytes, password: bytes) -> CosignSigner:
    """Open a cosign encrypted private key with ``password``."""
    try:
        body = _pem_body(pem)
        doc = json.loads(body)
        kdf, cipher = doc["kdf"], doc["cipher"]
        params = kdf["params"]
        n, r, p = params["N"], params["r"], params["p"]
        if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox" or not _sane(n, r, p):
            raise KeyDecryptionFailed()
        salt = _b64(kdf["salt"])
        nonce = _b64(cipher["nonce"])
        ciphertext = _b64(doc["ciphertext"])
        key = _scrypt(password, salt, n, r, p)
        plaintext = nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
        return CosignSigner.from_pkcs8_der(plaintext)
    except (KeyError, TypeError, ValueError, nacl.exceptions.CryptoError, InputError):
        raise KeyDecryptionFailed() from None


def encrypt_private_key(signer: CosignSigner, password: bytes, *, pem_type: str = SIGSTORE_PEM_TYPE) -> bytes:
    """The cosign key file for ``signer`` encrypted under ``password`` (PEM, 64-column lines as Go writes)."""
    if pem_type not in _PEM_TYPES:
        raise InputError(f"unknown cosign key PEM type {pem_type!r}", reference="invalid-private-key")
    salt, nonce = os.urandom(32), os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    key = _scrypt(password, salt, _N, _R, _P)
    ciphertext = nacl.secret.SecretBox(key).encrypt(signer.pkcs8_der(), nonce).ciphertext
    b64 = base64.b64encode
    # Key order and compact separators as Go's encoding/json writes go-securesystemslib's structs.
    doc: dict[str, Any] = {
        "kdf": {"name": "scrypt", "params": {"N": _N, "r": _R, "p": _P}, "salt": b64(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce).decode()},
        "ciphertext": b64(ciphertext).decode(),
    }
    body = b64(json.dumps(doc, separators=(",", ":")).encode()).decode()
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN {pem_type}-----\n{lines}\n-----END {pem_type}-----\n".encode()


def generate_key_pair(password: bytes) -> tuple[bytes, bytes]:
    """A new P-256 key pair as ``cosign generate-key-pair`` writes it: (``cosign.key`` bytes, ``cosign.pub`` bytes)."""
    signer = CosignSigner.generate()
    return encrypt_private_key(signer, password), signer.public_key.pem()


def is_encrypted_cosign_key(pem: bytes) -> bool:
    """True when ``pem`` starts with one of cosign's encrypted key PEM headers (no decryption attempted)."""
    text = pem.lstrip()
    return any(text.startswith(f"-----BEGIN {t}-----".encode()) for t in _PEM_TYPES)


def _pem_body(pem: bytes) -> bytes:
    lines = pem.decode("ascii").strip().splitlines()
    if len(lines) < 3:
        raise ValueError("short PEM")
    begin, end = lines[0].strip(), lines[-1].strip()
    for pem_type in _PEM_TYPES:
        if begin == f"-----BEGIN {pem_type}-----" and end == f"-----END {pem_type}-----":
            return _b64("".join(line.strip() for line in lines[1:-1]))
    raise ValueError("not a cosign encrypted key")


def _b64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("bad base64") from None


def _sane(n: object, r: object, p: object) -> bool:
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p))
    if not ints:
        return False
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    return 1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= _MAX_R and 0 < p <= _MAX_P


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    if len(salt) == 0:
        raise ValueError("empty salt")
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY + 1024 * 1024, dklen=32)
