"""The key ring: NotBefore order, the active key, trial decryption."""

from __future__ import annotations

import datetime as dt

import pytest

from gitsecure.crypto import hybrid
from gitsecure.crypto.keyring import KeyRing
from gitsecure.crypto.keys import KeyPair, self_signed_certificate
from tests.conftest import NOW


def _pair_at(base: KeyPair, when: dt.datetime) -> KeyPair:
    """The same key with a certificate starting at ``when`` (a distinct fingerprint is not needed here)."""
    return KeyPair(base.private_key, self_signed_certificate(base.private_key, now=when, ttl=dt.timedelta(days=1)))


def test_active_key_is_the_newest_by_not_before(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ring = KeyRing()
    assert ring.active is None
    newer = _pair_at(small_pair, NOW + dt.timedelta(hours=1))
    older = _pair_at(other_pair, NOW - dt.timedelta(days=3))
    assert ring.add(newer) and ring.add(older)
    assert ring.active is newer
    assert list(ring) == [newer, older]
    assert len(ring) == 2


def test_explicit_order_time_overrides_not_before(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ring = KeyRing()
    ring.add(small_pair, order_time=NOW + dt.timedelta(days=10))
    ring.add(other_pair, order_time=NOW)
    assert ring.active is small_pair


def test_tie_keeps_the_first_registered(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ring = KeyRing()
    ring.add(small_pair, order_time=NOW)
    ring.add(other_pair, order_time=NOW)
    assert ring.active is small_pair


def test_same_key_is_registered_once(small_pair: KeyPair) -> None:
    ring = KeyRing()
    assert ring.add(small_pair)
    assert not ring.add(_pair_at(small_pair, NOW))
    assert small_pair.fingerprint in ring
    assert ring.remove(small_pair.fingerprint)
    assert not ring.remove(small_pair.fingerprint)
    assert len(ring) == 0


def test_open_tries_every_key(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ring = KeyRing()
    ring.add(small_pair)
    ring.add(other_pair)
    for pair in (small_pair, other_pair):
        ciphertext = hybrid.seal(pair.private_key.public_key(), b"x", label=b"ns")
        assert ring.open(ciphertext, label=b"ns") == b"x"
    with pytest.raises(hybrid.DecryptionError):
        ring.open(hybrid.seal(small_pair.private_key.public_key(), b"x", label=b"ns"), label=b"other")
