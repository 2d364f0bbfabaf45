"""Which watch events become external-secrets work-queue keys.

Keys are ``ExternalSecret/<ns>/<name>``, ``SecretStore/<ns>/<name>`` and ``ClusterSecretStore//<name>``.
As ESO's predicate, an ExternalSecret is looked at when its generation, labels, annotations, finalizers or
deletion mark change, never for a status-only change (our own status writes). A store is looked at when
its spec changes, and its ExternalSecrets when its Ready status flips (the flood gate opens or closes).
A managed Secret brings its ExternalSecret back when it was deleted or its data no longer matches its
``data-hash`` (someone edited it), so drift is corrected at once. The router also keeps the last seen store
bodies: the ExternalSecret reconciler reads stores from here instead of the API server.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from gitsecure.controller.external import conditions
from gitsecure.controller.external.model import (
    CLUSTER_STORE_KIND,
    DATA_HASH_ANNOTATION,
    ES_KIND,
    STORE_KIND,
)
from gitsecure.controller.external.target import data_hash
from gitsecure.controller.external.timers import Timers
from gitsecure.controller.goflags import parse_go_duration
from gitsecure.errors import UsageError

Add = Callable[[str], None]


def es_key(namespace: str, name: str) -> str:
    """The work-queue key of an ExternalSecret."""
    return f"{ES_KIND}/{namespace}/{name}"


def store_key(kind: str, namespace: str, name: str) -> str:
    """The work-queue key of a store (namespace "" for a ClusterSecretStore)."""
    return f"{kind}/{'' if kind == CLUSTER_STORE_KIND else namespace}/{name}"


def split_key(key: str) -> tuple[str, str, str]:
    """``(kind, namespace, name)`` of a key."""
    kind, _, rest = key.partition("/")
    namespace, _, name = rest.partition("/")
    return kind, namespace, name


def _refs(body: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every ``(kind, name)`` store an ExternalSecret body names (read raw: invalid specs count too)."""
    spec = body.get("spec") or {}
    raw = [spec.get("secretStoreRef")]
    for entry in [*(spec.get("data") or []), *(spec.get("dataFrom") or [])]:
        if isinstance(entry, Mapping):
            raw.append((entry.get("sourceRef") or {}).get("storeRef"))
    return {
        (str(ref.get("kind") or STORE_KIND), str(ref.get("name")))
        for ref in raw
        if isinstance(ref, Mapping) and ref.get("name")
    }


def _target(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return str(((body.get("spec") or {}).get("target") or {}).get("name") or meta.get("name"))


def _digest(*parts: object) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


class ExternalEventRouter:
    """Turns watch events into keys; thread-safe (kopf's loop writes, workers read stores)."""

    def __init__(self, add: Add, timers: Timers, *, startup_delay: Callable[[dt.timedelta], float]) -> None:
        """``add`` queues a key now; ``startup_delay(interval)`` spreads ExternalSecrets seen at start-up."""
        self._add = add
        self._timers = timers
        self._startup_delay = startup_delay
        self._lock = threading.Lock()
        self._es: dict[str, tuple[str, set[tuple[str, str]], str]] = {}  # key -> (digest, store refs, ns/target)
        self._stores: dict[str, dict[str, Any]] = {}
        self._store_digests: dict[str, tuple[str, str]] = {}  # key -> (spec digest, Ready status)

    def store_body(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The store as last seen (a copy), or None."""
        with self._lock:
            body = self._stores.get(store_key(kind, namespace, name))
        return copy.deepcopy(body) if body is not None else None

    def es_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """An ExternalSecret watch event (``event_type`` None is the initial listing)."""
        meta = body.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        key = es_key(namespace, name)
        if event_type == "DELETED":
            with self._lock:
                self._es.pop(key, None)
            self._timers.cancel(key)
            self._add(key)  # the pass finds it gone and drops its metrics
            return
        digest = _digest(
            meta.get("generation"), meta.get("labels"), meta.get("annotations"),
            meta.get("finalizers"), meta.get("deletionTimestamp"),
        )  # fmt: skip
        with self._lock:
            old = self._es.get(key)
            self._es[key] = (digest, _refs(body), f"{namespace}/{_target(body)}")
        if old is not None and old[0] == digest:
            return
        status = body.get("status") or {}
        if event_type is None and status.get("refreshTime") and status.get("syncedResourceVersion"):
            # Synced before this start: spread them so that a restart does not refresh them all at once.
            self._timers.schedule(key, self._startup_delay(_interval(body)))
            return
        self._add(key)

    def store_event(self, event_type: str | None, kind: str, body: Mapping[str, Any]) -> None:
        """A SecretStore or ClusterSecretStore watch event."""
        meta = body.get("metadata") or {}
        namespace = "" if kind == CLUSTER_STORE_KIND else str(meta.get("namespace") or "")
        name = str(meta.get("name") or "")
        key = store_key(kind, namespace, name)
        ready = conditions.ready(body)
        state = (_digest(meta.get("generation"), body.get("spec")), str((ready or {}).get("status") or ""))
        with self._lock:
            if event_type == "DELETED":
                self._stores.pop(key, None)
                old: tuple[str, str] | None = self._store_digests.pop(key, None)
                state = ("", "")
            else:
                self._stores[key] = copy.deepcopy(dict(body))
                old = self._store_digests.get(key)
                self._store_digests[key] = state
            users = [k for k, (_, refs, _) in self._es.items() if self._uses(k, refs, kind, namespace, name)]
        if old is None or old[0] != state[0]:
            self._timers.cancel(key)
            self._add(key)
        if old is not None and old != state:
            for user in users:
                self._add(user)

    @staticmethod
    def _uses(key: str, refs: set[tuple[str, str]], kind: str, namespace: str, name: str) -> bool:
        if (kind, name) not in refs:
            return False
        return kind == CLUSTER_STORE_KIND or split_key(key)[1] == namespace

    def secret_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A watch event for a Secret carrying the managed label."""
        meta = body.get("metadata") or {}
        if event_type != "DELETED" and (meta.get("annotations") or {}).get(DATA_HASH_ANNOTATION) == data_hash(body):
            return  # as written (our own writes land here): nothing drifted
        target = f"{meta.get('namespace')}/{meta.get('name')}"
        with self._lock:
            owners = [key for key, (_, _, wanted) in self._es.items() if wanted == target]
        for key in owners:
            self._add(key)


def _interval(body: Mapping[str, Any]) -> dt.timedelta:
    text = str((body.get("spec") or {}).get("refreshInterval") or "1h")
    try:
        return parse_go_duration(text)
    except UsageError:
        return dt.timedelta(hours=1)
