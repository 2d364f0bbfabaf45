"""The controller's key registry: key Secrets in, the active key and the order of trial decryption out."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from typing import Any

import pytest

from gitsecure.controller.keyregistry import (
    KEY_LABEL,
    KeyRegistry,
    MalformedKeySecret,
    key_pair_from_secret,
    key_secret_manifest,
    needs_new_key,
    next_renewal,
)
from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import (
    KeyPair,
    dump_certificate,
    dump_private_key,
    generate_key_pair,
    load_private_key,
    self_signed_certificate,
)
from tests.conftest import KUBESEAL, NOW

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def pairs() -> list[KeyPair]:
    """Three 2048-bit keys made 30, 20 and 10 days before NOW: oldest first."""
    return [generate_key_pair(now=NOW - dt.timedelta(days=days), key_size=2048) for days in (30, 20, 10)]


def _fp(pair: KeyPair | None) -> str | None:
    return pair.fingerprint if pair is not None else None


def key_secret(
    name: str,
    pair: KeyPair | None = None,
    *,
    key_pem: bytes | None = None,
    cert_pem: bytes | None = None,
    created: dt.datetime = NOW,
) -> dict[str, Any]:
    """A key Secret as the API server returns it (the controller's format)."""
    key_pem = key_pem if key_pem is not None else dump_private_key(pair.private_key) if pair else b""
    cert_pem = cert_pem if cert_pem is not None else dump_certificate(pair.certificate) if pair else b""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": {KEY_LABEL: "active"},
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "type": "kubernetes.io/tls",
        "data": {"tls.key": base64.b64encode(key_pem).decode(), "tls.crt": base64.b64encode(cert_pem).decode()},
    }


def test_upstream_key_secret_loads_and_opens_upstream_vectors(vectors: list[dict[str, Any]]) -> None:
    secret = key_secret(
        "sealed-secrets-keyabcde",
        key_pem=(KUBESEAL / "tls.key").read_bytes(),
        cert_pem=(KUBESEAL / "tls.crt").read_bytes(),
    )
    registry = KeyRegistry()
    registry.sync_secret(secret)
    assert len(registry) == 1
    pair = registry.active()
    assert pair is not None and pair.not_before == dt.datetime(2026, 11, 22, 2, 1, 41, tzinfo=dt.UTC)
    [(fingerprint, key)] = registry.ordered_keys()
    assert fingerprint == pair.fingerprint and fingerprint.startswith("SHA256:")
    case = vectors[0]
    label = f"{case['namespace']}/{case['name']}".encode() if case["scope"] == "strict" else b""
    plaintext = hybrid.unseal([key], base64.b64decode(case["ciphertext_b64"]), label=label)
    assert plaintext == base64.b64decode(case["plaintext_b64"])


def test_pkcs8_key_is_accepted(pairs: list[KeyPair]) -> None:
    pkcs8 = dump_private_key(pairs[0].private_key, fmt="pkcs8")
    assert pkcs8.startswith(b"-----BEGIN PRIVATE KEY-----")
    pair = key_pair_from_secret(key_secret("k", pairs[0], key_pem=pkcs8))
    assert pair.fingerprint == pairs[0].fingerprint


def test_matching_certificate_is_picked_from_a_chain(pairs: list[KeyPair]) -> None:
    chain = dump_certificate(pairs[1].certificate) + dump_certificate(pairs[0].certificate)
    pair = key_pair_from_secret(key_secret("k", pairs[0], cert_pem=chain))
    assert pair.certificate == pairs[0].certificate


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: s.pop("data"), "has no data"),
        (lambda s: s["data"].pop("tls.key"), "has no tls.key"),
        (lambda s: s["data"].pop("tls.crt"), "has no tls.crt"),
        (lambda s: s["data"].update({"tls.key": "not base64!"}), "tls.key is not valid base64"),
        (lambda s: s["data"].update({"tls.key": base64.b64encode(b"garbage").decode()}), "tls.key: cannot parse"),
        (lambda s: s["data"].update({"tls.crt": base64.b64encode(b"garbage").decode()}), "holds no PEM certificate"),
    ],
)
def test_malformed_key_secrets_are_reported_without_key_bytes(pairs: list[KeyPair], mutate: Any, reason: str) -> None:
    secret = key_secret("sealed-secrets-keybad", pairs[0])
    key_base64 = secret["data"]["tls.key"]
    mutate(secret)
    with pytest.raises(MalformedKeySecret) as caught:
        key_pair_from_secret(secret)
    assert caught.value.reference == "bad-key-secret"
    assert reason in caught.value.message and "kube-system/sealed-secrets-keybad" in caught.value.message
    assert "PRIVATE KEY-----" not in str(caught.value) and key_base64[40:80] not in str(caught.value)


def test_key_without_its_certificate_is_malformed_not_given_a_new_one(pairs: list[KeyPair]) -> None:
    secret = key_secret("k", pairs[0], cert_pem=dump_certificate(pairs[1].certificate))
    with pytest.raises(MalformedKeySecret, match="tls.crt is not the certificate of tls.key"):
        key_pair_from_secret(secret)


