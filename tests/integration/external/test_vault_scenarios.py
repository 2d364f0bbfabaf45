"""The issue's scenarios against the real controller process and OpenBao: rotation, outages, deletion, denial,
malformed JSON, ClusterSecretStore conditions, missing credentials, and no plaintext anywhere it could leak."""

from __future__ import annotations

import secrets
import time
import urllib.request
from typing import Any

import pytest

from tests.integration.external.stack import CLUSTER_STORES, GROUP, VERSION, Stack, b64
from tests.support.kube.cluster import wait_for


def _data(key: str, prop: str, secret_key: str = "value") -> dict[str, Any]:
    return {"secretKey": secret_key, "remoteRef": {"key": key, "property": prop}}


def _spec(data: list[dict[str, Any]], *, interval: str = "1h", store: str = "vault", **target: Any) -> dict[str, Any]:
    return {
        "refreshInterval": interval,
        "secretStoreRef": {"name": store, "kind": "SecretStore"},
        "target": {"name": "synced", **target},
        "data": data,
    }


def _setup(stack: Stack, stem: str) -> tuple[str, str]:
    ns = stack.namespace(stem)
    stack.token_secret(ns)
    stack.vault_store(ns)
    return ns, f"{stem}-{secrets.token_hex(3)}"


def test_rotation_is_picked_up_on_the_next_refresh(stack: Stack) -> None:
    ns, path = _setup(stack, "rotate")
    stack.bao.kv_put(path, {"password": "first"})
    stack.external_secret(ns, "db", _spec([_data(path, "password")], interval="1s"))
    stack.wait_data(ns, "synced", {"value": b"first"})
    stack.bao.kv_put(path, {"password": "second"})
    stack.wait_data(ns, "synced", {"value": b"second"})
    # The Event follows the write: wait for it rather than race it.
    updated = wait_for(
        lambda: [e for e in stack.events(ns) if e.get("reason") == "Updated"], timeout=10, message="Updated"
    )
    assert updated[0]["source"]["component"] == "external-secrets"


def test_unchanged_data_is_never_rewritten(stack: Stack) -> None:
    ns, path = _setup(stack, "steady")
    stack.bao.kv_put(path, {"password": "same"})
    stack.external_secret(ns, "db", _spec([_data(path, "password")], interval="1s"))
    stack.wait_data(ns, "synced", {"value": b"same"})
    stack.wait_ready(ns, "db", reason="SecretSynced")  # the status follows the Secret write
    version = stack.secret(ns, "synced")["metadata"]["resourceVersion"]  # type: ignore[index]
    refreshed = stack.es(ns, "db")["status"]["refreshTime"]  # type: ignore[index]
    wait_for(lambda: stack.es(ns, "db")["status"]["refreshTime"] != refreshed, timeout=10, message="a refresh")  # type: ignore[index]
    assert stack.secret(ns, "synced")["metadata"]["resourceVersion"] == version  # type: ignore[index]


def test_force_sync_annotation_refreshes_at_once(stack: Stack) -> None:
    ns, path = _setup(stack, "force")
    stack.bao.kv_put(path, {"password": "v1"})
    stack.external_secret(ns, "db", _spec([_data(path, "password")], interval="1h"))
    stack.wait_data(ns, "synced", {"value": b"v1"})
    stack.bao.kv_put(path, {"password": "v2"})
    stack.patch_es(ns, "db", {"metadata": {"annotations": {"force-sync": str(time.time())}}})
    stack.wait_data(ns, "synced", {"value": b"v2"})


