"""The kubeseal envelope: upstream vectors, the reference algorithm, and opaque failures."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import KeyPair

LABELS = {"strict": lambda ns, n: f"{ns}/{n}".encode(), "namespace-wide": lambda ns, n: ns.encode()}


def label_of(case: dict[str, Any]) -> bytes:
    return LABELS.get(case["scope"], lambda ns, n: b"")(case["namespace"], case["name"])


def reference_open(private_key: Any, ciphertext: bytes, label: bytes) -> bytes:
    """HybridDecrypt as upstream's pkg/crypto does it, written from the format description."""
    size = int.from_bytes(ciphertext[:2], "big")
    session_key = private_key.decrypt(
        ciphertext[2 : 2 + size],
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None),
    )
    return AESGCM(session_key).decrypt(b"\0" * 12, ciphertext[2 + size :], None)


def test_every_upstream_vector_decrypts(vectors: list[dict[str, Any]], reference_key: Any) -> None:
    assert len(vectors) == 6
    for case in vectors:
        plaintext = hybrid.unseal([reference_key], base64.b64decode(case["ciphertext_b64"]), label=label_of(case))
        assert plaintext == base64.b64decode(case["plaintext_b64"]), case["key"]


def test_upstream_vector_refuses_another_scope_label(vectors: list[dict[str, Any]], reference_key: Any) -> None:
    case = next(c for c in vectors if c["scope"] == "strict")
    ciphertext = base64.b64decode(case["ciphertext_b64"])
    for wrong in (b"", case["namespace"].encode(), f"{case['namespace']}/other".encode()):
        with pytest.raises(hybrid.DecryptionError, match="^no key could decrypt secret$"):
            hybrid.unseal([reference_key], ciphertext, label=wrong)


@pytest.mark.parametrize("label", [b"team-a/db", b"team-a", b""], ids=["strict", "namespace-wide", "cluster-wide"])
def test_sealed_value_opens_with_the_reference_algorithm(reference_key: Any, label: bytes) -> None:
    plaintext = b"s3cr3t-\x00\xff-value"
    ciphertext = hybrid.seal(reference_key.public_key(), plaintext, label=label)
    assert reference_open(reference_key, ciphertext, label) == plaintext
    # Layout: 2-byte prefix, a 512-byte RSA block for a 4096-bit key, then ciphertext plus 16-byte tag.
    assert ciphertext[:2] == b"\x02\x00"
    assert len(ciphertext) == 2 + 512 + len(plaintext) + 16


def test_every_value_gets_a_fresh_session_key(small_pair: KeyPair) -> None:
    public = small_pair.private_key.public_key()
    first, second = (hybrid.seal(public, b"same", label=b"ns/n") for _ in range(2))
    assert first != second
    assert first[2 + 256 :] != second[2 + 256 :]


def test_trial_decryption_over_several_keys(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ciphertext = hybrid.seal(other_pair.private_key.public_key(), b"v", label=b"l")
    assert hybrid.unseal([small_pair.private_key, other_pair.private_key], ciphertext, label=b"l") == b"v"
    with pytest.raises(hybrid.DecryptionError):
        hybrid.unseal([small_pair.private_key], ciphertext, label=b"l")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: b"",
        lambda c: c[:1],
        lambda c: c[:100],
        lambda c: c[:-1],
        lambda c: c[:-1] + bytes([c[-1] ^ 1]),
        lambda c: c[:10] + bytes([c[10] ^ 1]) + c[11:],
        lambda c: b"\xff\xff" + c[2:],
        lambda c: c + b"x",
    ],
    ids=["empty", "one-byte", "short", "truncated-tag", "flipped-tag", "flipped-rsa", "bad-length", "trailing"],
)
def test_every_failure_is_the_same_opaque_error(small_pair: KeyPair, mangle: Any) -> None:
    ciphertext = hybrid.seal(small_pair.private_key.public_key(), b"value", label=b"ns/name")
    with pytest.raises(hybrid.DecryptionError) as info:
        hybrid.unseal([small_pair.private_key], mangle(ciphertext), label=b"ns/name")
    assert info.value.message == "no key could decrypt secret"
    # Nothing of the underlying failure (padding, tag, length) leaks through chaining either.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


