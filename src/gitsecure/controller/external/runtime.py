"""The ExternalSecrets half of a leading controller: its own work queue, timers and worker threads.

ExternalSecrets wait on providers (seconds when one is down), so they never share the SealedSecret
queue or its workers. Watch events come in through :class:`ExternalEventRouter` (fed by kopf's
handlers in :mod:`gitsecure.controller.operator`); workers run one pass per key and the
:class:`Scheduler` decides when the key comes back. Only the leader runs this, so only the leader writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes import client

from gitsecure.controller.external.cluster import ClusterApi
from gitsecure.controller.external.events import ExternalEventRouter, split_key
from gitsecure.controller.external.metrics import ExternalMetrics
from gitsecure.controller.external.model import ES_KIND, GROUP, VERSION
from gitsecure.controller.external.providers.base import SecretsClient, StoreContext, client_for
from gitsecure.controller.external.providers.cache import ClientCache
from gitsecure.controller.external.reconcile import ExternalSecretReconciler
from gitsecure.controller.external.scheduler import Scheduler
from gitsecure.controller.external.stores import StoreReconciler, StoreResolver, StoreSettings
from gitsecure.controller.external.timers import Timers
from gitsecure.controller.workqueue import WorkQueue

log = logging.getLogger("gitsecure.controller.external")


@dataclass(frozen=True)
class ExternalSettings:
    """The external-secrets flags (see :class:`~gitsecure.controller.config.ControllerConfig`)."""

    workers: int = 4
    controller_class: str = "default"
    store_requeue_interval: dt.timedelta = dt.timedelta(minutes=5)
    flood_gate: bool = True
    backoff_max: dt.timedelta = dt.timedelta(minutes=5)
    rate: float = 50.0
    burst: int = 100


def crds_served(configuration: client.Configuration) -> bool:
    """Whether the API server serves ``external-secrets.io/v1`` (API discovery's group list, never a 404)."""
    with client.ApiClient(configuration) as api_client:
        groups = api_client.call_api(
            "/apis",
            "GET",
            auth_settings=["BearerToken"],
            response_types_map={200: "object"},
            _return_http_data_only=True,
            _request_timeout=30,
        )
    for group in (groups or {}).get("groups") or []:
        if isinstance(group, dict) and group.get("name") == GROUP:
            return any(isinstance(v, dict) and v.get("version") == VERSION for v in group.get("versions") or [])
    return False


class ExternalSecretsRuntime:
    """Queue, timers, scheduler, client cache, reconcilers and worker threads."""

    def __init__(
        self,
        api: ClusterApi,
        metrics: ExternalMetrics,
        settings: ExternalSettings,
        *,
        client_factory: Callable[[StoreContext], SecretsClient] = client_for,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """``client_factory`` builds provider clients (tests pass in-memory ones)."""
        self.settings = settings
        self._stop = threading.Event()
        self.queue = WorkQueue()
        self.scheduler = Scheduler(backoff_max=settings.backoff_max.total_seconds())
        self.timers = Timers(self.queue.add)
        self.router = ExternalEventRouter(self.queue.add, self.timers, startup_delay=self.scheduler.startup_delay)
        self.clients = ClientCache(client_factory, rate=settings.rate, burst=settings.burst, sleep=self._stop.wait)
        stores = StoreSettings(
            controller_class=settings.controller_class,
            flood_gate=settings.flood_gate,
            requeue_interval=settings.store_requeue_interval,
        )
        resolver = StoreResolver(api, stores, lookup=self.router.store_body)
        self.reconciler = ExternalSecretReconciler(api, resolver, self.clients, metrics, self.scheduler, clock=clock)
        self.store_reconciler = StoreReconciler(
            api, self.clients, metrics, self.scheduler, settings=stores, clock=clock
        )
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the timer thread and the workers."""
        self._threads = [threading.Thread(target=self.timers.run, name="external-timers", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"external-{i}", daemon=True) for i in range(self.settings.workers)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while (key := self.queue.get()) is not None:
            try:
                self.process(key)
            except Exception:
                log.exception("processing %s failed", key)
                self.timers.schedule(key, self.scheduler.failed(key))
            finally:
                self.queue.done(key)

    def process(self, key: str) -> None:
        """One pass for ``key`` and the scheduling of the next."""
        kind, namespace, name = split_key(key)
        if kind == ES_KIND:
            result = self.reconciler.reconcile(namespace, name)
            if result.failed:
                delay = self.scheduler.failed(key)
                log.info("ExternalSecret %s/%s failed; retrying in %.1fs", namespace, name, delay)
                self.timers.schedule(key, delay)
                return
            self.scheduler.succeeded(key)
            delay_or_none = result.requeue_after
        else:
            delay_or_none = self.store_reconciler.reconcile(kind, namespace, name)
        if delay_or_none is None:
            self.timers.cancel(key)
        else:
            self.timers.schedule(key, delay_or_none)

    def shutdown(self) -> None:
        """Stop handing out keys; workers finish their pass (a rate-limit wait ends at once)."""
        self._stop.set()
        self.queue.shutdown()
        self.timers.stop()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the threads, then close the provider clients."""
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
        for thread in self._threads:
            thread.join(max(0.0, (deadline - dt.datetime.now(dt.UTC)).total_seconds()))
        self.clients.close()
