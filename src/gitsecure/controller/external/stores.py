"""SecretStores and ClusterSecretStores: which one an ExternalSecret may use, and their own validation pass.

:class:`StoreResolver` answers the ExternalSecret reconciler's question "may I read from this store now?"
(reference §2: controller class, ClusterSecretStore namespace conditions, the flood gate that fails fast
while a store is not Ready). :class:`StoreReconciler` validates a store through its provider client
(``SecretsClient.validate``) every ``refreshInterval`` (default ``--store-requeue-interval``) and reports
the §2.1 condition, with the real cause appended to ESO's generic messages, plus the §3.6 Events.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitsecure.controller.external import conditions
from gitsecure.controller.external.cluster import ClusterApi, store_context
from gitsecure.controller.external.metrics import ExternalMetrics
from gitsecure.controller.external.model import (
    CLUSTER_STORE_KIND,
    CLUSTER_STORE_PLURAL,
    GROUP,
    STORE_PLURAL,
    VERSION,
    StoreRef,
    StoreSpec,
)
from gitsecure.controller.external.parse import namespace_allowed, parse_store
from gitsecure.controller.external.providers.cache import ClientCache
from gitsecure.controller.external.scheduler import Scheduler
from gitsecure.controller.kubetransport import ApiError, Conflict
from gitsecure.errors import GitsecureError

log = logging.getLogger("gitsecure.controller.external")

CAPABILITIES = "ReadWrite"  # what ESO reports for Vault and AWS


class StoreUnusable(GitsecureError):
    """An ExternalSecret cannot read from its store now; the message says why (no secret values)."""

    reference = "store-unusable"


@dataclass(frozen=True)
class StoreSettings:
    """The store-related flags."""

    controller_class: str = "default"
    flood_gate: bool = True
    requeue_interval: dt.timedelta = dt.timedelta(minutes=5)


def plural_of(kind: str) -> str:
    """The resource plural of a store kind."""
    return CLUSTER_STORE_PLURAL if kind == CLUSTER_STORE_KIND else STORE_PLURAL


def class_matches(store: StoreSpec, controller_class: str) -> bool:
    """Whether this controller serves ``store`` (an empty ``spec.controller`` means every controller)."""
    return not store.controller or store.controller == controller_class


StoreLookup = Callable[[str, str, str], Mapping[str, Any] | None]


class StoreResolver:
    """Stores as an ExternalSecret in a given namespace may use them."""

    def __init__(self, api: ClusterApi, settings: StoreSettings, *, lookup: StoreLookup | None = None) -> None:
        """``lookup(kind, namespace, name)`` is the watch cache; a store it does not hold is read from the API."""
        self._api = api
        self._settings = settings
        self._lookup = lookup

    def body(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The store object (cache first)."""
        cached = self._lookup(kind, namespace, name) if self._lookup is not None else None
        if cached is not None:
            return cached
        return self._api.get_object(GROUP, VERSION, plural_of(kind), namespace or None, name)

    def resolve(self, ref: StoreRef, es_namespace: str) -> StoreSpec | None:
        """The usable store, None when another controller class owns it; raises :class:`StoreUnusable`."""
        kind = ref.kind or "SecretStore"
        namespace = "" if kind == CLUSTER_STORE_KIND else es_namespace
        try:
            body = self.body(kind, namespace, ref.name)
        except ApiError as exc:
            raise StoreUnusable(f"could not get {kind} {ref.name!r}: {exc.message}") from None
        if body is None:
            raise StoreUnusable(f'{kind} "{ref.name}" not found')
        try:
            store = parse_store(body)
        except GitsecureError as exc:
            raise StoreUnusable(f'{kind} "{ref.name}" is invalid: {exc.message}') from None
        if not class_matches(store, self._settings.controller_class):
            return None
        if kind == CLUSTER_STORE_KIND and store.conditions and not self._allowed(store, es_namespace):
            denied = f'using cluster store "{ref.name}" is not allowed from namespace "{es_namespace}"'
            raise StoreUnusable(f"{denied}: denied by spec.condition")
        if self._settings.flood_gate:
            ready = conditions.ready(body)
            if ready is None or ready.get("status") != "True":
                # Name the store's own cause, so the ExternalSecret's condition says what is wrong.
                cause = "not validated yet" if ready is None else str(ready.get("message") or ready.get("reason") or "")
                raise StoreUnusable(f'{kind} "{ref.name}" is not ready' + (f": {cause}" if cause else ""))
        return store

    def _allowed(self, store: StoreSpec, namespace: str) -> bool:
        try:
            ns = self._api.get_namespace(namespace)
        except ApiError as exc:
            raise StoreUnusable(f"could not read namespace {namespace!r}: {exc.message}") from None
        labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
        # Namespaces carry kubernetes.io/metadata.name; set it in case the API server predates that label.
        return namespace_allowed(store, namespace, {"kubernetes.io/metadata.name": namespace, **labels})


