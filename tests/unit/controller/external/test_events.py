"""Which watch events queue which keys."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from gitsecure.controller.external.events import ExternalEventRouter, es_key, split_key, store_key
from gitsecure.controller.external.model import DATA_HASH_ANNOTATION, MANAGED_LABEL
from gitsecure.controller.external.target import data_hash
from gitsecure.controller.external.timers import Timers
from tests.unit.controller.external.fakes import b64
from tests.unit.controller.external.world import NS, es_body, store_body


class Recorder:
    def __init__(self) -> None:
        self.added: list[str] = []
        self.timers = Timers(self.added.append)
        self.router = ExternalEventRouter(self.added.append, self.timers, startup_delay=lambda interval: 42.0)

    def take(self) -> list[str]:
        taken, self.added[:] = list(self.added), []
        return taken


def with_meta(body: dict[str, Any], **meta: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["metadata"].update(meta)
    return body


def test_keys_round_trip() -> None:
    assert split_key(es_key(NS, "a")) == ("ExternalSecret", NS, "a")
    assert split_key(store_key("ClusterSecretStore", "ignored", "c")) == ("ClusterSecretStore", "", "c")


def test_status_only_changes_of_an_external_secret_are_ignored() -> None:
    rec = Recorder()
    body = with_meta(es_body(), generation=1)
    rec.router.es_event("ADDED", body)
    assert rec.take() == [es_key(NS, "app")]
    rec.router.es_event("MODIFIED", {**body, "status": {"refreshTime": "now"}})
    assert rec.take() == []
    rec.router.es_event("MODIFIED", with_meta(body, annotations={"force-sync": "1"}))
    assert rec.take() == [es_key(NS, "app")]
    rec.router.es_event("DELETED", body)
    assert rec.take() == [es_key(NS, "app")]


def test_synced_external_secrets_seen_at_start_are_spread() -> None:
    rec = Recorder()
    synced = {**es_body(), "status": {"refreshTime": "2026-05-01T00:00:00Z", "syncedResourceVersion": "1-x"}}
    rec.router.es_event(None, synced)
    assert rec.take() == [] and rec.timers.pending(es_key(NS, "app"))
    rec.router.es_event(None, es_body("new"))
    assert rec.take() == [es_key(NS, "new")]


def test_a_store_becoming_ready_requeues_its_external_secrets() -> None:
    rec = Recorder()
    rec.router.es_event("ADDED", es_body("uses"))
    rec.router.es_event("ADDED", es_body("other", secretStoreRef={"name": "elsewhere"}))
    rec.take()
    not_ready = with_meta(store_body(ready=False), generation=1)
    rec.router.store_event("ADDED", "SecretStore", not_ready)
    assert rec.take() == [store_key("SecretStore", NS, "vault")]
    rec.router.store_event("MODIFIED", "SecretStore", with_meta(store_body(ready=True), generation=1))
    assert rec.take() == [es_key(NS, "uses")]  # status change: the store itself was just validated
    assert rec.router.store_body("SecretStore", NS, "vault") is not None
    rec.router.store_event("MODIFIED", "SecretStore", with_meta(store_body(ready=True), generation=1))
    assert rec.take() == []


def test_drift_on_a_managed_secret_requeues_its_external_secret() -> None:
    rec = Recorder()
    rec.router.es_event("ADDED", es_body())
    rec.take()
    secret: dict[str, Any] = {
        "metadata": {"name": "app-secret", "namespace": NS, "labels": {MANAGED_LABEL: "true"}, "annotations": {}},
        "data": {"password": b64("p1")},
    }
    secret["metadata"]["annotations"][DATA_HASH_ANNOTATION] = data_hash(secret)
    rec.router.secret_event("MODIFIED", secret)
    assert rec.take() == []  # as written
    tampered = copy.deepcopy(secret)
    tampered["data"]["password"] = b64("x")
    rec.router.secret_event("MODIFIED", tampered)
    assert rec.take() == [es_key(NS, "app")]
    rec.router.secret_event("DELETED", secret)
    assert rec.take() == [es_key(NS, "app")]


def test_startup_delay_receives_the_refresh_interval() -> None:
    seen: list[dt.timedelta] = []
    router = ExternalEventRouter(
        lambda key: None, Timers(lambda key: None), startup_delay=lambda i: seen.append(i) or 0
    )
    synced = {**es_body(refreshInterval="15m"), "status": {"refreshTime": "t", "syncedResourceVersion": "1-x"}}
    router.es_event(None, synced)
    assert seen == [dt.timedelta(minutes=15)]
