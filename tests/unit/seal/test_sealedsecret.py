"""Building, reading, opening and merging SealedSecrets."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import KeyPair
from gitsecure.errors import InputError
from gitsecure.seal import sealedsecret
from gitsecure.seal.scope import CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope
from gitsecure.seal.secret import Secret


def make_secret(**meta: Any) -> Secret:
    metadata = {"name": "db", "namespace": "shop", **meta}
    return Secret(metadata, {"password": b"hunter2", "blob": b"\x00\xff"}, "Opaque", None)


def test_build_has_kubeseal_shape(small_pair: KeyPair) -> None:
    secret = make_secret(
        labels={"app": "shop"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{...hunter2...}", "keep": "me"},
        ownerReferences=[{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u"}],
    )
    sealed = sealedsecret.build(secret, small_pair.private_key.public_key())
    assert list(sealed) == ["kind", "apiVersion", "metadata", "spec"]
    assert sealed["metadata"] == {"name": "db", "namespace": "shop"}
    assert list(sealed["spec"]) == ["template", "encryptedData"]
    template = sealed["spec"]["template"]
    assert template["metadata"] == {
        "name": "db",
        "namespace": "shop",
        "labels": {"app": "shop"},
        "annotations": {"keep": "me"},
    }
    assert template["type"] == "Opaque"
    assert list(sealed["spec"]["encryptedData"]) == ["blob", "password"]
    assert "hunter2" not in repr(sealed)


@pytest.mark.parametrize(
    ("scope_annotation", "scope"),
    [
        (None, Scope.STRICT),
        (NAMESPACE_WIDE_ANNOTATION, Scope.NAMESPACE_WIDE),
        (CLUSTER_WIDE_ANNOTATION, Scope.CLUSTER_WIDE),
    ],
)
def test_scope_annotation_sits_in_both_places(small_pair: KeyPair, scope_annotation: str | None, scope: Scope) -> None:
    annotations = {scope_annotation: "true"} if scope_annotation else {}
    sealed = sealedsecret.build(make_secret(annotations=annotations), small_pair.private_key.public_key())
    assert sealed["metadata"].get("annotations", {}) == annotations
    assert sealed["spec"]["template"]["metadata"].get("annotations", {}) == annotations


def test_unseal_round_trip_and_owner_reference(small_pair: KeyPair) -> None:
    sealed = sealedsecret.build(make_secret(labels={"a": "b"}), small_pair.private_key.public_key())
    sealed["metadata"]["uid"] = "uid-1"
    secret = sealedsecret.unseal(sealed, [small_pair.private_key])
    assert list(secret) == ["kind", "apiVersion", "metadata", "data", "type"]
    assert secret["data"] == {"blob": "AP8=", "password": base64.b64encode(b"hunter2").decode()}
    assert secret["metadata"]["labels"] == {"a": "b"}
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "name": "db", "uid": "uid-1", "controller": True}
    ]


def test_skip_owner_references(small_pair: KeyPair) -> None:
    secret = make_secret(annotations={"sealedsecrets.bitnami.com/skip-set-owner-references": "true"})
    sealed = sealedsecret.build(secret, small_pair.private_key.public_key())
    assert "ownerReferences" not in sealedsecret.unseal(sealed, [small_pair.private_key])["metadata"]


def test_renamed_or_moved_strict_secret_does_not_open(small_pair: KeyPair) -> None:
    sealed = sealedsecret.build(make_secret(), small_pair.private_key.public_key())
    for field, value in (("name", "db-copy"), ("namespace", "other")):
        moved = copy.deepcopy(sealed)
        moved["metadata"][field] = value
        with pytest.raises(InputError) as info:
            sealedsecret.unseal(moved, [small_pair.private_key])
        assert info.value.message == "no key could decrypt secret (blob, password)"


def test_scope_is_read_from_top_level_metadata_only(small_pair: KeyPair) -> None:
    sealed = sealedsecret.build(
        make_secret(annotations={CLUSTER_WIDE_ANNOTATION: "true"}), small_pair.private_key.public_key()
    )
    sealed["metadata"]["name"] = "anything"
    sealed["metadata"]["namespace"] = "anywhere"
    assert sealedsecret.unseal(sealed, [small_pair.private_key])["metadata"]["namespace"] == "anywhere"
    del sealed["metadata"]["annotations"]  # template still says cluster-wide; top level now says strict
    with pytest.raises(InputError, match="no key could decrypt"):
        sealedsecret.unseal(sealed, [small_pair.private_key])


def test_one_bad_item_fails_the_whole_unseal(small_pair: KeyPair, other_pair: KeyPair) -> None:
    sealed = sealedsecret.build(make_secret(), small_pair.private_key.public_key())
    foreign = sealedsecret.build(make_secret(), other_pair.private_key.public_key())
    sealed["spec"]["encryptedData"]["blob"] = foreign["spec"]["encryptedData"]["blob"]
    sealed["spec"]["encryptedData"]["junk"] = "%%%"
    with pytest.raises(InputError) as info:
        sealedsecret.unseal(sealed, [small_pair.private_key])
    assert info.value.message == "no key could decrypt secret (blob); illegal base64 data (junk)"


def test_unseal_with_a_custom_opener_sees_each_value_and_the_label(small_pair: KeyPair) -> None:
    sealed = sealedsecret.build(make_secret(), small_pair.private_key.public_key())
    seen: list[bytes] = []

    def opener(ciphertext: bytes, label: bytes) -> bytes:
        seen.append(label)
        return hybrid.unseal([small_pair.private_key], ciphertext, label=label)

    secret = sealedsecret.unseal_with(sealed, opener)
    assert secret == sealedsecret.unseal(sealed, [small_pair.private_key])
    assert seen == [b"shop/db", b"shop/db"]


def test_unseal_error_says_whether_a_key_was_missing(small_pair: KeyPair, other_pair: KeyPair) -> None:
    sealed = sealedsecret.build(make_secret(), small_pair.private_key.public_key())
    with pytest.raises(sealedsecret.UnsealError) as info:
        sealedsecret.unseal(sealed, [other_pair.private_key])
    assert info.value.no_key
    assert info.value.reference == "unseal-failed"
    sealed["spec"]["template"]["data"] = {"broken": "{{ .password "}
    with pytest.raises(sealedsecret.UnsealError) as info:
        sealedsecret.unseal(sealed, [small_pair.private_key])
    assert not info.value.no_key
    assert info.value.message == "template: broken:1: unclosed action (broken)"


def test_legacy_data_field(small_pair: KeyPair) -> None:
    sealed = sealedsecret.build(make_secret(), small_pair.private_key.public_key())
    sealed["spec"]["data"] = "AAAA"
    with pytest.raises(InputError, match="cannot use the field 'encryptedData' and the deprecated field 'data'"):
        sealedsecret.unseal(sealed, [small_pair.private_key])
    sealed["spec"]["encryptedData"] = {}
    with pytest.raises(InputError, match="using deprecated 'data' field"):
        sealedsecret.unseal(sealed, [small_pair.private_key])


def test_parse_refuses_other_objects() -> None:
    with pytest.raises(InputError, match="is not a SealedSecret"):
        sealedsecret.parse({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    with pytest.raises(InputError, match="no metadata.name"):
        sealedsecret.parse({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {}})


def test_merge_adds_and_replaces_items_and_merges_metadata(small_pair: KeyPair) -> None:
    public = small_pair.private_key.public_key()
    target = sealedsecret.build(make_secret(labels={"a": "1"}), public)
    target["spec"]["template"]["metadata"].pop("annotations", None)
    addition = sealedsecret.build(
        Secret({"name": "db", "namespace": "shop", "annotations": {"x": "y"}}, {"password": b"new", "extra": b"e"}),
        public,
    )
    merged = sealedsecret.merge(target, addition)
    assert list(merged["spec"]["encryptedData"]) == ["blob", "extra", "password"]
    assert merged["spec"]["template"]["metadata"]["annotations"] == {"x": "y"}
    assert merged["spec"]["template"]["metadata"]["labels"] == {"a": "1"}
    assert base64.b64decode(sealedsecret.unseal(merged, [small_pair.private_key])["data"]["password"]) == b"new"
    assert "extra" not in target["spec"]["encryptedData"]  # the input object is left untouched


@settings(max_examples=25, deadline=None)
@given(
    items=st.dictionaries(st.from_regex(r"[-._a-zA-Z0-9]{1,20}", fullmatch=True), st.binary(max_size=300), max_size=4),
    name=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True),
    namespace=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    scope=st.sampled_from(list(Scope)),
)
def test_build_then_unseal_round_trip(
    small_pair: KeyPair, items: dict[str, bytes], name: str, namespace: str, scope: Scope
) -> None:
    annotations = {scope.annotation: "true"} if scope.annotation else {}
    secret = Secret({"name": name, "namespace": namespace, "annotations": annotations}, items)
    sealed = sealedsecret.build(secret, small_pair.private_key.public_key())
    opened = sealedsecret.unseal(sealed, [small_pair.private_key])
    assert {k: base64.b64decode(v) for k, v in opened.get("data", {}).items()} == items


@pytest.mark.parametrize(
    "spec_and_meta",
    [
        ({"encryptedData": {}}, {"name": "a", "annotations": "x"}),
        ({"encryptedData": {1: "AAAA"}}, {"name": "a"}),
        ({"encryptedData": {}, "template": {"data": {None: "x"}}}, {"name": "a"}),
        ({"encryptedData": None, "template": {"metadata": {"labels": ["x"]}}}, {"name": "a"}),
    ],
)
def test_malformed_sealed_secrets_found_by_fuzzing_are_input_errors(
    small_pair: KeyPair, spec_and_meta: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    spec, meta = spec_and_meta
    obj = {"apiVersion": sealedsecret.API_VERSION, "kind": sealedsecret.KIND, "metadata": meta, "spec": spec}
    with pytest.raises(InputError):
        sealedsecret.unseal(obj, [small_pair.private_key])


def test_hostile_legacy_blob_fails_like_a_wrong_key(small_pair: KeyPair) -> None:
    from gitsecure.crypto import hybrid

    blob = hybrid.seal(small_pair.private_key.public_key(), b"[" * 5000 + b"]" * 5000, label=b"shop/db")
    obj = {
        "apiVersion": sealedsecret.API_VERSION,
        "kind": sealedsecret.KIND,
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {"data": base64.b64encode(blob).decode()},
    }
    with pytest.raises(InputError, match="no key could decrypt"):
        sealedsecret.unseal(obj, [small_pair.private_key], accept_deprecated_v1_data=True)


def test_reseal_moves_to_the_new_key_and_keeps_the_scope(small_pair: KeyPair, other_pair: KeyPair) -> None:
    secret = make_secret(annotations={NAMESPACE_WIDE_ANNOTATION: "true"}, labels={"app": "shop"})
    sealed = sealedsecret.build(secret, small_pair.private_key.public_key())
    sealed["metadata"]["uid"] = "server-side"
    resealed = sealedsecret.reseal(sealed, [small_pair.private_key], other_pair.private_key.public_key())
    with pytest.raises(InputError):
        sealedsecret.unseal(resealed, [small_pair.private_key])
    opened = sealedsecret.unseal(resealed, [other_pair.private_key])
    assert base64.b64decode(opened["data"]["password"]) == b"hunter2"
    assert resealed["metadata"]["annotations"] == {NAMESPACE_WIDE_ANNOTATION: "true"}
    assert "uid" not in resealed["spec"]["template"]["metadata"]
    # As upstream's rotate: the template metadata is replaced by the top-level one (labels not carried).
    assert "labels" not in resealed["spec"]["template"]["metadata"]
    with pytest.raises(InputError, match="no key could decrypt"):
        sealedsecret.reseal(sealed, [other_pair.private_key], other_pair.private_key.public_key())
