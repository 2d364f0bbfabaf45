"""Input Secrets and kubeseal's preparation rules."""

from __future__ import annotations

import pytest

from gitsecure.errors import InputError
from gitsecure.seal.manifest import load_objects
from gitsecure.seal.scope import CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope
from gitsecure.seal.secret import Secret, parse_secret, prepare_for_sealing


def secret_from(text: str) -> Secret:
    parsed = parse_secret(load_objects(text)[0], index=1)
    assert parsed is not None
    return parsed


def prepare(secret: Secret, **overrides: object) -> Secret:
    options: dict[str, object] = {
        "name": None,
        "scope": None,
        "namespace_flag": None,
        "default_namespace": lambda: "from-kubeconfig",
        "allow_empty_data": False,
    }
    options.update(overrides)
    return prepare_for_sealing(secret, **options)  # type: ignore[arg-type]


BASIC = """
apiVersion: v1
kind: Secret
metadata:
  name: app
  namespace: team
  uid: 1234
  resourceVersion: "9"
  creationTimestamp: null
  labels: {a: b}
data:
  k: dmFsdWU=
  both: ZnJvbS1kYXRh
stringData:
  both: from-stringData
"""


def test_data_is_decoded_and_string_data_wins() -> None:
    secret = secret_from(BASIC)
    assert secret.items == {"k": b"value", "both": b"from-stringData"}
    assert secret.metadata["labels"] == {"a": "b"}


def test_server_side_fields_are_stripped() -> None:
    prepared = prepare(secret_from(BASIC))
    assert "uid" not in prepared.metadata and "resourceVersion" not in prepared.metadata
    assert prepared.namespace == "team"


def test_not_a_secret_and_wrong_api_version_are_refused() -> None:
    with pytest.raises(InputError, match="is a ConfigMap, not a Secret"):
        secret_from("kind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n")
    with pytest.raises(InputError, match="apiVersion v2"):
        secret_from("apiVersion: v2\nkind: Secret\nmetadata: {name: x}\n")


def test_non_string_values_are_refused() -> None:
    with pytest.raises(InputError, match="must be a string"):
        secret_from("kind: Secret\nmetadata: {name: x}\nstringData: {port: 5432}\n")


def test_empty_document_is_skipped() -> None:
    assert parse_secret({}, index=1) is None


def test_empty_data_needs_the_flag() -> None:
    secret = secret_from("kind: Secret\nmetadata: {name: x, namespace: y}\n")
    with pytest.raises(InputError, match="secret.data is empty in input Secret"):
        prepare(secret)
    assert prepare(secret, allow_empty_data=True).items == {}


def test_name_override_and_missing_name() -> None:
    secret = secret_from("kind: Secret\nmetadata: {namespace: y}\nstringData: {a: b}\n")
    with pytest.raises(InputError, match="missing metadata.name in input Secret"):
        prepare(secret)
    assert prepare(secret, name="given").name == "given"


def test_scope_flag_replaces_scope_annotations() -> None:
    secret = secret_from(
        f"kind: Secret\nmetadata: {{name: x, namespace: y, annotations: {{'{CLUSTER_WIDE_ANNOTATION}': 'true'}}}}\n"
        "stringData: {a: b}\n"
    )
    assert secret.scope is Scope.CLUSTER_WIDE
    prepared = prepare(secret, scope=Scope.NAMESPACE_WIDE)
    assert prepared.annotations == {NAMESPACE_WIDE_ANNOTATION: "true"}
    assert prepared.scope is Scope.NAMESPACE_WIDE
    # --scope strict leaves annotations on the input alone, as kubeseal does.
    assert prepare(secret, scope=Scope.STRICT).scope is Scope.CLUSTER_WIDE


def test_namespace_rules() -> None:
    no_ns = secret_from("kind: Secret\nmetadata: {name: x}\nstringData: {a: b}\n")
    assert prepare(no_ns).namespace == "from-kubeconfig"
    assert prepare(no_ns, namespace_flag="flag").namespace == "flag"
    # Cluster-wide Secrets keep whatever namespace they have, possibly none.
    assert prepare(no_ns, scope=Scope.CLUSTER_WIDE).namespace == ""
    with pytest.raises(InputError, match="secret must declare a namespace"):
        prepare(no_ns, namespace_flag="")
    in_ns = secret_from("kind: Secret\nmetadata: {name: x, namespace: a}\nstringData: {a: b}\n")
    with pytest.raises(InputError, match='namespace mismatch: input secret is in namespace "a" but "b" was specified'):
        prepare(in_ns, namespace_flag="b")
    assert prepare(in_ns, namespace_flag="a").namespace == "a"
