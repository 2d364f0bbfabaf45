"""ExternalSecret reconcile decisions (reference §3.3): sync, skip, refresh, drift, errors, status, metrics."""

from __future__ import annotations

import base64

from gitsecure.controller.external.model import CREATED_BY_LABEL, DATA_HASH_ANNOTATION, FINALIZER, MANAGED_LABEL
from gitsecure.controller.external.providers.base import ProviderError
from tests.unit.controller.external.world import NS, World, es_body, make_world, store_body


def data(world: World, name: str = "app-secret") -> dict[str, bytes]:
    secret = world.secret(name)
    assert secret is not None
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def test_first_sync_creates_the_secret_and_reports_ready(world: World) -> None:
    world.add_es(es_body())
    result = world.run()
    assert not result.failed and result.requeue_after is not None
    assert 3600 * 0.9 <= result.requeue_after <= 3600 * 1.1
    assert data(world) == {"password": b"p1"}
    secret = world.secret()
    assert secret is not None
    meta = secret["metadata"]
    es = world.es()
    assert meta["labels"][MANAGED_LABEL] == "true" and meta["labels"]["team"] == "a"
    assert len(meta["labels"][CREATED_BY_LABEL]) == 56
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "name": "app",
            "uid": es["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert DATA_HASH_ANNOTATION in meta["annotations"]
    assert FINALIZER in es["metadata"]["finalizers"]
    ready = world.ready()
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "SecretSynced", "secret synced")
    assert es["status"]["refreshTime"] == "2026-05-01T12:00:00Z"
    assert es["status"]["syncedResourceVersion"].startswith("1-")
    assert es["status"]["binding"] == {"name": "app-secret"}
    assert world.cluster.reasons() == ["Created"]


def test_created_by_label_is_esos_hash_of_namespace_and_name() -> None:
    world = make_world()
    world.add_store(store_body())
    world.provider.secrets["app"] = '{"password": "p1"}'
    body = es_body("my-es")
    world.add_es(body)
    world.reconciler.reconcile(NS, "my-es")
    secret = world.secret()
    assert secret is not None
    # reference §3.5: sha3-224 of "default/my-es"
    assert secret["metadata"]["labels"][CREATED_BY_LABEL] == "b8464376b5fe3535e690594280bfe59b60be2603cb6cbb6d6c8bcbb4"


def test_nothing_due_means_no_provider_call_no_write_no_event(world: World) -> None:
    world.add_es(es_body())
    world.run()
    calls, writes, events = world.provider.calls, len(world.cluster.calls), len(world.cluster.events)
    world.clock.advance(minutes=10)
    result = world.run()
    assert world.provider.calls == calls
    assert len(world.cluster.events) == events
    assert not {"create_secret", "replace_secret", "replace_object_status"} & set(world.cluster.calls[writes:])
    assert result.requeue_after is not None and 3000 * 0.8 < result.requeue_after < 3000 * 1.2


def test_due_refresh_with_unchanged_data_writes_no_secret(world: World) -> None:
    world.add_es(es_body())
    world.run()
    world.clock.advance(hours=1)
    before = len(world.cluster.calls)
    world.run()
    assert world.provider.calls == 2
    assert "replace_secret" not in world.cluster.calls[before:]
    assert world.cluster.reasons() == ["Created"]
    assert world.es()["status"]["refreshTime"] == "2026-05-01T13:00:00Z"


def test_a_rotated_value_is_written_on_the_next_refresh(world: World) -> None:
    world.add_es(es_body())
    world.run()
    world.provider.secrets["app"] = '{"password": "p2"}'
    world.clock.advance(minutes=30)
    world.run()
    assert data(world) == {"password": b"p1"}  # not due yet
    world.clock.advance(minutes=31)
    world.run()
    assert data(world) == {"password": b"p2"}
    assert world.cluster.reasons() == ["Created", "Updated"]


def test_an_edited_target_is_corrected_at_once(world: World) -> None:
    world.add_es(es_body())
    world.run()
    secret = world.secret()
    assert secret is not None
    secret["data"]["password"] = base64.b64encode(b"tampered").decode()
    world.clock.advance(minutes=1)
    world.run()
    assert data(world) == {"password": b"p1"}
    assert world.provider.calls == 2


def test_a_deleted_target_is_recreated(world: World) -> None:
    world.add_es(es_body())
    world.run()
    del world.cluster.objects[("secrets", NS, "app-secret")]
    world.run()
    assert data(world) == {"password": b"p1"}


