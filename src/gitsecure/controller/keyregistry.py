"""The controller's key registry: every sealing key held, the active one, and the order to try them.

Keys come from key Secrets in the controller's namespace (the sealed-secrets
format: ``kubernetes.io/tls``, ``tls.key`` PEM RSA key, ``tls.crt`` its
certificate) and from keys generated at runtime. The registry is keyed by the
Secret name, so a Secret that changes or disappears replaces or drops exactly
its key; the same public key under two names is held once.

The *active* key, served by ``/v1/cert.pem``, has the greatest ordering time:
the certificate's NotBefore, or the Secret's creationTimestamp with
``--key-order-priority SecretCreationTimestamp``; ties go to the older Secret,
then to the key registered first, as upstream registers keys in
creationTimestamp order. Decryption tries the key most likely to work first,
because a failed RSA-OAEP attempt costs as much as a successful one.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from gitsecure.controller.config import KEY_LABEL, ORDER_PRIORITIES
from gitsecure.crypto.keys import (
    Fingerprint,
    KeyPair,
    PrivateKey,
    certificate_for,
    dump_certificate,
    dump_private_key,
    load_certificates,
    load_private_key,
)
from gitsecure.errors import GitsecureError, InputError

log = logging.getLogger("gitsecure.controller.keys")

__all__ = [  # KEY_LABEL and ORDER_PRIORITIES live in config, which the CLI imports without crypto
    "KEY_LABEL",
    "ORDER_PRIORITIES",
    "KeyRegistry",
    "MalformedKeySecret",
    "key_pair_from_secret",
    "key_secret_manifest",
    "needs_new_key",
    "next_renewal",
]


class MalformedKeySecret(GitsecureError):
    """A key Secret whose key or certificate cannot be used; the message never holds key bytes."""

    reference = "bad-key-secret"


def key_pair_from_secret(secret: Mapping[str, Any]) -> KeyPair:
    """The key pair in a key Secret: ``data["tls.key"]`` (PKCS#1 or PKCS#8 RSA) and its ``data["tls.crt"]``."""
    meta = secret.get("metadata") or {}
    where = f"key Secret {meta.get('namespace') or '?'}/{meta.get('name') or '?'}"
    data = secret.get("data")
    if not isinstance(data, Mapping):
        raise MalformedKeySecret(f"{where} has no data")
    key_pem = _decoded(data, "tls.key", where)
    cert_pem = _decoded(data, "tls.crt", where)
    try:
        key = load_private_key(key_pem)
    except InputError as exc:  # its messages describe the key's type, never its bytes
        raise MalformedKeySecret(f"{where}: tls.key: {exc.message}") from None
    certificates = load_certificates(cert_pem)
    if not certificates:
        raise MalformedKeySecret(f"{where}: tls.crt holds no PEM certificate")
    certificate = certificate_for(key, certificates)
    if certificate is None:
        # Upstream would serve a certificate whose key it does not hold: every sealed value would be lost.
        raise MalformedKeySecret(f"{where}: tls.crt is not the certificate of tls.key")
    return KeyPair(key, certificate)


def _decoded(data: Mapping[str, Any], item: str, where: str) -> bytes:
    value = data.get(item)
    if not isinstance(value, str) or not value:
        raise MalformedKeySecret(f"{where} has no {item}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedKeySecret(f"{where}: {item} is not valid base64") from None


def key_secret_manifest(
    pair: KeyPair, *, namespace: str, prefix: str, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> dict[str, Any]:
    """The Secret storing a new key, as the controller creates it (the API server completes the name)."""
    metadata: dict[str, Any] = {
        "generateName": prefix,
        "namespace": namespace,
        "labels": {**labels, KEY_LABEL: "active"},  # the active label always wins
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(dump_certificate(pair.certificate)).decode(),
            "tls.key": base64.b64encode(dump_private_key(pair.private_key)).decode(),
        },
    }


@dataclasses.dataclass(frozen=True)
class _Held:
    """One Secret's key, with what orders it."""

    pair: KeyPair
    fingerprint: Fingerprint
    order_time: dt.datetime
    created: dt.datetime
    sequence: int
    source: bytes = b""  # digest of the Secret fields it came from: an unchanged Secret is not parsed again

    def newest_first(self) -> tuple[float, float, int]:
        return (-self.order_time.timestamp(), self.created.timestamp(), self.sequence)


class KeyRegistry:
    """Thread-safe: the key watcher writes, reconcile threads and HTTP handlers read."""

    def __init__(self, *, order_priority: str = "CertNotBefore") -> None:
        if order_priority not in ORDER_PRIORITIES:
            raise ValueError(f"unknown key order priority {order_priority!r}")
        self._by_creation = order_priority == "SecretCreationTimestamp"
        self._lock = threading.Lock()
        self._by_name: dict[str, _Held] = {}
        self._successes: dict[Fingerprint, int] = {}
        self._sequence = 0
        self._generation = 0

    def sync_secret(self, secret: Mapping[str, Any]) -> None:
        """Hold the key of ``secret`` under its name, replacing what was there; drop it if malformed."""
        meta = secret.get("metadata") or {}
        name = str(meta.get("name") or "")
        if not name:
            log.warning("ignoring a key Secret without a name")
            return
        source = _source_digest(secret)
        with self._lock:
            held = self._by_name.get(name)
            if held is not None and held.source == source:
                return  # relists repeat every key Secret; parsing an RSA key costs milliseconds
        try:
            pair = key_pair_from_secret(secret)
        except MalformedKeySecret as exc:
            log.warning("%s; it is not used", exc.message)
            self.remove_secret(name)
            return
        created = _timestamp(meta.get("creationTimestamp"))
        order_time = created if self._by_creation else None
        self._put(name, pair, created=created or pair.not_before, order_time=order_time, source=source)

    def add_generated(self, pair: KeyPair, *, secret_name: str) -> None:
        """Hold a key made at runtime and stored in ``secret_name``; it is ordered as made now."""
        self._put(secret_name, pair, created=pair.not_before, order_time=None, source=b"")

    def _put(
        self, name: str, pair: KeyPair, *, created: dt.datetime, order_time: dt.datetime | None, source: bytes
    ) -> None:
        fingerprint = pair.fingerprint
        when = order_time or pair.not_before
        with self._lock:
            old = self._by_name.get(name)
            if old is not None and old.fingerprint == fingerprint:
                if (old.pair.certificate, old.order_time, old.created) == (pair.certificate, when, created):
                    # The same key seen again (e.g. a generated key's own Secret): no change, no retry storm.
                    self._by_name[name] = dataclasses.replace(old, source=source)
                    return
                sequence = old.sequence
            else:
                self._sequence += 1
                sequence = self._sequence
            self._by_name[name] = _Held(pair, fingerprint, when, created, sequence, source)
            self._forget_unheld()
            self._generation += 1

    def remove_secret(self, name: str) -> None:
        """Forget the key held under ``name`` (kept if another Secret holds the same key)."""
        with self._lock:
            if self._by_name.pop(name, None) is not None:
                self._forget_unheld()
                self._generation += 1

    def _forget_unheld(self) -> None:
        held = {entry.fingerprint for entry in self._by_name.values()}
        for fingerprint in [f for f in self._successes if f not in held]:
            del self._successes[fingerprint]

    def _newest_first(self) -> list[_Held]:
        """One entry per public key (its newest registration), newest first. Call with the lock held."""
        best: dict[Fingerprint, _Held] = {}
        for entry in sorted(self._by_name.values(), key=_Held.newest_first):
            best.setdefault(entry.fingerprint, entry)
        return list(best.values())

    def active(self) -> KeyPair | None:
        """The key new SealedSecrets are sealed with, or None when no key is held."""
        with self._lock:
            entries = self._newest_first()
        return entries[0].pair if entries else None

    def active_order_time(self) -> dt.datetime | None:
        """The active key's ordering time (NotBefore or Secret creation), what renewal and cutoff compare."""
        with self._lock:
            entries = self._newest_first()
        return entries[0].order_time if entries else None

    def fingerprints(self) -> list[Fingerprint]:
        """Every key held, newest first."""
        with self._lock:
            return [entry.fingerprint for entry in self._newest_first()]

    def ordered_keys(self, hint: Fingerprint | None = None) -> list[tuple[Fingerprint, PrivateKey]]:
        """Every private key, the most likely to open a value first: ``hint``, then past successes, then newest."""
        with self._lock:
            entries = self._newest_first()
            rank = {entry.fingerprint: position for position, entry in enumerate(entries)}
            successes = dict(self._successes)
        entries.sort(key=lambda e: (e.fingerprint != hint, -successes.get(e.fingerprint, 0), rank[e.fingerprint]))
        return [(entry.fingerprint, entry.pair.private_key) for entry in entries]

    def record_success(self, fingerprint: Fingerprint) -> None:
        """Note that ``fingerprint`` opened a SealedSecret (orders keys; not a change of the key set)."""
        with self._lock:
            if any(entry.fingerprint == fingerprint for entry in self._by_name.values()):
                self._successes[fingerprint] = self._successes.get(fingerprint, 0) + 1

    def __len__(self) -> int:
        with self._lock:
            return len({entry.fingerprint for entry in self._by_name.values()})

    def generation(self) -> int:
        """A counter bumped by every change of the keys held, so callers can retry what no key could open."""
        with self._lock:
            return self._generation


def _source_digest(secret: Mapping[str, Any]) -> bytes:
    """A digest of what a key Secret's entry depends on (a digest, so no second copy of the key is kept)."""
    data = secret.get("data")
    data = data if isinstance(data, Mapping) else {}
    created = (secret.get("metadata") or {}).get("creationTimestamp")
    parts = [str(data.get("tls.key")), str(data.get("tls.crt")), str(created)]
    return hashlib.sha256("\0".join(parts).encode()).digest()


def _timestamp(value: object) -> dt.datetime | None:
    """A Kubernetes timestamp (``2026-11-22T12:00:00Z``), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def needs_new_key(registry: KeyRegistry, *, now: dt.datetime, cutoff: dt.datetime | None) -> bool:
    """At start: whether to make a key because none is held or the active one predates ``--key-cutoff-time``.

    Upstream's rule, which needs no clock (``now`` is part of the signature so
    callers pass one time to every decision): a cutoff still in the future
    therefore makes a key at every start until it has passed.
    """
    del now
    newest = registry.active_order_time()
    if newest is None:
        return True
    return cutoff is not None and newest < cutoff


def next_renewal(
    active_not_before: dt.datetime | None, *, now: dt.datetime, period: dt.timedelta
) -> dt.datetime | None:
    """When to add the next key: ``period`` after the active key, not before ``now``; None when ``period`` is 0."""
    if period <= dt.timedelta(0):
        return None
    if active_not_before is None:
        return now
    return max(now, active_not_before + period)
