"""kopf wiring: watch streams in, work-queue keys out.

kopf lists and watches SealedSecrets and Secrets (with reconnection and
relisting), and its ``on.event`` handlers do one thing: put ``namespace/name``
on the work queue. The handlers are ``on.event`` handlers on purpose: kopf's
change-detecting handlers (``on.create``/``on.update``) keep a diff-base
annotation and handler progress on the object itself, which Argo CD and Flux
would show as drift on users' SealedSecrets. With ``on.event`` and event
posting off, kopf writes nothing to any object; the controller's own
:class:`~gitsecure.controller.reconciler.Reconciler` writes only the Secret,
the SealedSecret's status and Events.

As upstream, a SealedSecret is processed when it appears (so at every start)
and when its ``spec`` changes; metadata-only changes, our own status writes
and kopf's relisting after a watch error are ignored. A deleted Secret that a
SealedSecret owned (or that is annotated ``managed``) brings its SealedSecret
back into the queue, so the Secret is recreated. Unlike upstream, annotating
an existing Secret ``managed`` or ``patch`` (to let the controller take it
over) is acted on at once, without a restart or a change to the SealedSecret.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import kopf

from gitsecure.controller.external.model import (
    CLUSTER_STORE_KIND,
    CLUSTER_STORE_PLURAL,
    ES_PLURAL,
    GROUP,
    MANAGED_LABEL,
    STORE_KIND,
    STORE_PLURAL,
    VERSION,
)
from gitsecure.controller.plan import MANAGED_ANNOTATION, PATCH_ANNOTATION
from gitsecure.controller.workqueue import WorkQueue
from gitsecure.seal.sealedsecret import API_VERSION, KIND

if TYPE_CHECKING:  # the ExternalSecret machinery is loaded only when it runs
    from gitsecure.controller.external.events import ExternalEventRouter

log = logging.getLogger("gitsecure.controller")

SEALED_GROUP, _, SEALED_VERSION = API_VERSION.partition("/")
SEALED_PLURAL = "sealedsecrets"


def label_filter(selector: str) -> dict[str, Any] | None:
    """A kopf ``labels=`` filter for a simple label selector (``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``)."""
    if not selector.strip():
        return None
    filters: dict[str, Any] = {}
    for term in (t.strip() for t in selector.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            filters[key] = _not_equal(value)
        elif "=" in term:
            key, value = (part.strip() for part in term.replace("==", "=").split("=", 1))
            filters[key] = value
        elif term.startswith("!"):
            filters[term[1:].strip()] = kopf.ABSENT
        else:
            filters[term] = kopf.PRESENT
    return filters


def _not_equal(value: str) -> Callable[[str | None], bool]:
    def check(actual: str | None, **_: Any) -> bool:
        return actual != value

    return check


def _spec_digest(spec: Mapping[str, Any] | None) -> str:
    canonical = json.dumps(spec or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class EventRouter:
    """Decides which watch events become work-queue keys."""

    def __init__(self, queue: WorkQueue, *, skip_recreate: bool) -> None:
        self._queue = queue
        self._skip_recreate = skip_recreate
        self._specs: dict[str, str] = {}
        self._bodies: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def known(self) -> list[str]:
        """Every SealedSecret key seen and not deleted."""
        with self._lock:
            return list(self._specs)

    def cached(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The SealedSecret as its latest watch event showed it (a copy), or None when not seen or deleted.

        This is the informer cache of client-go controllers: a pass starts from it instead of a GET.
        A stale copy is harmless: the status is written with its resourceVersion, so a 409 makes
        the reconciler read the object again.
        """
        with self._lock:
            body = self._bodies.get(f"{namespace}/{name}")
        return copy.deepcopy(body) if body is not None else None

    def sealed_secret_event(
        self,
        event_type: str | None,
        namespace: str,
        name: str,
        spec: Mapping[str, Any],
        body: Mapping[str, Any] | None = None,
    ) -> None:
        """A watch event for a SealedSecret (``event_type`` None is kopf's initial listing)."""
        key = f"{namespace}/{name}"
        with self._lock:
            if event_type == "DELETED":
                self._specs.pop(key, None)
                self._bodies.pop(key, None)
            else:
                if body is not None:
                    self._bodies[key] = copy.deepcopy(dict(body))
                digest = _spec_digest(spec)
                if self._specs.get(key) == digest:
                    # A status or metadata change (our own status writes land here too), or kopf
                    # listing again after a watch error: the spec was already handled.
                    return
                self._specs[key] = digest
        self._queue.add(key)

    def secret_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A watch event for a Secret: recreate a deleted one, take over one newly marked managed."""
        meta = body.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if event_type != "DELETED":
            self._takeover(key, meta)
            return
        if self._skip_recreate:
            return
        owned = _controlled_by_sealed_secret(meta)
        managed = (meta.get("annotations") or {}).get(MANAGED_ANNOTATION) == "true"
        with self._lock:
            wanted = key in self._specs
        if wanted and (owned or managed):
            log.info("Secret %s was deleted; recreating it", key)
            self._queue.add(key)

    def _takeover(self, key: str, meta: Mapping[str, Any]) -> None:
        annotations = meta.get("annotations") or {}
        marked = "true" in (annotations.get(MANAGED_ANNOTATION), annotations.get(PATCH_ANNOTATION))
        if not marked or _controlled_by_sealed_secret(meta):
            return
        with self._lock:
            wanted = key in self._specs
        if wanted:
            self._queue.add(key)


def _controlled_by_sealed_secret(meta: Mapping[str, Any]) -> bool:
    return any(
        isinstance(ref, Mapping)
        and ref.get("controller") is True
        and ref.get("kind") == KIND
        and str(ref.get("apiVersion", "")).startswith(f"{SEALED_GROUP}/")
        for ref in meta.get("ownerReferences") or []
    )


def build_registry(
    router: EventRouter,
    *,
    label_selector: str,
    login: Callable[[], kopf.ConnectionInfo],
    external: ExternalEventRouter | None = None,
) -> kopf.OperatorRegistry:
    """A kopf registry holding only enqueueing handlers and the login handler.

    With ``external``, ExternalSecrets, both store kinds and Secrets carrying ESO's managed label are
    watched too (kopf skips resources the API server does not serve).
    """
    registry = kopf.OperatorRegistry()
    labels = label_filter(label_selector)

    @kopf.on.login(registry=registry)
    def _login(**_: Any) -> kopf.ConnectionInfo:
        return login()

    @kopf.on.event(SEALED_GROUP, SEALED_VERSION, SEALED_PLURAL, registry=registry, labels=labels)
    async def _sealed_secret(
        *, type: str, namespace: str | None, name: str, spec: kopf.Spec, body: kopf.Body, **_: Any
    ) -> None:
        router.sealed_secret_event(type, namespace or "", name, spec, body)

    @kopf.on.event("v1", "secrets", registry=registry, labels=labels)
    async def _secret(*, type: str, body: kopf.Body, **_: Any) -> None:
        router.secret_event(type, body)

    if external is not None:
        _external_handlers(registry, external)
    return registry


def _external_handlers(registry: kopf.OperatorRegistry, router: ExternalEventRouter) -> None:
    @kopf.on.event(GROUP, VERSION, ES_PLURAL, registry=registry)
    async def _external_secret(*, type: str, body: kopf.Body, **_: Any) -> None:
        router.es_event(type, body)

    @kopf.on.event(GROUP, VERSION, STORE_PLURAL, registry=registry)
    async def _secret_store(*, type: str, body: kopf.Body, **_: Any) -> None:
        router.store_event(type, STORE_KIND, body)

    @kopf.on.event(GROUP, VERSION, CLUSTER_STORE_PLURAL, registry=registry)
    async def _cluster_secret_store(*, type: str, body: kopf.Body, **_: Any) -> None:
        router.store_event(type, CLUSTER_STORE_KIND, body)

    @kopf.on.event("v1", "secrets", registry=registry, labels={MANAGED_LABEL: "true"})
    async def _managed_secret(*, type: str, body: kopf.Body, **_: Any) -> None:
        router.secret_event(type, body)


def operator_settings() -> kopf.OperatorSettings:
    """kopf settings that leave no trace on users' objects."""
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    # Resources and namespaces are named exactly; scanning would need CRD and namespace list/watch
    # permissions that the controller's RBAC does not grant.
    settings.scanning.disabled = True
    # The handlers above only enqueue; they must never be retried or delayed by kopf.
    settings.batching.idle_timeout = 1.0
    return settings
