"""ESO's documented example manifests (tests/fixtures/eso) apply unchanged and sync through the real controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.integration.external.stack import Stack

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
