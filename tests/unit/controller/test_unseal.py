"""The controller's unseal step: the Secret it builds, its key order, and what its errors never say."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.controller.unseal import NO_KEY_HINT, UnsealFailed, build_secret
from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import Fingerprint, KeyPair, generate_key_pair
from gitsecure.seal import sealedsecret
from gitsecure.seal.modes import SealSettings, seal_secrets
from gitsecure.seal.scope import CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope
from gitsecure.seal.secret import Secret

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
PLAINTEXT = b"hunter2-secret"
UID = "0f7a2c3e-1111-4222-8333-944455556666"
OWNER = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "name": "db", "uid": UID, "controller": True}
SKIP_OWNER = {sealedsecret.SKIP_OWNER_REFERENCES_ANNOTATION: "true"}


@pytest.fixture(scope="module")
def pairs() -> list[KeyPair]:
    """Three 2048-bit keys, oldest first (a year apart), made once for the module."""
    return [generate_key_pair(now=NOW - dt.timedelta(days=365 * (2 - i)), key_size=2048) for i in range(3)]


class Registry(KeyRegistry):
    """The controller's key registry holding ``pairs``, also remembering every ``record_success`` call."""

    def __init__(self, pairs: list[KeyPair]) -> None:
        super().__init__()
        self.successes: list[Fingerprint] = []
        for index, pair in enumerate(pairs):
            self.add_generated(pair, secret_name=f"sealed-secrets-key{index}")

    def record_success(self, fingerprint: Fingerprint) -> None:
        self.successes.append(fingerprint)
        super().record_success(fingerprint)


def seal(pair: KeyPair, items: dict[str, bytes], **meta: Any) -> dict[str, Any]:
    """A SealedSecret as it comes back from the API server (uid, generation, ...)."""
    secret = Secret({"name": "db", "namespace": "shop", **meta}, items, "Opaque", None)
    sealed = sealedsecret.build(secret, pair.private_key.public_key())
    sealed["metadata"].update(uid=UID, generation=1, resourceVersion="7", creationTimestamp="2026-11-22T12:00:00Z")
    return sealed


def decoded(secret: dict[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


@pytest.fixture
def ops() -> Callable[[], int]:
    """How many RSA private-key operations ran since the test started."""
    start = hybrid.private_operations()
    return lambda: hybrid.private_operations() - start


def test_builds_the_secret_with_owner_reference_and_template_metadata(pairs: list[KeyPair]) -> None:
    sealed = seal(pairs[0], {"password": PLAINTEXT, "blob": b"\x00\xff"}, labels={"app": "shop"})
    sealed["spec"]["template"]["immutable"] = True
    registry = Registry(pairs)
    secret = build_secret(sealed, registry, accept_deprecated_v1_data=False)
    assert secret == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": "db",
            "namespace": "shop",
            "labels": {"app": "shop"},
            "ownerReferences": [
                {
                    "apiVersion": "bitnami.com/v1alpha1",
                    "kind": "SealedSecret",
                    "name": "db",
                    "uid": UID,
                    "controller": True,
                }
            ],
        },
        "immutable": True,
        "data": {"blob": "AP8=", "password": base64.b64encode(PLAINTEXT).decode()},
        "type": "Opaque",
    }
    assert registry.successes == [pairs[0].fingerprint]


def test_skip_set_owner_references_and_template_data(pairs: list[KeyPair]) -> None:
    sealed = seal(
        pairs[2], {"password": PLAINTEXT}, annotations={sealedsecret.SKIP_OWNER_REFERENCES_ANNOTATION: "true"}
    )
    sealed["spec"]["template"]["data"] = {"dsn": 'postgres://app:{{ index . "password" }}@db', "password": "override"}
    secret = build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=False)
    assert "ownerReferences" not in secret["metadata"]
    assert decoded(secret) == {"dsn": b"postgres://app:" + PLAINTEXT + b"@db", "password": b"override"}


