"""Keeps the key registry equal to the key Secrets in the controller's namespace.

Every replica runs this (not only the leader), so any replica can answer
``/v1/cert.pem`` and ``/v1/verify``. Key Secrets are the sealed-secrets ones:
labelled ``sealedsecrets.bitnami.com/sealed-secrets-key=active``, plus the
legacy single Secret named exactly like the key prefix. Adding, changing,
relabelling or deleting one takes effect without a restart (upstream needed a
restart, or ``--watch-for-secrets`` for additions only).

The namespace is watched without a label selector and filtered here, so a key
whose label is changed away from ``active`` is dropped on that very event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from gitsecure.controller.keyregistry import KEY_LABEL, KeyRegistry
from gitsecure.controller.kubeapi import ApiError, KubeApi

log = logging.getLogger("gitsecure.controller.keys")

RELIST_DELAY = 1.0


def is_key_secret(secret: Mapping[str, Any], *, key_prefix: str) -> bool:
    """Whether ``secret`` is a sealing key the controller must hold."""
    meta = secret.get("metadata") or {}
    labels = meta.get("labels") or {}
    return labels.get(KEY_LABEL) == "active" or meta.get("name") == key_prefix


class KeyWatcher:
    """A daemon thread: list the namespace's Secrets, then follow its watch stream."""

    def __init__(
        self,
        api: KubeApi,
        registry: KeyRegistry,
        *,
        namespace: str,
        key_prefix: str,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._api = api
        self._registry = registry
        self._namespace = namespace
        self._key_prefix = key_prefix
        self._on_change = on_change
        self._stop = threading.Event()
        self.loaded = threading.Event()
        """Set once the first full listing has been applied."""
        self._names: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="key-watch", daemon=True)

    def start(self) -> None:
        """Start following key Secrets."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (it notices within its watch timeout)."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end."""
        self._thread.join(timeout)

    def _apply(self, event_type: str, secret: Mapping[str, Any]) -> None:
        name = str((secret.get("metadata") or {}).get("name") or "")
        if not name:
            return
        before = self._registry.generation()
        if event_type != "DELETED" and is_key_secret(secret, key_prefix=self._key_prefix):
            self._registry.sync_secret(secret)
            self._names.add(name)
        elif name in self._names:
            self._registry.remove_secret(name)
            self._names.discard(name)
            log.info("key Secret %s/%s removed from the key ring", self._namespace, name)
        if self._registry.generation() != before:
            self._on_change()

    def _relist(self) -> str:
        items, resource_version = self._api.list_secrets(self._namespace, "")
        present = set()
        for secret in items:
            name = str((secret.get("metadata") or {}).get("name") or "")
            present.add(name)
            self._apply("ADDED", secret)
        for gone in self._names - present:
            self._apply("DELETED", {"metadata": {"name": gone}})
        return resource_version

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                resource_version = self._relist()
                if not self.loaded.is_set():
                    log.info("key ring loaded: %d key(s)", len(self._registry))
                    self.loaded.set()
                for event_type, secret in self._api.watch_secrets(self._namespace, "", resource_version, self._stop):
                    self._apply(event_type, secret)
            except ApiError as exc:
                log.warning("watching key Secrets in %s failed, listing again: %s", self._namespace, exc.message)
            except Exception:
                # The thread must survive anything a watch stream throws; the next relist repairs the state.
                log.exception("key Secret watch failed, listing again")
            self._stop.wait(RELIST_DELAY)
