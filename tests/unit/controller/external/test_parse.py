"""parse.py: ExternalSecrets and stores from API dicts, with the rules ESO's admission webhook enforces."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitsecure.controller.external.model import StoreRef
from gitsecure.controller.external.parse import (
    InvalidExternalSecret,
    InvalidStore,
    namespace_allowed,
    parse_external_secret,
    parse_store,
)

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "eso"


def _es(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "x"}, "spec": spec}


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d]


def test_eso_documented_examples_parse() -> None:
    (vault_es,) = _docs("vault-example.yaml")
    spec = parse_external_secret(vault_es)
    assert spec.store_ref == StoreRef("vault-backend", "SecretStore")
    assert spec.refresh_interval == dt.timedelta(seconds=15)
    assert [d.secret_key for d in spec.data] == ["foobar", "tags", "developer"]
    assert spec.data[0].remote_ref.property == "my-value"
    assert spec.data[2].remote_ref.metadata_policy == "Fetch"
    assert spec.target.name == "example-sync"
    assert spec.target.creation_policy == "Owner"
    assert spec.target.deletion_policy == "Retain"

    store = parse_store(_docs("vault-backend.yaml")[0])
    assert (store.kind, store.name, store.provider_name) == ("SecretStore", "vault-backend", "vault")
    assert store.provider["auth"]["tokenSecretRef"] == {"name": "vault-token", "key": "token"}

    aws = parse_store(_docs("aws-sm-store.yaml")[0])
    assert aws.provider_name == "aws"
    assert aws.provider["service"] == "SecretsManager"
    assert parse_external_secret(_docs("aws-sm-external-secret.yaml")[0]).refresh_interval == dt.timedelta(hours=1)


def test_defaults_are_applied_in_code() -> None:
    spec = parse_external_secret(
        _es({"secretStoreRef": {"name": "s"}, "data": [{"secretKey": "k", "remoteRef": {"key": "a"}}]})
    )
    assert spec.refresh_interval == dt.timedelta(hours=1)
    assert spec.refresh_policy == "Periodic"
    ref = spec.data[0].remote_ref
    assert (ref.conversion_strategy, ref.decoding_strategy, ref.metadata_policy) == ("Default", "None", "None")
    assert spec.target.name == ""


def test_zero_refresh_interval_means_sync_once() -> None:
    spec = parse_external_secret(
        _es({"secretStoreRef": {"name": "s"}, "refreshInterval": "0", "dataFrom": [{"extract": {"key": "a"}}]})
    )
    assert spec.refresh_interval == dt.timedelta(0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"secretStoreRef": {"name": "s"}}, "either data or dataFrom should be specified"),
        (
            {
                "secretStoreRef": {"name": "s"},
                "dataFrom": [{"extract": {"key": "a"}}],
                "target": {"creationPolicy": "Merge", "deletionPolicy": "Delete"},
            },
            "deletionPolicy=Delete must not be used when creationPolicy=Merge",
        ),
        (
            {
                "secretStoreRef": {"name": "s"},
                "dataFrom": [{"extract": {"key": "a"}}],
                "target": {"creationPolicy": "None", "deletionPolicy": "Merge"},
            },
            "deletionPolicy=Merge must not be used with creationPolicy=None",
        ),
        (
            {
                "secretStoreRef": {"name": "s"},
                "dataFrom": [{"extract": {"key": "a"}, "find": {"name": {"regexp": "x"}}}],
            },
            "spec.dataFrom[0] must have exactly one of extract, find or sourceRef.generatorRef",
        ),
        (
            {
                "secretStoreRef": {"name": "s"},
                "data": [{"secretKey": "k", "remoteRef": {"key": "a"}}, {"secretKey": "k", "remoteRef": {"key": "b"}}],
            },
            "duplicate secretKey k (deletionPolicy=Retain)",
        ),
        ({"secretStoreRef": {"name": "s"}, "data": [{"secretKey": "bad key", "remoteRef": {"key": "a"}}]}, "secretKey"),
        (
            {"secretStoreRef": {"name": "s"}, "data": [{"secretKey": "k", "remoteRef": {}}]},
            "spec.data[0].remoteRef.key is required",
        ),
        (
            {"secretStoreRef": {"name": "s"}, "refreshInterval": "1d", "dataFrom": [{"extract": {"key": "a"}}]},
            "unknown unit",
        ),
        ({"secretStoreRef": {"name": "s", "kind": "Vault"}, "dataFrom": [{"extract": {"key": "a"}}]}, "kind must be"),
        (
            {"secretStoreRef": {"name": "s"}, "dataFrom": [{"extract": {"key": "a", "decodingStrategy": "Hex"}}]},
            "unsupported value 'Hex'",
        ),
        (
            {"secretStoreRef": {"name": "s"}, "dataFrom": [{"find": {"name": {"regexp": "("}}}]},
            "not a valid regular expression",
        ),
        ({"dataFrom": [{"extract": {"key": "a"}}]}, "spec.secretStoreRef is required"),
        (
            {
                "secretStoreRef": {"name": "s"},
                "dataFrom": [{"extract": {"key": "a"}}],
                "target": {"template": {"type": "bootstrap.kubernetes.io/token"}},
            },
            "not allowed",
        ),
    ],
)
def test_webhook_rules(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidExternalSecret) as caught:
        parse_external_secret(_es(spec))
    assert message in caught.value.message


def test_duplicate_keys_are_fine_unless_retain() -> None:
    data = [{"secretKey": "k", "remoteRef": {"key": "a"}}, {"secretKey": "k", "remoteRef": {"key": "b"}}]
    spec = parse_external_secret(
        _es({"secretStoreRef": {"name": "s"}, "data": data, "target": {"deletionPolicy": "Merge"}})
    )
    assert len(spec.data) == 2


def _store(kind: str = "ClusterSecretStore", **spec: Any) -> dict[str, Any]:
    body = {"provider": {"vault": {"server": "http://v:8200"}}, **spec}
    return {"apiVersion": "external-secrets.io/v1", "kind": kind, "metadata": {"name": "s", "uid": "u1"}, "spec": body}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"provider": {}}, "exactly one provider, found 0"),
        ({"provider": {"vault": {}, "aws": {}}}, "exactly one provider, found 2"),
        ({"provider": {"gcpsm": {}}}, "provider 'gcpsm' is not supported"),
        ({"retrySettings": {"maxRetries": -1}}, "maxRetries"),
        ({"refreshInterval": "soon"}, "spec.refreshInterval"),
        ({"conditions": [{"namespaceRegexes": ["("]}]}, "namespaceRegexes"),
    ],
)
def test_invalid_stores(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidStore) as caught:
        parse_store(_store(**spec))
    assert message in caught.value.message


def test_store_refresh_interval_accepts_legacy_seconds() -> None:
    assert parse_store(_store(refreshInterval=90)).refresh_interval == dt.timedelta(seconds=90)
    assert parse_store(_store(refreshInterval="2m")).refresh_interval == dt.timedelta(minutes=2)
    assert parse_store(_store(refreshInterval=0)).refresh_interval is None


@pytest.mark.parametrize(
    ("conditions", "namespace", "labels", "allowed"),
    [
        ([], "any", {}, True),
        ([{"namespaces": ["team-a"]}], "team-a", {}, True),
        ([{"namespaces": ["team-a"]}], "team-b", {}, False),
        ([{"namespaceRegexes": ["^team-"]}], "team-b", {}, True),
        ([{"namespaceRegexes": ["team"]}], "my-team-x", {}, True),  # unanchored, like Go's MatchString
        ([{"namespaceRegexes": ["^team-"]}], "prod", {}, False),
        ([{"namespaceSelector": {"matchLabels": {"env": "prod"}}}], "p", {"env": "prod"}, True),
        ([{"namespaceSelector": {"matchLabels": {"env": "prod"}}}], "p", {"env": "dev"}, False),
        (
            [{"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]}}],
            "p",
            {"env": "b"},
            True,
        ),
        (
            [{"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["b"]}]}}],
            "p",
            {"env": "b"},
            False,
        ),
        ([{"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "Exists"}]}}], "p", {}, False),
        (
            [{"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "Bogus"}]}}],
            "p",
            {"env": "x"},
            False,
        ),
        ([{"namespaces": ["x"]}, {"namespaceRegexes": ["^p$"]}], "p", {}, True),  # conditions are OR'ed
    ],
)
def test_namespace_conditions(
    conditions: list[dict[str, Any]], namespace: str, labels: dict[str, str], allowed: bool
) -> None:
    store = parse_store(_store(conditions=conditions))
    assert namespace_allowed(store, namespace, labels) is allowed
