"""A reconciler wired to the in-memory cluster and provider, and builders for ExternalSecrets and stores."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from gitsecure.controller.external.metrics import ExternalMetrics
from gitsecure.controller.external.providers.cache import ClientCache
from gitsecure.controller.external.reconcile import ExternalSecretReconciler, Result
from gitsecure.controller.external.scheduler import Scheduler
from gitsecure.controller.external.stores import StoreReconciler, StoreResolver, StoreSettings
from tests.unit.controller.external.fakes import Clock, FakeCluster, FakeProvider

NS = "default"


def store_body(
    name: str = "vault", *, kind: str = "SecretStore", ready: bool | None = True, controller: str = "",
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "apiVersion": "external-secrets.io/v1",
        "kind": kind,
        "metadata": {"name": name, **({} if kind == "ClusterSecretStore" else {"namespace": NS})},
        "spec": {"provider": {"vault": {"server": "http://127.0.0.1:1", "path": "secret"}}},
    }
    if controller:
        body["spec"]["controller"] = controller
    if conditions is not None:
        body["spec"]["conditions"] = conditions
    if ready is not None:
        status = "True" if ready else "False"
        body["status"] = {"conditions": [{"type": "Ready", "status": status, "reason": "Valid", "message": ""}]}
    return body


def es_body(name: str = "app", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
        "refreshInterval": "1h",
        "target": {"name": "app-secret"},
        "data": [{"secretKey": "password", "remoteRef": {"key": "app", "property": "password"}}],
    }
    base.update(spec)
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": NS, "labels": {"team": "a"}},
        "spec": base,
    }


@dataclass
class World:
    """Everything a unit test of the ExternalSecret reconcile touches."""

    cluster: FakeCluster
    provider: FakeProvider
    clock: Clock
    metrics: ExternalMetrics
    registry: CollectorRegistry
    scheduler: Scheduler
    clients: ClientCache
    reconciler: ExternalSecretReconciler
    stores: StoreReconciler

    def add_es(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.cluster.put("externalsecrets", body)

    def add_store(self, body: dict[str, Any]) -> dict[str, Any]:
        plural = "clustersecretstores" if body["kind"] == "ClusterSecretStore" else "secretstores"
        return self.cluster.put(plural, body)

    def es(self, name: str = "app") -> dict[str, Any]:
        found = self.cluster.obj("externalsecrets", NS, name)
        assert found is not None
        return copy.deepcopy(found)

    def ready(self, name: str = "app") -> dict[str, Any]:
        conditions = self.es(name).get("status", {}).get("conditions") or []
        return next(c for c in conditions if c["type"] == "Ready")

    def secret(self, name: str = "app-secret") -> dict[str, Any] | None:
        return self.cluster.obj("secrets", NS, name)

    def run(self, name: str = "app") -> Result:
        return self.reconciler.reconcile(NS, name)

    def edit_es(self, name: str = "app", **changes: Any) -> None:
        body = self.es(name)
        body["spec"].update(changes)
        body["metadata"]["generation"] += 1
        self.cluster.put("externalsecrets", body)


def make_world(*, flood_gate: bool = True, controller_class: str = "default") -> World:
    cluster, provider, clock = FakeCluster(), FakeProvider(), Clock()
    registry = CollectorRegistry()
    metrics = ExternalMetrics(registry)
    scheduler = Scheduler(rng=random.Random(7))
    clients = ClientCache(provider.factory, rate=1000.0, burst=1000)
    settings = StoreSettings(controller_class=controller_class, flood_gate=flood_gate)
    resolver = StoreResolver(cluster, settings)
    reconciler = ExternalSecretReconciler(cluster, resolver, clients, metrics, scheduler, clock=clock)
    stores = StoreReconciler(cluster, clients, metrics, scheduler, settings=settings, clock=clock)
    return World(cluster, provider, clock, metrics, registry, scheduler, clients, reconciler, stores)
