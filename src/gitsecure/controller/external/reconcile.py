"""One reconcile pass of an ExternalSecret (reference §3.3 and §3.4), over the small :class:`ClusterApi`.

The steps are ESO's: finalizer handling, store checks, the skip test (no provider call while nothing is
due and the target's ``data-hash`` still matches), provider data (``dataFrom`` then ``data``), the
``deletionPolicy`` for missing remote secrets, the template, a write only when the Secret would change,
orphan cleanup, and the Ready condition. One improvement: a ``SecretSyncedError`` message names the real,
sanitized cause (``could not get secret data from provider: vault: permission denied reading
secret/data/app``) instead of ESO's generic text; ``reason`` is unchanged. A pass never raises for anything
the cluster or a provider can cause; it returns a :class:`Result` for the scheduler.
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
from gitsecure.controller.external.fetch import FetchError, fetch_data
from gitsecure.controller.external.hashing import synced_resource_version
from gitsecure.controller.external.metrics import ExternalMetrics
from gitsecure.controller.external.model import (
    DATA_HASH_ANNOTATION,
    ES_PLURAL,
    FINALIZER,
    GROUP,
    MANAGED_LABEL,
    VERSION,
    ExternalSecretSpec,
    StoreRef,
    StoreSpec,
)
from gitsecure.controller.external.parse import parse_external_secret
from gitsecure.controller.external.providers.base import SecretsClient
from gitsecure.controller.external.providers.cache import ClientCache
from gitsecure.controller.external.scheduler import Scheduler
from gitsecure.controller.external.stores import StoreResolver, StoreUnusable
from gitsecure.controller.external.sync import SyncSteps
from gitsecure.controller.external.target import data_hash
from gitsecure.controller.kubetransport import ApiError, Conflict
from gitsecure.errors import GitsecureError

log = logging.getLogger("gitsecure.controller.external")

SYNC_ERROR = "SecretSyncedError"
GET_DATA_FAILED = "could not get secret data from provider"


@dataclass(frozen=True)
class Result:
    """What the scheduler does next: ``failed`` backs off; otherwise requeue after ``requeue_after`` (or wait)."""

    requeue_after: float | None = None
    failed: bool = False
    ok: bool = True


class ExternalSecretReconciler:
    """Syncs ExternalSecrets into Secrets."""

    def __init__(
        self,
        api: ClusterApi,
        stores: StoreResolver,
        clients: ClientCache,
        metrics: ExternalMetrics,
        scheduler: Scheduler,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """``clock`` is the wall clock of ``refreshTime`` and the refresh decisions."""
        self._api = api
        self._stores = stores
        self._clients = clients
        self._metrics = metrics
        self._scheduler = scheduler
        self._clock = clock

    def reconcile(self, namespace: str, name: str) -> Result:
        """Process ``namespace/name`` once."""
        started = time.monotonic()
        try:
            es = self._api.get_object(GROUP, VERSION, ES_PLURAL, namespace, name)
        except ApiError as exc:
            log.warning("cannot get ExternalSecret %s/%s: %s", namespace, name, exc.message)
            return Result(failed=True, ok=False)
        if es is None:
            self._metrics.drop(namespace, name)
            return Result()
        try:
            result = self._pass(es, namespace, name)
        except Conflict:
            # The ExternalSecret or its Secret changed under us: look again at once, not a failure.
            return Result(requeue_after=0.0)
        except ApiError as exc:
            log.warning("reconciling ExternalSecret %s/%s failed: %s", namespace, name, exc.message)
            result = Result(failed=True, ok=False)
        self._metrics.synced(namespace, name, ok=result.ok, seconds=time.monotonic() - started)
        return result

    def _pass(self, es: dict[str, Any], namespace: str, name: str) -> Result:
        meta = es.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return self._finalize(es, namespace)
        steps = SyncSteps(self._api, es, self._event)
        try:
            spec = parse_external_secret(es)
        except GitsecureError as exc:
            return self._fail(es, exc.message, exc.message, failed=False)
        if FINALIZER not in (meta.get("finalizers") or []):
            es = self._api.patch_object(
                GROUP, VERSION, ES_PLURAL, namespace, name,
                {"metadata": {"finalizers": [*(meta.get("finalizers") or []), FINALIZER],
                              "resourceVersion": meta.get("resourceVersion")}},
            )  # fmt: skip
            steps = SyncSteps(self._api, es, self._event)
        resolved: dict[StoreRef, StoreSpec] = {}
        try:
            main = self._stores.resolve(spec.store_ref, namespace)
        except StoreUnusable as exc:
            return self._fail(es, f"{GET_DATA_FAILED}: {exc.message}", exc.message, failed=True)
        if main is None:
            return Result()  # another controller class serves this store
        resolved[spec.store_ref] = main

        now = self._clock()
        policy = spec.target.creation_policy or "Owner"
        target = spec.target.name or name
        secret = steps.target_secret(target, policy)
        if not self._should_refresh(es, spec, now) and _valid(secret, policy):
            return Result(requeue_after=self._next(es, spec, now))
        if policy == "Merge" and secret is None:
            message = "secret will not be created due to CreationPolicy=Merge"
            self._report(es, "True", "SecretMissing", message)
            return Result(requeue_after=self._next(es, spec, now, synced=now))

        def client_for(ref: StoreRef | None) -> SecretsClient:
            ref = ref or spec.store_ref
            store = resolved.get(ref) or self._stores.resolve(ref, namespace)
            if store is None:
                raise StoreUnusable(f'{ref.kind} "{ref.name}" is served by another controller class')
            resolved[ref] = store
            return self._clients.client(store_context(self._api, store, namespace, self._metrics.provider_call))

        def missing(message: str) -> None:
            self._event(es, "Normal", "MissingProviderSecret", message)

        try:
            data = fetch_data(spec, client_for, missing)
        except FetchError as exc:
            return self._fail(es, f"{GET_DATA_FAILED}: {exc.cause}", exc.message, failed=True)
        except GitsecureError as exc:  # a store that became unusable for a per-entry sourceRef
            return self._fail(es, f"{GET_DATA_FAILED}: {exc.message}", exc.message, failed=True)

        if not data and spec.target.deletion_policy == "Delete":
            outcome = steps.delete_for_policy(secret, policy)
            if outcome is not None:
                return self._fail(es, outcome, outcome, failed=False, requeue=self._next(es, spec, now))
            self._report(es, "True", "SecretDeleted", "secret deleted due to DeletionPolicy=Delete", synced=now)
            return Result(requeue_after=self._next(es, spec, now, synced=now))
        if not data and spec.target.deletion_policy in ("", "Retain"):
            self._report(es, "True", "SecretSynced", "secret retained due to DeletionPolicy=Retain", synced=now)
            return Result(requeue_after=self._next(es, spec, now, synced=now))

        if policy != "None":
            failure = steps.write(spec, data, secret, target)
            if failure is not None:
                message, retry = failure
                requeue = None if retry else self._next(es, spec, now)
                return self._fail(es, message, steps.last_error or message, failed=retry, requeue=requeue)
            orphaned = steps.delete_orphans(target, _binding(es)) if policy == "Owner" else None
            if orphaned is not None:
                return self._fail(es, orphaned, steps.last_error, failed=True)
        self._report(es, "True", "SecretSynced", "secret synced", synced=now, binding=target)
        return Result(requeue_after=self._next(es, spec, now, synced=now))

    def _should_refresh(self, es: Mapping[str, Any], spec: ExternalSecretSpec, now: dt.datetime) -> bool:
        """ESO's ``shouldRefresh`` (§3.3 step 4), with the scheduler's jitter tolerance."""
        status = es.get("status") or {}
        synced = str(status.get("syncedResourceVersion") or "")
        refreshed = conditions.parse_time(status.get("refreshTime"))
        policy = spec.refresh_policy or "Periodic"
        if not synced or refreshed is None:
            return True
        if policy == "CreatedOnce":
            return False
        changed = synced != _current_version(es)
        if policy == "OnChange":
            return changed
        if spec.refresh_interval <= dt.timedelta(0):
            return False
        if changed or refreshed > now:
            return True
        return self._scheduler.due(spec.refresh_interval, refreshed, now)

    def _next(
        self, es: Mapping[str, Any], spec: ExternalSecretSpec, now: dt.datetime, *, synced: dt.datetime | None = None
    ) -> float | None:
        if (spec.refresh_policy or "Periodic") != "Periodic":
            return None
        refreshed = synced or conditions.parse_time((es.get("status") or {}).get("refreshTime")) or now
        return self._scheduler.refresh_delay(spec.refresh_interval, refreshed, now)

    def _finalize(self, es: dict[str, Any], namespace: str) -> Result:
        meta = es["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            return Result()
        try:
            spec: ExternalSecretSpec | None = parse_external_secret(es)
        except GitsecureError:
            spec = None  # cannot tell the policy: keep the Secret (Retain is the default)
        if spec is not None and spec.target.deletion_policy == "Delete":
            SyncSteps(self._api, es, self._event).delete_owned(spec.target.name or str(meta["name"]))
        self._api.patch_object(
            GROUP, VERSION, ES_PLURAL, namespace, str(meta["name"]),
            {"metadata": {"finalizers": [f for f in finalizers if f != FINALIZER],
                          "resourceVersion": meta.get("resourceVersion")}},
        )  # fmt: skip
        self._metrics.drop(namespace, str(meta["name"]))
        return Result()

    def _fail(
        self, es: dict[str, Any], message: str, event: str, *, failed: bool, requeue: float | None = None
    ) -> Result:
        self._event(es, "Warning", "UpdateFailed", event)
        self._report(es, "False", SYNC_ERROR, message)
        return Result(requeue_after=requeue, failed=failed, ok=False)

    def _report(
        self,
        es: dict[str, Any],
        status: str,
        reason: str,
        message: str,
        *,
        synced: dt.datetime | None = None,
        binding: str | None = None,
    ) -> None:
        """Write the status when it changed; ``synced`` marks a completed sync (refreshTime, version)."""
        meta = es.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        current = es.get("status") if isinstance(es.get("status"), Mapping) else None
        new = conditions.with_ready(current, status=status, reason=reason, message=message, now=self._clock())
        if synced is not None:
            new["refreshTime"] = conditions.metav1_time(synced)
            new["syncedResourceVersion"] = _current_version(es)
        if binding is not None:
            new["binding"] = {"name": binding}
        self._metrics.set_condition(namespace, name, status)
        if new == current:
            return
        try:
            self._api.replace_object_status(GROUP, VERSION, ES_PLURAL, namespace, name, {**es, "status": new})
        except Conflict:
            fresh = self._api.get_object(GROUP, VERSION, ES_PLURAL, namespace, name)
            if fresh is not None:
                self._api.replace_object_status(GROUP, VERSION, ES_PLURAL, namespace, name, {**fresh, "status": new})
        es["status"] = new

    def _event(self, es: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        try:
            self._api.post_event(es, type_=type_, reason=reason, message=message)
        except ApiError as exc:
            log.debug("cannot post event %s: %s", reason, exc.message)  # Events are best effort


def _current_version(es: Mapping[str, Any]) -> str:
    meta = es.get("metadata") or {}
    return synced_resource_version(
        int(meta.get("generation") or 0), dict(meta.get("labels") or {}), dict(meta.get("annotations") or {})
    )


def _valid(secret: Mapping[str, Any] | None, policy: str) -> bool:
    """ESO's ``isSecretValid``: the target exists, is marked managed and its data matches ``data-hash``."""
    if policy in ("Orphan", "None"):
        return True
    if secret is None:
        return False
    meta = secret.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_LABEL) != "true":
        return False
    return (meta.get("annotations") or {}).get(DATA_HASH_ANNOTATION) == data_hash(secret)


def _binding(es: Mapping[str, Any]) -> str:
    """The Secret name the last sync wrote (``status.binding.name``)."""
    binding = (es.get("status") or {}).get("binding") or {}
    return str(binding.get("name") or "") if isinstance(binding, Mapping) else ""
