"""Building the Secret for a SealedSecret inside the controller, trying the most likely key first.

The SealedSecret logic itself (label, template metadata, ``template.data``
rendering, owner reference) is :func:`gitsecure.seal.sealedsecret.unseal_with`,
shared with ``gitsecure seal --recovery-unseal``; this module only decides in
which order the controller's keys are tried. There is no key identifier in a
sealed value, so a wrong guess costs a full RSA private-key operation: the key
registry's guess goes first, and once one value of a SealedSecret opens, the
key that opened it is tried first for the others (they are nearly always
sealed with the same key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import Fingerprint, PrivateKey
from gitsecure.errors import GitsecureError, InputError
from gitsecure.seal import sealedsecret

NO_KEY_HINT = (
    "The SealedSecret may have been sealed for another name, namespace or scope "
    "(renamed or moved after sealing), or with a key this controller does not hold"
)


class UnsealFailed(GitsecureError):
    """A SealedSecret cannot be turned into a Secret; the message names items, never values."""

    reference = "unseal-failed"


class _LearningOpener:
    """An opener that moves the key that worked to the front for the next value."""

    def __init__(self, keys: Sequence[tuple[Fingerprint, PrivateKey]]) -> None:
        self._fingerprints = [fingerprint for fingerprint, _ in keys]
        self._keys = [key for _, key in keys]
        self.first_success: Fingerprint | None = None

    def __call__(self, ciphertext: bytes, label: bytes) -> bytes:
        plaintext, index = hybrid.unseal_ordered(self._keys, ciphertext, label=label)
        if index:
            self._keys.insert(0, self._keys.pop(index))
            self._fingerprints.insert(0, self._fingerprints.pop(index))
        if self.first_success is None:
            self.first_success = self._fingerprints[0]
        return plaintext

    @property
    def holds_keys(self) -> bool:
        return bool(self._keys)


def build_secret(
    sealed: Mapping[str, Any],
    registry: KeyRegistry,
    *,
    accept_deprecated_v1_data: bool,
    hint: Fingerprint | None = None,
) -> dict[str, Any]:
    """The whole ``v1/Secret`` the controller writes for ``sealed``; all items or :class:`UnsealFailed`.

    Keys are tried in ``registry.ordered_keys(hint)`` order; the key that
    opens the first value goes first for the rest. On success the registry
    hears once which key opened the SealedSecret (nothing is recorded when it
    has no encrypted values, e.g. ``template.data`` only).
    """
    opener = _LearningOpener(registry.ordered_keys(hint))
    try:
        secret = sealedsecret.unseal_with(dict(sealed), opener, accept_deprecated_v1_data=accept_deprecated_v1_data)
    except sealedsecret.UnsealError as exc:
        raise UnsealFailed(_failure_message(exc, holds_keys=opener.holds_keys)) from None
    except InputError as exc:
        # A malformed object (not a SealedSecret, bad metadata, both data fields, ...): no value involved.
        raise UnsealFailed(exc.message) from None
    if opener.first_success is not None:
        registry.record_success(opener.first_success)
    return secret


def _failure_message(exc: sealedsecret.UnsealError, *, holds_keys: bool) -> str:
    if not exc.no_key:
        return exc.message  # template errors or bad base64: the item list says it all
    if not holds_keys:
        return f"{exc.message}. This controller holds no keys yet"
    return f"{exc.message}. {NO_KEY_HINT}"
