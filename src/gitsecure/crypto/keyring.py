"""A key ring: every sealing key held, ordered by the certificate's NotBefore.

The newest key is the active one (the one new secrets are sealed with); all
keys are tried when opening, newest first, since recent secrets are the most
common.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import Fingerprint, KeyPair


@dataclass(frozen=True)
class _Entry:
    pair: KeyPair
    order_time: dt.datetime
    position: int


@dataclass
class KeyRing:
    """Key pairs indexed by public-key fingerprint."""

    _entries: dict[Fingerprint, _Entry] = field(default_factory=dict)

    def add(self, pair: KeyPair, *, order_time: dt.datetime | None = None) -> bool:
        """Register ``pair``; return False if a key with the same fingerprint is already held.

        ``order_time`` defaults to the certificate's NotBefore. On a tie the
        key registered first stays active, as in the upstream controller.
        """
        fingerprint = pair.fingerprint
        if fingerprint in self._entries:
            return False
        when = order_time if order_time is not None else pair.not_before
        self._entries[fingerprint] = _Entry(pair, when, len(self._entries))
        return True

    def remove(self, fingerprint: Fingerprint) -> bool:
        """Forget a key; return whether it was held."""
        return self._entries.pop(fingerprint, None) is not None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self._entries

    def _ordered(self) -> list[_Entry]:
        # Newest first; among equal times the earliest registered first.
        return sorted(self._entries.values(), key=lambda e: (-e.order_time.timestamp(), e.position))

    def __iter__(self) -> Iterator[KeyPair]:
        return (entry.pair for entry in self._ordered())

    @property
    def active(self) -> KeyPair | None:
        """The key new secrets are sealed with, or None for an empty ring."""
        ordered = self._ordered()
        return ordered[0].pair if ordered else None

    def private_keys(self) -> list[rsa.RSAPrivateKey]:
        """Every private key, newest first."""
        return [pair.private_key for pair in self]

    def open(self, ciphertext: bytes, *, label: bytes) -> bytes:
        """Trial-decrypt one sealed value; raises :class:`hybrid.DecryptionError`."""
        return hybrid.unseal(self.private_keys(), ciphertext, label=label)
