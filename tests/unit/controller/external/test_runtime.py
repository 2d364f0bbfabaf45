"""The external-secrets runtime: a pass per key, then the right timer (or none)."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from gitsecure.controller.external.events import es_key, store_key
from gitsecure.controller.external.metrics import ExternalMetrics
from gitsecure.controller.external.providers.base import ProviderError
from gitsecure.controller.external.runtime import ExternalSecretsRuntime, ExternalSettings
from tests.unit.controller.external.fakes import Clock, FakeCluster, FakeProvider
from tests.unit.controller.external.world import NS, es_body, store_body


def runtime() -> tuple[ExternalSecretsRuntime, FakeCluster, FakeProvider]:
    cluster, provider = FakeCluster(), FakeProvider()
    cluster.put("secretstores", store_body())
    provider.secrets["app"] = '{"password": "p1"}'
    made = ExternalSecretsRuntime(
        cluster, ExternalMetrics(CollectorRegistry()), ExternalSettings(workers=2), client_factory=provider.factory,
        clock=Clock(),
    )  # fmt: skip
    return made, cluster, provider


def test_success_schedules_the_refresh_and_failure_the_backoff() -> None:
    made, cluster, provider = runtime()
    cluster.put("externalsecrets", es_body())
    key = es_key(NS, "app")
    made.process(key)
    assert made.timers.pending(key) and made.scheduler.failures(key) == 0
    provider.errors["app"] = ProviderError("vault: down", kind="unavailable")
    cluster.objects[("externalsecrets", NS, "app")]["metadata"]["annotations"] = {"force-sync": "1"}
    made.process(key)
    made.process(key)
    assert made.scheduler.failures(key) == 2 and made.timers.pending(key)
    del provider.errors["app"]
    made.process(key)
    assert made.scheduler.failures(key) == 0


def test_a_store_key_validates_the_store_and_schedules_revalidation() -> None:
    made, cluster, _ = runtime()
    key = store_key("SecretStore", NS, "vault")
    made.process(key)
    assert made.timers.pending(key)
    del cluster.objects[("secretstores", NS, "vault")]
    made.process(key)
    assert not made.timers.pending(key)


def test_workers_sync_what_the_router_queues_and_stop_cleanly() -> None:
    made, cluster, _ = runtime()
    done = threading.Event()
    original = made.process

    def process(key: str) -> None:
        original(key)
        done.set()

    made.process = process  # type: ignore[method-assign]
    made.start()
    try:
        made.router.es_event("ADDED", cluster.put("externalsecrets", es_body()))
        assert done.wait(30)
    finally:
        made.shutdown()
        made.join(10)
    assert cluster.obj("secrets", NS, "app-secret") is not None