@settings(max_examples=40, deadline=None)
@given(
    plaintext=st.binary(max_size=2048),
    namespace=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    name=st.from_regex(r"[a-z0-9]([-.a-z0-9]{0,30}[a-z0-9])?", fullmatch=True),
    scope=st.sampled_from(["strict", "namespace-wide", "cluster-wide"]),
)
def test_round_trip_over_scopes_names_and_binary_values(
    small_pair: KeyPair, plaintext: bytes, namespace: str, name: str, scope: str
) -> None:
    label = LABELS.get(scope, lambda ns, n: b"")(namespace, name)
    ciphertext = hybrid.seal(small_pair.private_key.public_key(), plaintext, label=label)
    assert hybrid.unseal([small_pair.private_key], ciphertext, label=label) == plaintext
    assert reference_open(small_pair.private_key, ciphertext, label) == plaintext


def test_unseal_ordered_reports_which_key_opened(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ciphertext = hybrid.seal(other_pair.private_key.public_key(), b"v", label=b"l")
    keys = [small_pair.private_key, other_pair.private_key]
    assert hybrid.unseal_ordered(keys, ciphertext, label=b"l") == (b"v", 1)
    assert hybrid.unseal_ordered(keys[::-1], ciphertext, label=b"l") == (b"v", 0)
    for wrong in ([], [small_pair.private_key]):
        with pytest.raises(hybrid.DecryptionError, match="^no key could decrypt secret$"):
            hybrid.unseal_ordered(wrong, ciphertext, label=b"l")
    with pytest.raises(hybrid.DecryptionError):
        hybrid.unseal_ordered(keys, ciphertext, label=b"other")


def test_every_private_key_attempt_is_counted(small_pair: KeyPair, other_pair: KeyPair, reference_key: Any) -> None:
    ciphertext = hybrid.seal(other_pair.private_key.public_key(), b"v", label=b"l")
    before = hybrid.private_operations()
    hybrid.unseal([small_pair.private_key, other_pair.private_key], ciphertext, label=b"l")
    assert hybrid.private_operations() - before == 2  # the failed attempt costs as much as the good one
    before = hybrid.private_operations()
    hybrid.unseal_ordered([other_pair.private_key, small_pair.private_key], ciphertext, label=b"l")
    assert hybrid.private_operations() - before == 1  # stops at the first key that opens it
    before = hybrid.private_operations()
    with pytest.raises(hybrid.DecryptionError):
        hybrid.unseal([small_pair.private_key, other_pair.private_key], ciphertext, label=b"wrong")
    assert hybrid.private_operations() - before == 2
    # A 4096-bit key cannot hold a 256-byte RSA block: skipped without an RSA operation.
    before = hybrid.private_operations()
    hybrid.unseal_ordered([reference_key, other_pair.private_key], ciphertext, label=b"l")
    assert hybrid.private_operations() - before == 1
    before = hybrid.private_operations()
    with pytest.raises(hybrid.DecryptionError):
        hybrid.unseal([other_pair.private_key], ciphertext[:1], label=b"l")
    assert hybrid.private_operations() == before


def test_the_count_is_exact_across_threads(small_pair: KeyPair, other_pair: KeyPair) -> None:
    ciphertext = hybrid.seal(other_pair.private_key.public_key(), b"v", label=b"l")
    keys = [small_pair.private_key, other_pair.private_key]
    before = hybrid.private_operations()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: hybrid.unseal_ordered(keys, ciphertext, label=b"l"), range(40)))
    assert results == [(b"v", 1)] * 40
    assert hybrid.private_operations() - before == 80
