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
import threading
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitsecure.errors import GitsecureError

SESSION_KEY_SIZE = 32
_ZERO_NONCE = b"\x00" * 12
_PREFIX_SIZE = 2

# RSA private-key operations attempted so far (a metric and a benchmark figure).
_ops_lock = threading.Lock()
_ops_count = 0


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
    return _open(private_keys, ciphertext, label)[0]


def unseal_ordered(keys: Sequence[rsa.RSAPrivateKey], ciphertext: bytes, *, label: bytes) -> tuple[bytes, int]:
    """Like :func:`unseal`, trying ``keys`` in order; also return the index of the key that opened it.

    Callers that hold several keys put the most likely one first and learn
    which one worked, so the next value of the same SealedSecret costs one
    RSA operation instead of one per key.
    """
    return _open(keys, ciphertext, label)


def private_operations() -> int:
    """How many RSA private-key operations :func:`unseal` and :func:`unseal_ordered` have attempted.

    Every decryption attempt counts, failed ones included: they cost the same.
    The count is process-wide and only grows.
    """
    with _ops_lock:
        return _ops_count


def _count_private_operation() -> None:
    global _ops_count  # noqa: PLW0603 - one process-wide counter, behind a lock
    with _ops_lock:
        _ops_count += 1


def _open(private_keys: Iterable[rsa.RSAPrivateKey], ciphertext: bytes, label: bytes) -> tuple[bytes, int]:
    if len(ciphertext) < _PREFIX_SIZE:
        raise DecryptionError()
    wrapped_len = int.from_bytes(ciphertext[:_PREFIX_SIZE], "big")
    end = _PREFIX_SIZE + wrapped_len
    if len(ciphertext) < end:
        raise DecryptionError()
    wrapped, body = ciphertext[_PREFIX_SIZE:end], ciphertext[end:]
    oaep = _oaep(label)
    for index, key in enumerate(private_keys):
        if key.key_size // 8 != wrapped_len:
            continue
        _count_private_operation()
        try:
            session_key = key.decrypt(wrapped, oaep)
        except ValueError:
            continue
        # Go's aes.NewCipher takes any AES key size, so a foreign sealer
        # using a shorter session key still opens upstream; mirror that.
        if len(session_key) not in (16, 24, 32):
            continue
        try:
            return AESGCM(session_key).decrypt(_ZERO_NONCE, body, None), index
        except InvalidTag:
            continue
    raise DecryptionError()