def test_template_data_alone_needs_no_key_and_records_nothing(pairs: list[KeyPair]) -> None:
    sealed = seal(pairs[0], {})
    sealed["spec"]["template"]["data"] = {"plain": "{{ 1 }}"}
    registry = Registry([])
    assert decoded(build_secret(sealed, registry, accept_deprecated_v1_data=False)) == {"plain": b"1"}
    assert registry.successes == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.dictionaries(st.from_regex(r"[-._a-zA-Z0-9]{1,20}", fullmatch=True), st.binary(max_size=64), max_size=5),
    scope=st.sampled_from(list(Scope)),
    name=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    namespace=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True),
    labels=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.text(max_size=8), max_size=3),
    annotations=st.dictionaries(st.from_regex(r"example\.com/[a-z]{1,8}", fullmatch=True), st.text(), max_size=3),
    secret_type=st.sampled_from([None, "Opaque", "kubernetes.io/basic-auth", "example.com/custom"]),
    immutable=st.sampled_from([None, True, False]),
    key_index=st.integers(0, 2),
)
def test_any_secret_sealed_by_gitsecure_comes_back_exactly(
    pairs: list[KeyPair],
    items: dict[str, bytes],
    scope: Scope,
    name: str,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    secret_type: str | None,
    immutable: bool | None,
    key_index: int,
) -> None:
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
        "data": {k: base64.b64encode(v).decode() for k, v in items.items()},
    }
    if secret_type:
        manifest["type"] = secret_type
    if immutable is not None:
        manifest["immutable"] = immutable
    [sealed] = seal_secrets(
        json.dumps(manifest),
        pairs[key_index].private_key.public_key(),
        SealSettings(scope=scope, allow_empty_data=True),
        default_namespace=lambda: "default",
    )
    sealed["metadata"]["uid"] = UID
    registry = Registry(pairs)
    secret = build_secret(sealed, registry, accept_deprecated_v1_data=False)
    assert decoded(secret) == items
    assert secret["metadata"]["name"] == name
    assert secret["metadata"]["namespace"] == namespace
    assert secret["metadata"].get("labels", {}) == labels
    expected_annotations = {**annotations, **({scope.annotation: "true"} if scope.annotation else {})}
    assert secret["metadata"].get("annotations", {}) == expected_annotations
    assert secret.get("type") == secret_type
    assert secret.get("immutable") == immutable
    assert secret["metadata"]["ownerReferences"][0]["uid"] == UID
    assert registry.successes == ([pairs[key_index].fingerprint] if items else [])


def test_the_key_that_opened_the_first_item_goes_first(pairs: list[KeyPair], ops: Callable[[], int]) -> None:
    items = {f"item{i}": PLAINTEXT for i in range(5)}
    sealed = seal(pairs[0], items)  # the oldest key: tried last by default
    registry = Registry(pairs)
    assert decoded(build_secret(sealed, registry, accept_deprecated_v1_data=False)) == items
    assert ops() <= 3 + 4  # three tries for the first item, then one per item
    assert registry.successes == [pairs[0].fingerprint]  # once per SealedSecret, not per item


def test_a_hint_costs_one_operation_per_item(pairs: list[KeyPair], ops: Callable[[], int]) -> None:
    sealed = seal(pairs[0], {f"item{i}": PLAINTEXT for i in range(5)})
    build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=False, hint=pairs[0].fingerprint)
    assert ops() == 5


def test_past_successes_make_the_next_secret_cheap(pairs: list[KeyPair], ops: Callable[[], int]) -> None:
    registry = Registry(pairs)
    build_secret(seal(pairs[0], {"a": b"1"}), registry, accept_deprecated_v1_data=False)
    first = ops()
    build_secret(seal(pairs[0], {f"item{i}": PLAINTEXT for i in range(5)}), registry, accept_deprecated_v1_data=False)
    assert ops() - first == 5


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["metadata"].update(name="renamed"),
        lambda s: s["metadata"].update(namespace="elsewhere"),
        lambda s: s["metadata"].update(annotations={NAMESPACE_WIDE_ANNOTATION: "true"}),
        lambda s: s["metadata"].update(annotations={CLUSTER_WIDE_ANNOTATION: "true"}),
    ],
    ids=["renamed", "moved", "namespace-wide", "cluster-wide"],
)
def test_a_renamed_or_rescoped_secret_fails_clearly(pairs: list[KeyPair], change: Any) -> None:
    sealed = seal(pairs[1], {"password": PLAINTEXT, "token": PLAINTEXT})
    change(sealed)
    registry = Registry(pairs)
    with pytest.raises(UnsealFailed) as info:
        build_secret(sealed, registry, accept_deprecated_v1_data=False)
    assert info.value.message == f"no key could decrypt secret (password, token). {NO_KEY_HINT}"
    assert "another name, namespace or scope" in info.value.message
    assert info.value.reference == "unseal-failed"
    assert registry.successes == []


