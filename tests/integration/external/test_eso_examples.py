"""ESO's documented example manifests (tests/fixtures/eso) apply unchanged and sync through the real controller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.integration.external.stack import Stack, b64
from tests.support.motoserver import ACCESS_KEY, SECRET_KEY, MotoServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "eso"


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d]


def test_vault_example_syncs_from_openbao(stack: Stack) -> None:
    ns = stack.namespace("eso-vault")
    stack.bao.kv_put("foo", {"my-value": "s3cr3t"})  # `vault kv put secret/foo my-value=s3cr3t`, as the docs say
    stack.bao.kv_metadata("foo", {"dev": "jane"})
    for doc in _docs("vault-backend.yaml") + _docs("vault-example.yaml"):
        stack.apply(ns, doc)
    stack.wait_ready(ns, "vault-example", reason="SecretSynced")
    data = stack.secret_data(ns, "example-sync")
    assert data is not None
    assert data["foobar"] == b"s3cr3t"  # the docs: "foobar: czNjcjN0"
    assert data["developer"] == b"jane"
    assert b'"dev":"jane"' in data["tags"]
    store = stack.ready(ns, "vault-backend", resource="external-secrets.io/v1/secretstores")
    assert store is not None and (store["status"], store["reason"]) == ("True", "Valid")
    assert any(r.startswith("GET my.vault.server:8200/v1/secret/data/foo") for r in stack.proxy.requests)


def test_aws_secrets_manager_example_syncs_from_moto(stack: Stack, moto: MotoServer) -> None:
    ns = stack.namespace("eso-aws")
    sm = moto.client("secretsmanager")
    friends = {"name": {"first": "Tom", "last": "Anderson"}, "friends": [{"first": "Dale"}, {"first": "Roger"}]}
    sm.create_secret(Name="friendslist", SecretString=json.dumps(friends))
    sm.create_secret(Name="database-credentials", SecretString="{}", Tags=[{"Key": "dev", "Value": "jane"}])
    stack.apply(
        ns,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "awssm-secret"},
            "data": {"access-key": b64(ACCESS_KEY), "secret-access-key": b64(SECRET_KEY)},
        },
    )
    for doc in _docs("aws-sm-store.yaml") + _docs("aws-sm-external-secret.yaml"):
        stack.apply(ns, doc)
    stack.wait_ready(ns, "example", reason="SecretSynced")
    data = stack.secret_data(ns, "friends")
    assert data == {"my_name": b"Tom", "first_friend": b"Roger", "tags": b'{"dev":"jane"}', "developer": b"jane"}
    secret = stack.secret(ns, "friends")
    assert secret is not None and secret["metadata"]["ownerReferences"][0]["kind"] == "ExternalSecret"


def test_aws_parameter_store_example_store_syncs_from_moto(stack: Stack, moto: MotoServer) -> None:
    ns = stack.namespace("eso-ssm")
    moto.client("ssm").put_parameter(Name="friendslist", Type="String", Value='{"name": {"first": "Tom"}}')
    stack.apply(
        ns,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "awssm-secret"},
            "data": {"access-key": b64(ACCESS_KEY), "secret-access-key": b64(SECRET_KEY)},
        },
    )
    (store,) = _docs("aws-parameter-store.yaml")
    stack.apply(ns, store)
    # The documented ExternalSecret for Parameter Store is abridged ("omitted for brevity"): complete it minimally.
    stack.external_secret(
        ns,
        "extract-data",
        {
            "secretStoreRef": {"name": "parameterstore", "kind": "SecretStore"},
            "target": {"name": "parameters"},
            "data": [{"secretKey": "my_name", "remoteRef": {"key": "friendslist", "property": "name.first"}}],
        },
    )
    stack.wait_data(ns, "parameters", {"my_name": b"Tom"})