def test_any_annotation_change_forces_a_sync(world: World) -> None:
    world.add_es(es_body())
    world.run()
    es = world.es()
    es["metadata"]["annotations"] = {"force-sync": "1700000000"}
    world.cluster.put("externalsecrets", es)
    world.clock.advance(minutes=1)
    world.run()
    assert world.provider.calls == 2


def test_created_once_never_refreshes_after_the_first_sync(world: World) -> None:
    world.add_es(es_body(refreshPolicy="CreatedOnce"))
    assert world.run().requeue_after is None
    world.clock.advance(hours=5)
    es = world.es()
    es["metadata"]["annotations"] = {"force-sync": "now"}
    world.cluster.put("externalsecrets", es)
    world.run()
    assert world.provider.calls == 1


def test_on_change_refreshes_on_changes_only(world: World) -> None:
    world.add_es(es_body(refreshPolicy="OnChange"))
    world.run()
    world.clock.advance(hours=5)
    world.run()
    assert world.provider.calls == 1
    world.edit_es(data=[{"secretKey": "user", "remoteRef": {"key": "app", "property": "user"}}])
    world.run()
    assert world.provider.calls == 2 and data(world) == {"user": b"u1"}


def test_refresh_interval_zero_syncs_once_but_still_repairs_the_target(world: World) -> None:
    world.add_es(es_body(refreshInterval="0s"))
    assert world.run().requeue_after is None
    world.edit_es(refreshInterval="0s", data=[{"secretKey": "user", "remoteRef": {"key": "app", "property": "user"}}])
    world.clock.advance(hours=3)
    world.run()
    assert world.provider.calls == 1
    del world.cluster.objects[("secrets", NS, "app-secret")]
    world.run()
    assert world.provider.calls == 2


def test_data_from_first_then_data_overrides(world: World) -> None:
    world.provider.secrets["other"] = '{"password": "override"}'
    world.add_es(
        es_body(
            dataFrom=[{"extract": {"key": "app"}}],
            data=[{"secretKey": "password", "remoteRef": {"key": "other", "property": "password"}}],
        )
    )
    world.run()
    assert data(world) == {"password": b"override", "user": b"u1"}


def test_provider_errors_name_the_real_cause_and_back_off(world: World) -> None:
    world.provider.errors["app"] = ProviderError("vault: permission denied reading secret/data/app", kind="permission")
    world.add_es(es_body())
    result = world.run()
    assert result.failed and not result.ok
    ready = world.ready()
    assert (ready["status"], ready["reason"]) == ("False", "SecretSyncedError")
    assert (
        ready["message"] == "could not get secret data from provider: vault: permission denied reading secret/data/app"
    )
    assert world.cluster.events[-1] == (
        "app",
        "Warning",
        "UpdateFailed",
        "error processing spec.data[0] (key: password), err: vault: permission denied reading secret/data/app",
    )
    assert world.secret() is None
    assert "refreshTime" not in world.es()["status"]


def test_a_failed_refresh_leaves_the_secret_and_retries_while_not_due(world: World) -> None:
    world.add_es(es_body())
    world.run()
    world.clock.advance(hours=1)
    world.provider.errors["app"] = ProviderError("vault: connection refused", kind="unavailable")
    assert world.run().failed
    assert data(world) == {"password": b"p1"}
    del world.provider.errors["app"]
    world.clock.advance(seconds=2)
    assert not world.run().failed
    assert world.ready()["status"] == "True"
    assert world.provider.calls == 3


def test_no_secret_value_reaches_status_or_events(world: World) -> None:
    world.provider.secrets["app"] = '{"password": "s3cr3t-value"}'
    world.add_es(es_body(data=[{"secretKey": "x", "remoteRef": {"key": "app", "property": "missing"}}]))
    world.run()
    text = repr(world.es()["status"]) + repr(world.cluster.events)
    assert "does not exist" in text and "s3cr3t-value" not in text


def test_merge_policy_waits_for_the_target(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "creationPolicy": "Merge"}))
    result = world.run()
    ready = world.ready()
    assert (ready["status"], ready["reason"]) == ("True", "SecretMissing")
    assert ready["message"] == "secret will not be created due to CreationPolicy=Merge"
    assert world.secret() is None and world.provider.calls == 0 and result.requeue_after is not None