def test_all_or_nothing_with_one_corrupt_item(pairs: list[KeyPair]) -> None:
    sealed = seal(pairs[1], {"good": PLAINTEXT, "bad": PLAINTEXT})
    raw = bytearray(base64.b64decode(sealed["spec"]["encryptedData"]["bad"]))
    raw[-1] ^= 1
    sealed["spec"]["encryptedData"]["bad"] = base64.b64encode(bytes(raw)).decode()
    registry = Registry(pairs)
    with pytest.raises(UnsealFailed, match=r"^no key could decrypt secret \(bad\)\. The SealedSecret may") as info:
        build_secret(sealed, registry, accept_deprecated_v1_data=False)
    assert PLAINTEXT.decode() not in str(info.value)
    assert registry.successes == []


def test_other_failures_carry_no_key_hint(pairs: list[KeyPair]) -> None:
    sealed = seal(pairs[1], {"password": PLAINTEXT})
    sealed["spec"]["encryptedData"]["junk"] = "%%%"
    with pytest.raises(UnsealFailed) as info:
        build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=False)
    assert info.value.message == "illegal base64 data (junk)"
    with pytest.raises(
        UnsealFailed, match=r"^no key could decrypt secret \(password\)\. This controller holds no keys"
    ):
        build_secret(seal(pairs[1], {"password": PLAINTEXT}), Registry([]), accept_deprecated_v1_data=False)
    with pytest.raises(UnsealFailed, match="is not a SealedSecret"):
        build_secret({**sealed, "kind": "Secret"}, Registry(pairs), accept_deprecated_v1_data=False)


def test_deprecated_v1_data_follows_the_flag(pairs: list[KeyPair]) -> None:
    sealed = seal(pairs[2], {})
    inner = json.dumps({"data": {"password": base64.b64encode(PLAINTEXT).decode()}}).encode()
    blob = hybrid.seal(pairs[2].private_key.public_key(), inner, label=b"shop/db")
    sealed["spec"]["data"] = base64.b64encode(blob).decode()
    with pytest.raises(UnsealFailed, match="using deprecated 'data' field"):
        build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=False)
    registry = Registry(pairs)
    assert decoded(build_secret(sealed, registry, accept_deprecated_v1_data=True)) == {"password": PLAINTEXT}
    assert registry.successes == [pairs[2].fingerprint]
    sealed["metadata"]["name"] = "renamed"
    with pytest.raises(UnsealFailed, match=r"^no key could decrypt secret\. The SealedSecret may"):
        build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=True)


@pytest.mark.parametrize(
    "template",
    [
        "{{ fail .password }}",
        '{{ fail (printf "%s!" .password) }}',
        "{{ .password | toJson | fail }}",
        "{{ .password | b64enc | fail }}",
        "{{ .password.field }}",
        '{{ index .password "k" }}',
        "{{ eq .password 1 }}",
        "{{ lt .password 1 }}",
        "{{ slice .password 1 99 }}",
        "{{ len .password | fail }}",
        "{{ repeat -1 .password }}",
        '{{ template "x" .password }}',
        "{{ .password ",
        "{{ range .password }}{{ . }}{{ end }}",
        "{{ .password | fromJson | fail }}",
        "{{ div (len .password) 0 }}",
        "{{ call .password }}",
    ],
)
def test_template_errors_never_echo_decrypted_values(pairs: list[KeyPair], template: str) -> None:
    sealed = seal(pairs[0], {"password": PLAINTEXT})
    sealed["spec"]["template"]["data"] = {"out": template}
    with pytest.raises(UnsealFailed) as info:
        build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=False)
    message = str(info.value)
    assert "(out)" in message
    for fragment in ("hunter2", "secret!", base64.b64encode(PLAINTEXT).decode()[:8]):
        assert fragment not in message, message
    assert NO_KEY_HINT not in message


def test_the_input_object_is_not_modified(pairs: list[KeyPair]) -> None:
    sealed = seal(pairs[0], {"password": PLAINTEXT})
    before = copy.deepcopy(sealed)
    build_secret(sealed, Registry(pairs), accept_deprecated_v1_data=False)
    assert sealed == before