class StoreReconciler:
    """Validates stores and reports their Ready condition."""

    def __init__(
        self,
        api: ClusterApi,
        clients: ClientCache,
        metrics: ExternalMetrics,
        scheduler: Scheduler,
        *,
        settings: StoreSettings,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """``clock`` stamps the conditions."""
        self._api = api
        self._clients = clients
        self._metrics = metrics
        self._scheduler = scheduler
        self._settings = settings
        self._clock = clock

    def reconcile(self, kind: str, namespace: str, name: str) -> float | None:
        """Validate one store; the seconds until it is validated again (None: wait for a change)."""
        started = time.monotonic()
        plural = plural_of(kind)
        body = self._api.get_object(GROUP, VERSION, plural, namespace or None, name)
        if body is None:
            self._clients.evict_store(kind, namespace, name)
            self._metrics.drop_store(kind, namespace, name)
            return None
        try:
            store = parse_store(body)
        except GitsecureError as exc:
            self._report(body, "False", "InvalidStoreConfiguration", exc.message, event_type="Warning")
            self._metrics.set_store_condition(kind, namespace, name, "False", time.monotonic() - started)
            return None
        if not class_matches(store, self._settings.controller_class):
            return None
        status, reason, message, event = self._validate(store)
        self._report(
            body, status, reason, message, event_type="Normal" if reason == "Valid" else "Warning", event=event
        )
        self._metrics.set_store_condition(kind, namespace, name, status, time.monotonic() - started)
        return self._scheduler.every(store.refresh_interval or self._settings.requeue_interval)

    def _validate(self, store: StoreSpec) -> tuple[str, str, str, str]:
        """``(status, reason, condition message, event message)``."""
        ctx = store_context(self._api, store, store.namespace or "", self._metrics.provider_call)
        try:
            client = self._clients.client(ctx)
        except GitsecureError as exc:
            return "False", "InvalidProviderConfig", f"unable to create client: {exc.message}", exc.message
        try:
            verdict = client.validate()
        except GitsecureError as exc:
            return "False", "InvalidProviderConfig", f"unable to validate store: {exc.message}", exc.message
        if verdict == "ValidationUnknown":
            message = "could not determine validation status"
            return "True", "ValidationUnknown", message, message
        return "True", "Valid", "store validated", "store validated"

    def _report(
        self, body: Mapping[str, Any], status: str, reason: str, message: str, *, event_type: str, event: str = ""
    ) -> None:
        meta = body.get("metadata") or {}
        current = body.get("status")
        new = conditions.with_ready(current if isinstance(current, Mapping) else None,
                                    status=status, reason=reason, message=message, now=self._clock())  # fmt: skip
        if status == "True" or reason != "InvalidStoreConfiguration":
            new["capabilities"] = CAPABILITIES
        if new != current:
            kind = str(body.get("kind") or "SecretStore")
            namespace = str(meta.get("namespace") or "")
            try:
                self._api.replace_object_status(
                    GROUP, VERSION, plural_of(kind), namespace or None, str(meta.get("name")), {**body, "status": new}
                )
            except Conflict:
                pass  # the store changed meanwhile: its watch event brings it back
            except ApiError as exc:
                log.warning("cannot update the status of %s %s: %s", kind, meta.get("name"), exc.message)
        try:
            self._api.post_event(body, type_=event_type, reason=reason, message=event or message)
        except ApiError as exc:
            log.debug("cannot post event %s: %s", reason, exc.message)