def test_malformed_secret_is_skipped_with_a_warning_and_drops_its_old_key(
    pairs: list[KeyPair], caplog: pytest.LogCaptureFixture
) -> None:
    registry = KeyRegistry()
    registry.sync_secret(key_secret("a", pairs[0]))
    registry.sync_secret(key_secret("b", pairs[1]))
    broken = key_secret(
        "b", pairs[1], key_pem=b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
    )
    with caplog.at_level(logging.WARNING, logger="gitsecure.controller.keys"):
        registry.sync_secret(broken)
    assert registry.fingerprints() == [pairs[0].fingerprint]
    assert "kube-system/b" in caplog.text and "not used" in caplog.text
    assert "AAAA" not in caplog.text


def test_active_is_the_newest_by_not_before_and_fingerprints_newest_first(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    assert registry.active() is None and len(registry) == 0 and registry.ordered_keys() == []
    for name, pair in zip("bca", (pairs[1], pairs[2], pairs[0]), strict=True):
        registry.sync_secret(key_secret(name, pair))
    assert _fp(registry.active()) == pairs[2].fingerprint
    assert registry.active_order_time() == pairs[2].not_before
    assert registry.fingerprints() == [p.fingerprint for p in reversed(pairs)]


def test_secret_creation_timestamp_priority(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry(order_priority="SecretCreationTimestamp")
    # The oldest certificate sits in the most recently created Secret (e.g. a restored backup).
    registry.sync_secret(key_secret("old-cert", pairs[0], created=NOW))
    registry.sync_secret(key_secret("new-cert", pairs[2], created=NOW - DAY))
    assert _fp(registry.active()) == pairs[0].fingerprint
    assert registry.active_order_time() == NOW
    by_cert = KeyRegistry()
    by_cert.sync_secret(key_secret("old-cert", pairs[0], created=NOW))
    by_cert.sync_secret(key_secret("new-cert", pairs[2], created=NOW - DAY))
    assert _fp(by_cert.active()) == pairs[2].fingerprint
    with pytest.raises(ValueError, match="Bogus"):
        KeyRegistry(order_priority="Bogus")


def test_ties_go_to_the_older_secret_then_the_first_registered(pairs: list[KeyPair]) -> None:
    same_time = [KeyPair(p.private_key, self_signed_certificate(p.private_key, now=NOW, ttl=DAY)) for p in pairs[:2]]
    registry = KeyRegistry()
    registry.sync_secret(key_secret("young", same_time[0], created=NOW))
    registry.sync_secret(key_secret("elder", same_time[1], created=NOW - DAY))
    assert _fp(registry.active()) == same_time[1].fingerprint
    registry = KeyRegistry()
    registry.sync_secret(key_secret("first", same_time[0]))
    registry.sync_secret(key_secret("second", same_time[1]))
    assert _fp(registry.active()) == same_time[0].fingerprint


def test_same_key_under_two_names_is_held_once(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    registry.sync_secret(key_secret("sealed-secrets-key", pairs[0]))  # the legacy name
    registry.sync_secret(key_secret("backup-copy", pairs[0]))
    assert len(registry) == 1 and len(registry.ordered_keys()) == 1
    registry.remove_secret("backup-copy")
    assert registry.fingerprints() == [pairs[0].fingerprint]
    registry.remove_secret("sealed-secrets-key")
    assert len(registry) == 0 and registry.active() is None


def test_a_secret_changing_its_key_replaces_it(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    registry.sync_secret(key_secret("k", pairs[0]))
    registry.sync_secret(key_secret("k", pairs[1]))
    assert registry.fingerprints() == [pairs[1].fingerprint]
    # Same key, renewed certificate: the new certificate is served.
    renewed = KeyPair(pairs[1].private_key, self_signed_certificate(pairs[1].private_key, now=NOW, ttl=DAY))
    before = registry.generation()
    registry.sync_secret(key_secret("k", renewed))
    active = registry.active()
    assert active is not None and active.certificate == renewed.certificate and registry.generation() > before


def test_generation_bumps_on_every_change_and_only_then(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    seen = [registry.generation()]

    def changed() -> bool:
        seen.append(registry.generation())
        return seen[-1] != seen[-2]

    registry.sync_secret(key_secret("a", pairs[0]))
    assert changed()
    registry.sync_secret(key_secret("a", pairs[0]))  # a relist: same key, same Secret
    assert not changed()
    relabelled = key_secret("a", pairs[0])
    relabelled["metadata"]["labels"]["team"] = "x"
    registry.sync_secret(relabelled)
    assert not changed()
    registry.sync_secret(key_secret("a", pairs[0], created=NOW + DAY))  # same key, other ordering facts
    assert changed()
    registry.add_generated(pairs[1], secret_name="b")
    assert changed()
    registry.record_success(pairs[0].fingerprint)
    assert not changed()
    registry.remove_secret("nothing-here")
    assert not changed()
    registry.remove_secret("b")
    assert changed()
    registry.sync_secret(key_secret("a", pairs[0], key_pem=b"broken"))
    assert changed() and len(registry) == 0


def test_ordered_keys_hint_then_successes_then_newest(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    for index, pair in enumerate(pairs):
        registry.sync_secret(key_secret(f"k{index}", pair))
    oldest, middle, newest = (p.fingerprint for p in pairs)

    def order(hint: Any = None) -> list[str]:
        return [fingerprint for fingerprint, _ in registry.ordered_keys(hint)]

    assert order() == [newest, middle, oldest]
    assert order(oldest) == [oldest, newest, middle]
    registry.record_success(oldest)
    registry.record_success(oldest)
    registry.record_success(middle)
    assert order() == [oldest, middle, newest]
    assert order(newest) == [newest, oldest, middle]
    assert order("SHA256:not-held") == [oldest, middle, newest]
    private = dict(registry.ordered_keys())
    assert private[newest].private_numbers() == pairs[2].private_key.private_numbers()
    registry.record_success("SHA256:not-held")  # type: ignore[arg-type]
    assert order() == [oldest, middle, newest]


def test_success_counts_go_with_the_key(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    registry.sync_secret(key_secret("a", pairs[0]))
    registry.sync_secret(key_secret("b", pairs[2]))
    registry.record_success(pairs[0].fingerprint)
    registry.remove_secret("a")
    registry.sync_secret(key_secret("a", pairs[0]))
    assert [f for f, _ in registry.ordered_keys()] == [pairs[2].fingerprint, pairs[0].fingerprint]


def test_generated_key_is_active_and_its_secret_manifest_round_trips(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    registry.sync_secret(key_secret("old", pairs[0]))
    fresh = pairs[2]
    manifest = key_secret_manifest(
        fresh,
        namespace="kube-system",
        prefix="sealed-secrets-key",
        labels={"team": "platform", KEY_LABEL: "inactive"},
        annotations={"backup/owner": "ops"},
    )
    assert manifest["metadata"] == {
        "generateName": "sealed-secrets-key",
        "namespace": "kube-system",
        "labels": {"team": "platform", KEY_LABEL: "active"},
        "annotations": {"backup/owner": "ops"},
    }
    assert manifest["type"] == "kubernetes.io/tls" and manifest["kind"] == "Secret"
    assert base64.b64decode(manifest["data"]["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert load_private_key(base64.b64decode(manifest["data"]["tls.key"])).key_size == 2048
    assert key_pair_from_secret(manifest).fingerprint == fresh.fingerprint
    registry.add_generated(fresh, secret_name="sealed-secrets-keyxyz12")
    assert _fp(registry.active()) == fresh.fingerprint
    # The watcher then sees the created Secret: still one key, still active.
    manifest["metadata"]["name"] = "sealed-secrets-keyxyz12"
    registry.sync_secret(manifest)
    assert len(registry) == 2 and _fp(registry.active()) == fresh.fingerprint
    bare = key_secret_manifest(fresh, namespace="ns", prefix="p", labels={}, annotations={})
    assert "annotations" not in bare["metadata"]


def test_needs_new_key(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    assert needs_new_key(registry, now=NOW, cutoff=None)
    registry.sync_secret(key_secret("k", pairs[2]))  # made 10 days ago
    assert not needs_new_key(registry, now=NOW, cutoff=None)
    assert not needs_new_key(registry, now=NOW, cutoff=NOW - dt.timedelta(days=11))
    assert needs_new_key(registry, now=NOW, cutoff=NOW - dt.timedelta(days=9))
    # Upstream's rule: a cutoff in the future makes a key at every start until it passes.
    assert needs_new_key(registry, now=NOW, cutoff=NOW + DAY)


def test_next_renewal() -> None:
    period = dt.timedelta(hours=720)
    assert next_renewal(NOW - DAY, now=NOW, period=dt.timedelta(0)) is None
    assert next_renewal(NOW - DAY, now=NOW, period=period) == NOW - DAY + period
    assert next_renewal(NOW - dt.timedelta(days=45), now=NOW, period=period) == NOW  # overdue: at once
    assert next_renewal(None, now=NOW, period=period) == NOW
    assert next_renewal(NOW, now=NOW, period=period) == NOW + period


def test_concurrent_readers_and_writers(pairs: list[KeyPair]) -> None:
    registry = KeyRegistry()
    secrets = [key_secret(f"k{i}", pair) for i, pair in enumerate(pairs)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        for _ in range(20):
            for secret in secrets:
                registry.sync_secret(secret)
            registry.remove_secret("k1")

    def read() -> None:
        try:
            while not stop.is_set():
                keys = registry.ordered_keys(pairs[0].fingerprint)
                assert len({f for f, _ in keys}) == len(keys) <= 3
                if keys:
                    registry.record_success(keys[-1][0])
                registry.active()
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    write()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert registry.fingerprints() == [pairs[2].fingerprint, pairs[0].fingerprint]