def test_provider_down_then_back(stack: Stack) -> None:
    ns, path = _setup(stack, "outage")
    stack.bao.kv_put(path, {"password": "before"})
    stack.external_secret(ns, "db", _spec([_data(path, "password")], interval="1s"))
    stack.wait_data(ns, "synced", {"value": b"before"})
    stack.bao.stop()
    try:
        condition = stack.wait_ready(ns, "db", status="False", reason="SecretSyncedError", contains="cannot reach")
        assert stack.bao.url in condition["message"] or "not ready" in condition["message"]
        assert stack.secret_data(ns, "synced") == {"value": b"before"}  # an outage never empties the Secret
    finally:
        stack.bao.start()  # the dev server restarts empty: write the secret again, rotated
    stack.bao.kv_put(path, {"password": "after"})
    stack.wait_data(ns, "synced", {"value": b"after"})
    stack.wait_ready(ns, "db", reason="SecretSynced")


@pytest.mark.parametrize("policy", ["Retain", "Delete", "Merge"])
def test_remote_secret_deleted_under_each_deletion_policy(stack: Stack, policy: str) -> None:
    ns, path = _setup(stack, f"gone-{policy.lower()}")
    stack.bao.kv_put(path, {"password": "p", "user": "u"})
    other = path + "-other"
    stack.bao.kv_put(other, {"token": "t"})
    spec = _spec(
        [_data(path, "password", "password"), _data(other, "token", "token")],
        interval="1s",
        deletionPolicy=policy,
        creationPolicy="Owner",
    )
    stack.external_secret(ns, "db", spec)
    stack.wait_data(ns, "synced", {"password": b"p", "token": b"t"})
    stack.bao.kv_delete(path)
    if policy == "Retain":
        condition = stack.wait_ready(ns, "db", status="False", reason="SecretSyncedError", contains="does not exist")
        assert path in condition["message"]
        assert stack.secret_data(ns, "synced") == {"password": b"p", "token": b"t"}
        return
    if policy == "Merge":
        stack.wait_data(ns, "synced", {"token": b"t"})  # the missing source's key goes, the Secret stays
    else:
        stack.wait_data(ns, "synced", {"token": b"t"})
        stack.bao.kv_delete(other)
        wait_for(lambda: stack.secret(ns, "synced") is None, timeout=30, message="the Secret deleted")
        stack.wait_ready(ns, "db", reason="SecretDeleted")
    assert any(e.get("reason") == "MissingProviderSecret" for e in stack.events(ns))


def test_permission_denied_names_the_path(stack: Stack) -> None:
    ns = stack.namespace("denied")
    stack.bao.policy("only-elsewhere", 'path "secret/data/elsewhere" { capabilities = ["read"] }')
    stack.token_secret(ns, token=stack.bao.token(["only-elsewhere"]))
    stack.vault_store(ns)
    stack.bao.kv_put("app-denied", {"password": "nope"})
    stack.external_secret(ns, "db", _spec([_data("app-denied", "password")]))
    # The flood gate may report the store as not validated yet first: wait for the provider's own answer.
    condition = stack.wait_ready(ns, "db", status="False", reason="SecretSyncedError", contains="permission denied")
    assert "vault: permission denied reading secret/data/app-denied" in condition["message"]
    assert stack.secret(ns, "synced") is None


def test_malformed_json_under_property_extraction(stack: Stack) -> None:
    ns, path = _setup(stack, "malformed")
    stack.bao.kv_put(path, {"config": "{not json at all"})
    stack.external_secret(ns, "db", _spec([_data(path, "config.user")]))
    condition = stack.wait_ready(ns, "db", status="False", reason="SecretSyncedError", contains="does not exist")
    assert f"key config.user does not exist in secret {path}" in condition["message"]
    assert "not json at all" not in str(stack.es(ns, "db"))


