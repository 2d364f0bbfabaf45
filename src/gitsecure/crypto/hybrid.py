"""The kubeseal hybrid envelope, byte-compatible with sealed-secrets.

Layout of one sealed value::

    uint16 big-endian L | RSA-OAEP(SHA-256, MGF1-SHA-256, label)(session key) [L bytes]
                        | AES-256-GCM(session key, nonce=0^12)(plaintext) || tag [len+16]

The session key is 32 fresh random bytes for every value, which is what makes
the all-zero GCM nonce safe. There is no key identifier in the envelope, so
opening means trial decryption over every key held.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitsecure.errors import GitsecureError

SESSION_KEY_SIZE = 32
_ZERO_NONCE = b"\x00" * 12
_PREFIX_SIZE = 2


class DecryptionError(GitsecureError):
    """A sealed value could not be opened with any key held.

    Deliberately opaque: wrong key, wrong label (renamed or moved secret),
    truncation and tampering all look the same to the caller.
    """

    reference = "no-key-could-decrypt"

    def __init__(self) -> None:
        super().__init__("no key could decrypt secret")


def _oaep(label: bytes) -> padding.OAEP:
    # Go's rsa.EncryptOAEP uses one hash for both OAEP and MGF1; an empty
    # label must be passed as None to pyca, which is equivalent on the wire.
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(),
        label=label or None,
    )


def seal(public_key: rsa.RSAPublicKey, plaintext: bytes, *, label: bytes) -> bytes:
    """Encrypt ``plaintext`` for ``public_key`` under the OAEP ``label``."""
    session_key = os.urandom(SESSION_KEY_SIZE)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    body = AESGCM(session_key).encrypt(_ZERO_NONCE, plaintext, None)
    return len(wrapped).to_bytes(_PREFIX_SIZE, "big") + wrapped + body


def unseal(private_keys: Iterable[rsa.RSAPrivateKey], ciphertext: bytes, *, label: bytes) -> bytes:
    """Open a sealed value with the first key that can; raise :class:`DecryptionError` otherwise."""
    if len(ciphertext) < _PREFIX_SIZE:
        raise DecryptionError()
    wrapped_len = int.from_bytes(ciphertext[:_PREFIX_SIZE], "big")
    end = _PREFIX_SIZE + wrapped_len
    if len(ciphertext) < end:
        raise DecryptionError()
    wrapped, body = ciphertext[_PREFIX_SIZE:end], ciphertext[end:]
    oaep = _oaep(label)
    for key in private_keys:
        if key.key_size // 8 != wrapped_len:
            continue
        try:
            session_key = key.decrypt(wrapped, oaep)
        except ValueError:
            continue
        # Go's aes.NewCipher takes any AES key size, so a foreign sealer
        # using a shorter session key still opens upstream; mirror that.
        if len(session_key) not in (16, 24, 32):
            continue
        try:
            return AESGCM(session_key).decrypt(_ZERO_NONCE, body, None)
        except InvalidTag:
            continue
    raise DecryptionError()