def test_the_flood_gate_fails_fast_while_the_store_is_not_ready() -> None:
    world = make_world()
    world.add_store(store_body(ready=False))
    world.provider.secrets["app"] = '{"password": "p1"}'
    world.add_es(es_body())
    assert world.run().failed
    assert (
        world.ready()["message"] == 'could not get secret data from provider: SecretStore "vault" is not ready: Valid'
    )
    assert world.provider.calls == 0
    never = make_world()
    never.add_store(store_body(ready=None))
    never.add_es(es_body())
    assert never.run().failed
    assert never.ready()["message"].endswith('SecretStore "vault" is not ready: not validated yet')
    open_gate = make_world(flood_gate=False)
    open_gate.add_store(store_body(ready=False))
    open_gate.provider.secrets["app"] = '{"password": "p1"}'
    open_gate.add_es(es_body())
    assert not open_gate.run().failed


def test_a_missing_store_is_reported() -> None:
    world = make_world()
    world.add_es(es_body())
    world.run()
    assert world.ready()["message"] == 'could not get secret data from provider: SecretStore "vault" not found'


def test_stores_of_another_controller_class_are_left_alone() -> None:
    world = make_world(controller_class="default")
    world.add_store(store_body(controller="other"))
    world.add_es(es_body())
    result = world.run()
    assert result.requeue_after is None and not result.failed
    assert "status" not in world.es() and world.secret() is None


def test_cluster_store_namespace_conditions() -> None:
    world = make_world()
    conditions = [{"namespaces": ["team-b"]}]
    world.add_store(store_body("shared", kind="ClusterSecretStore", conditions=conditions))
    world.cluster.namespaces[NS] = {}
    world.provider.secrets["app"] = '{"password": "p1"}'
    world.add_es(es_body(secretStoreRef={"name": "shared", "kind": "ClusterSecretStore"}))
    world.run()
    assert world.ready()["message"] == (
        'could not get secret data from provider: using cluster store "shared" is not allowed from namespace'
        ' "default": denied by spec.condition'
    )
    store = world.cluster.obj("clustersecretstores", "", "shared")
    assert store is not None
    store["spec"]["conditions"] = [{"namespaces": [NS]}]
    world.run()
    assert world.ready()["status"] == "True"


def test_an_invalid_external_secret_waits_for_a_change(world: World) -> None:
    body = es_body()
    del body["spec"]["data"]
    world.add_es(body)
    result = world.run()
    assert not result.failed and result.requeue_after is None
    assert world.ready()["reason"] == "SecretSyncedError"


def test_status_is_not_rewritten_when_unchanged(world: World) -> None:
    world.add_es(es_body())
    world.run()
    world.provider.errors["app"] = ProviderError("vault: down", kind="unavailable")
    world.clock.advance(hours=2)
    world.run()
    before = world.cluster.calls.count("replace_object_status")
    world.clock.advance(seconds=5)
    world.run()
    assert world.cluster.calls.count("replace_object_status") == before


def test_a_conflict_requeues_at_once_without_a_failure(world: World) -> None:
    from gitsecure.controller.kubetransport import Conflict

    world.add_es(es_body())
    world.cluster.fail["create_secret"] = Conflict("already exists", status=409, reason="AlreadyExists")
    result = world.run()
    assert result.requeue_after == 0.0 and not result.failed


def test_metrics_follow_eso_names(world: World) -> None:
    world.add_es(es_body())
    world.run()
    world.provider.errors["app"] = ProviderError("vault: down", kind="unavailable")
    world.clock.advance(hours=2)
    world.run()
    sample = world.registry.get_sample_value
    labels = {"name": "app", "namespace": NS}
    assert sample("externalsecret_sync_calls_total", labels) == 2
    assert world.metrics.sync_calls_error.value("app", NS) == 1
    assert sample("externalsecret_status_condition", {**labels, "condition": "Ready", "status": "False"}) == 1
    assert sample("externalsecret_status_condition", {**labels, "condition": "Ready", "status": "True"}) == 0
    assert (sample("externalsecret_reconcile_duration", labels) or 0) >= 0
    from prometheus_client.exposition import generate_latest

    text = generate_latest(world.registry).decode()
    assert 'externalsecret_sync_calls_error{name="app",namespace="default"} 1.0' in text
    del world.cluster.objects[("externalsecrets", NS, "app")]
    world.run()
    assert sample("externalsecret_sync_calls_total", labels) is None