def test_cluster_store_namespace_condition(stack: Stack) -> None:
    allowed = stack.namespace("team-allowed")
    denied = stack.namespace("other-denied")
    store = f"css-{secrets.token_hex(3)}"
    stack.token_secret(allowed)
    provider = {
        "server": stack.bao.url,
        "path": "secret",
        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token", "namespace": allowed}},
    }
    stack.apply(
        None,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ClusterSecretStore",
            "metadata": {"name": store},
            "spec": {"provider": {"vault": provider}, "conditions": [{"namespaceRegexes": ["^team-"]}]},
        },
    )
    stack.bao.kv_put("shared", {"v": "1"})
    for ns in (allowed, denied):
        spec = _spec([_data("shared", "v")])
        spec["secretStoreRef"] = {"name": store, "kind": "ClusterSecretStore"}
        stack.external_secret(ns, "es", spec)
    stack.wait_data(allowed, "synced", {"value": b"1"})
    condition = stack.wait_ready(denied, "es", status="False", reason="SecretSyncedError", contains="spec.condition")
    assert (
        f'using cluster store "{store}" is not allowed from namespace "{denied}": denied by spec.condition'
        in (condition["message"])
    )
    assert stack.secret(denied, "synced") is None
    assert stack.ready(allowed, store, resource=CLUSTER_STORES)["reason"] == "Valid"  # type: ignore[index]


def test_store_whose_credentials_secret_is_missing(stack: Stack) -> None:
    ns = stack.namespace("nocreds")
    stack.vault_store(ns, token_secret="never-created")
    stack.external_secret(ns, "db", _spec([_data("whatever", "v")]))

    def store_condition() -> dict[str, Any] | None:
        found = stack.ready(ns, "vault", resource=f"{GROUP}/{VERSION}/secretstores")
        return found if found and found["status"] == "False" else None

    condition = wait_for(store_condition, timeout=30, message="the store's Ready=False")
    assert condition["reason"] == "InvalidProviderConfig"
    assert f"cannot get Secret {ns}/never-created: not found" in condition["message"]
    es = stack.wait_ready(ns, "db", status="False", reason="SecretSyncedError")
    assert "not ready" in es["message"] or "never-created" in es["message"]
    # The Secret arrives later: the store recovers on its next validation and the ExternalSecret syncs.
    stack.token_secret(ns, name="never-created")
    stack.bao.kv_put("whatever", {"v": "late"})
    stack.wait_data(ns, "synced", {"value": b"late"})


def test_no_plaintext_in_logs_events_status_or_metrics(stack: Stack) -> None:
    ns, path = _setup(stack, "leak")
    value = "plaintext-" + secrets.token_hex(8)
    stack.bao.kv_put(path, {"password": value, "json": '{"inner": "' + value + '"}'})
    stack.external_secret(ns, "ok", _spec([_data(path, "password")]))
    stack.external_secret(ns, "bad", _spec([_data(path, "json.missing")], name="other"))
    stack.wait_data(ns, "synced", {"value": value.encode()})
    stack.wait_ready(ns, "ok", reason="SecretSynced")  # metrics are counted when the pass ends
    stack.wait_ready(ns, "bad", status="False", contains="does not exist")
    with urllib.request.urlopen(f"{stack.controller.metrics_url}/metrics", timeout=5) as reply:
        metrics = reply.read().decode()
    assert 'externalsecret_sync_calls_total{name="ok",namespace="' + ns + '"}' in metrics
    assert "externalsecret_provider_api_calls_count" in metrics
    for where in (
        stack.controller.log_text(),
        metrics,
        str(stack.events(ns)),
        str(stack.es(ns, "ok")),
        str(stack.es(ns, "bad")),
    ):
        assert value not in where
        assert b64(value) not in where


def test_es_deletion_with_delete_policy_removes_the_secret_and_the_finalizer(stack: Stack) -> None:
    ns, path = _setup(stack, "cleanup")
    stack.bao.kv_put(path, {"password": "p"})
    stack.external_secret(ns, "db", _spec([_data(path, "password")], deletionPolicy="Delete"))
    stack.wait_data(ns, "synced", {"value": b"p"})
    assert "externalsecrets.external-secrets.io/externalsecret-cleanup" in stack.es(ns, "db")["metadata"]["finalizers"]  # type: ignore[index]
    stack.delete_es(ns, "db")
    wait_for(lambda: stack.es(ns, "db") is None, timeout=30, message="the ExternalSecret gone")
    wait_for(lambda: stack.secret(ns, "synced") is None, timeout=30, message="the Secret gone")
