"""Store validation (reference §2.1): conditions, capabilities, Events, requeue, client eviction."""

from __future__ import annotations

import pytest

from gitsecure.controller.external.providers.base import ProviderError
from tests.unit.controller.external.world import NS, World, make_world, store_body


@pytest.fixture
def fresh() -> World:
    world = make_world()
    world.add_store(store_body(ready=None))
    return world


def store_ready(world: World, kind_plural: str = "secretstores", namespace: str = NS) -> dict[str, object]:
    body = world.cluster.obj(kind_plural, namespace, "vault")
    assert body is not None
    return dict(next(c for c in body["status"]["conditions"] if c["type"] == "Ready"))


def test_a_valid_store_is_ready(fresh: World) -> None:
    delay = fresh.stores.reconcile("SecretStore", NS, "vault")
    assert delay is not None and 270 <= delay <= 330
    ready = store_ready(fresh)
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "Valid", "store validated")
    body = fresh.cluster.obj("secretstores", NS, "vault")
    assert body is not None and body["status"]["capabilities"] == "ReadWrite"
    assert fresh.cluster.events == [("vault", "Normal", "Valid", "store validated")]
    sample = fresh.registry.get_sample_value
    assert sample("secretstore_status_condition", {"name": "vault", "namespace": NS, "condition": "Ready",
                                                   "status": "True"}) == 1  # fmt: skip


def test_status_is_written_only_when_it_changes(fresh: World) -> None:
    fresh.stores.reconcile("SecretStore", NS, "vault")
    fresh.clock.advance(minutes=5)
    fresh.stores.reconcile("SecretStore", NS, "vault")
    assert fresh.cluster.calls.count("replace_object_status") == 1


def test_validation_failure_names_the_cause(fresh: World) -> None:
    fresh.provider.validate_error = ProviderError("vault: permission denied on auth/token/lookup-self", kind="auth")
    fresh.stores.reconcile("SecretStore", NS, "vault")
    ready = store_ready(fresh)
    assert (ready["status"], ready["reason"]) == ("False", "InvalidProviderConfig")
    assert ready["message"] == "unable to validate store: vault: permission denied on auth/token/lookup-self"
    assert fresh.cluster.events[-1] == (
        "vault", "Warning", "InvalidProviderConfig", "vault: permission denied on auth/token/lookup-self",
    )  # fmt: skip


def test_client_failure_is_unable_to_create_client(fresh: World) -> None:
    fresh.provider.build_error = ProviderError("cannot get Secret default/vault-token: not found", kind="auth")
    fresh.stores.reconcile("SecretStore", NS, "vault")
    assert store_ready(fresh)["message"] == "unable to create client: cannot get Secret default/vault-token: not found"


def test_referent_auth_is_validation_unknown(fresh: World) -> None:
    fresh.provider.validation = "ValidationUnknown"
    fresh.stores.reconcile("SecretStore", NS, "vault")
    ready = store_ready(fresh)
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True", "ValidationUnknown", "could not determine validation status",
    )  # fmt: skip
    assert fresh.cluster.events[-1][1:3] == ("Warning", "ValidationUnknown")


def test_a_store_with_an_unknown_provider_is_invalid() -> None:
    world = make_world()
    body = store_body(ready=None)
    body["spec"]["provider"] = {"gcpsm": {}}
    world.add_store(body)
    assert world.stores.reconcile("SecretStore", NS, "vault") is None
    ready = store_ready(world)
    assert (ready["status"], ready["reason"]) == ("False", "InvalidStoreConfiguration")


def test_cluster_stores_and_their_own_refresh_interval() -> None:
    world = make_world()
    body = store_body(kind="ClusterSecretStore", ready=None)
    world.add_store(body)
    world.stores.reconcile("ClusterSecretStore", "", "vault")
    assert store_ready(world, "clustersecretstores", "")["status"] == "True"


def test_other_controller_classes_are_not_validated() -> None:
    world = make_world()
    world.add_store(store_body(ready=None, controller="other"))
    assert world.stores.reconcile("SecretStore", NS, "vault") is None
    assert world.provider.logins == 0 and world.cluster.events == []


def test_a_deleted_store_closes_its_clients(fresh: World) -> None:
    fresh.stores.reconcile("SecretStore", NS, "vault")
    assert len(fresh.clients) == 1
    del fresh.cluster.objects[("secretstores", NS, "vault")]
    assert fresh.stores.reconcile("SecretStore", NS, "vault") is None
    assert len(fresh.clients) == 0 and fresh.provider.closed == 1
