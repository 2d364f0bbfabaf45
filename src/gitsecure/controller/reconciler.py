"""One reconcile pass of a SealedSecret: unseal, write the Secret, report.

This is the sealed-secrets controller's ``unseal`` step (reference sections 4.2 and 4.3)
with the same events, metrics and status, over :class:`KubeApi`. A pass returns
an :class:`Outcome` that tells the worker whether to retry; it never raises for
anything the cluster or the object can cause.

Nothing here logs or reports a secret value: messages come from
:class:`UnsealFailed` (opaque by design), from :mod:`plan` (fixed texts) and
from :class:`ApiError` (operation and object names, never bodies).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitsecure.controller import plan, status
from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.controller.kubeapi import ApiError, Conflict, KubeApi
from gitsecure.controller.metrics import Metrics
from gitsecure.controller.unseal import UnsealFailed, build_secret

log = logging.getLogger("gitsecure.controller")

INSTANCE_LABEL = "app.kubernetes.io/instance"
UNSEALED_MESSAGE = "SealedSecret unsealed successfully"


class Outcome(enum.Enum):
    """What the worker does with the key after a pass."""

    DONE = "done"
    RETRY = "retry"
    """A temporary failure (API error, conflict, keys not held yet): back off and try again."""
    FINAL = "final"
    """A failure no retry can fix (an immutable Secret): wait for the next change."""
    UNSEAL_FAILED = "unseal-failed"
    """No key held opens it: retried, and tried again whenever the key ring changes."""


@dataclass(frozen=True)
class ReconcileSettings:
    """The knobs of a pass (from :class:`ControllerConfig`)."""

    update_status: bool = True
    accept_deprecated_v1_data: bool = True


class Reconciler:
    """Unseals SealedSecrets into Secrets through the API server."""

    def __init__(
        self,
        api: KubeApi,
        registry: KeyRegistry,
        metrics: Metrics,
        *,
        settings: ReconcileSettings,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        lookup: Callable[[str, str], Mapping[str, Any] | None] = lambda namespace, name: None,
    ) -> None:
        """``lookup`` is the watch cache: a SealedSecret it does not hold is read from the API server."""
        self._lookup = lookup
        self._api = api
        self._registry = registry
        self._metrics = metrics
        self._settings = settings
        self._clock = clock

    def reconcile(self, namespace: str, name: str) -> Outcome:
        """Process ``namespace/name`` once."""
        self._metrics.unseal_requests_total.inc()
        try:
            sealed = self._lookup(namespace, name) or self._api.get_sealed_secret(namespace, name)
        except ApiError as exc:
            log.warning("cannot fetch SealedSecret %s/%s: %s", namespace, name, exc.message)
            self._metrics.unseal_errors_total.labels(reason="fetch", namespace="").inc()
            return Outcome.RETRY
        if sealed is None:
            # Deleted: the Secret goes with it through its ownerReference (Kubernetes' garbage collector).
            self._metrics.drop_condition(namespace, name)
            return Outcome.DONE
        outcome, message = self._write_secret(sealed, namespace, name)
        reported = self._report_status(sealed, ok=outcome is Outcome.DONE, message=message)
        if outcome is Outcome.DONE and not reported:
            return Outcome.RETRY  # the Secret is right but the status is stale: nothing else would correct it
        return outcome

    def _write_secret(self, sealed: Mapping[str, Any], namespace: str, name: str) -> tuple[Outcome, str]:
        try:
            built = build_secret(
                sealed, self._registry, accept_deprecated_v1_data=self._settings.accept_deprecated_v1_data
            )
        except UnsealFailed as exc:
            self._fail(sealed, namespace, "ErrUnsealFailed", f"Failed to unseal: {exc.message}", reason="unseal")
            log.info("cannot unseal %s/%s: %s", namespace, name, exc.message)
            return Outcome.UNSEAL_FAILED, exc.message
        owner_uid = str((sealed.get("metadata") or {}).get("uid") or "")
        try:
            existing = self._api.get_secret(namespace, name)
            decision = plan.decide(built, existing, owner_uid=owner_uid)
            if decision.kind == "create":
                assert decision.body is not None
                created = self._api.create_secret(namespace, decision.body)
                log.info("created Secret %s/%s", namespace, name)
                # Upstream checks ownership on the Secret it just created too (skip-set-owner-references
                # without `managed` is then reported as unmanaged).
                decision = plan.decide(built, created, owner_uid=owner_uid)
            if decision.kind == "update":
                assert decision.body is not None
                self._api.replace_secret(namespace, name, decision.body)
                log.info("updated Secret %s/%s", namespace, name)
        except Conflict as exc:
            # Someone wrote the Secret between our read and our write: read again, soon.
            log.info("conflict writing Secret %s/%s, will retry: %s", namespace, name, exc.message)
            self._metrics.unseal_errors_total.labels(reason="update", namespace=namespace).inc()
            return Outcome.RETRY, exc.message
        except ApiError as exc:
            if exc.status == 422 and "immutable" in exc.message:
                # The Secret became immutable after we read it: as upstream, never retried.
                message = plan.immutable_message(namespace, name)
                self._fail(sealed, namespace, "ErrUpdateFailed", message, reason="update")
                return Outcome.FINAL, message
            self._fail(sealed, namespace, "ErrUpdateFailed", exc.message, reason="update")
            log.warning("cannot write Secret %s/%s: %s", namespace, name, exc.message)
            return Outcome.RETRY, exc.message
        if decision.kind == "unmanaged":
            self._fail(sealed, namespace, "ErrUpdateFailed", decision.message, reason="unmanaged")
            return Outcome.RETRY, f"failed update: {decision.message}"
        if decision.kind == "immutable":
            self._fail(sealed, namespace, "ErrUpdateFailed", decision.message, reason="update")
            return Outcome.FINAL, decision.message
        self._event(sealed, "Normal", "Unsealed", UNSEALED_MESSAGE)
        return Outcome.DONE, ""

    def _report_status(self, sealed: Mapping[str, Any], *, ok: bool, message: str) -> bool:
        """Write the Synced condition when it changes; False when that write failed."""
        reported = True
        meta = sealed.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        current = sealed.get("status")
        if self._settings.update_status:
            new = status.synced_status(
                current if isinstance(current, Mapping) else None,
                generation=int(meta.get("generation") or 0),
                ok=ok,
                message=message,
                now=self._clock(),
            )
            if new is not None:
                try:
                    self._write_status(sealed, new)
                    current = new
                except ApiError as exc:
                    log.warning("cannot update the status of %s/%s: %s", namespace, name, exc.message)
                    self._metrics.unseal_errors_total.labels(reason="status", namespace=namespace).inc()
                    reported = False
        instance = str((meta.get("labels") or {}).get(INSTANCE_LABEL) or "")
        self._metrics.set_condition(namespace, name, instance, _condition_value(current))
        return reported

    def _write_status(self, sealed: Mapping[str, Any], new_status: dict[str, Any]) -> None:
        meta = sealed["metadata"]
        body = {**sealed, "status": new_status}
        try:
            self._api.replace_sealed_secret_status(meta["namespace"], meta["name"], body)
        except Conflict:
            # The object moved on since we read it; write our verdict onto the fresh copy once.
            fresh = self._api.get_sealed_secret(meta["namespace"], meta["name"])
            if fresh is None:
                return
            self._api.replace_sealed_secret_status(meta["namespace"], meta["name"], {**fresh, "status": new_status})

    def _fail(self, sealed: Mapping[str, Any], namespace: str, event_reason: str, message: str, *, reason: str) -> None:
        """A Warning Event about ``sealed`` and one more ``unseal_errors_total{reason, namespace}``."""
        self._event(sealed, "Warning", event_reason, message)
        self._metrics.unseal_errors_total.labels(reason=reason, namespace=namespace).inc()

    def _event(self, sealed: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        try:
            self._api.post_event(sealed, type_=type_, reason=reason, message=message)
        except ApiError as exc:
            # Events are best effort, as in client-go's recorder.
            log.debug("cannot post event %s: %s", reason, exc.message)


def _condition_value(current: object) -> int:
    """The ``condition_info`` gauge value: 1 Synced, -1 failed, 0 unknown."""
    if not isinstance(current, Mapping):
        return 0
    for condition in current.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Synced":
            return {"True": 1, "False": -1}.get(str(condition.get("status")), 0)
    return 0
