"""``gitsecure controller run``: the process that puts the pieces together.

Start-up order, and why:

1. The HTTP servers (:8080 API, :8081 metrics) start first, on every replica,
   so probes pass while a replica waits to lead.
2. The key watcher loads the key ring (every replica holds every key, so any
   replica can serve ``/v1/cert.pem`` and ``/v1/verify``).
3. Leader election on a Lease: only the leader generates or renews keys and
   writes Secrets, so two replicas never race.
4. The leader makes a key if none is held (or the active one is older than
   ``--key-cutoff-time``), starts the reconcile workers and then kopf, whose
   watch events feed the work queue.

SIGTERM (or SIGINT) stops kopf, lets in-flight passes finish, releases the
Lease and exits 0. Losing the Lease exits 1, as client-go controllers do, so
the pod restarts as a follower. SIGUSR1 makes a new key at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import kopf
from aiohttp import web

from gitsecure import __version__
from gitsecure.controller.config import ControllerConfig
from gitsecure.controller.external.metrics import ExternalMetrics
from gitsecure.controller.httpapi import controller_app, metrics_app, start_site
from gitsecure.controller.keyregistry import KeyRegistry, key_secret_manifest, needs_new_key, next_renewal
from gitsecure.controller.keywatch import KeyWatcher
from gitsecure.controller.kubeapi import ApiError, KubeApi
from gitsecure.controller.leader import LeaderElector
from gitsecure.controller.metrics import Metrics
from gitsecure.controller.operator import EventRouter, build_registry, operator_settings
from gitsecure.controller.reconciler import Outcome, Reconciler, ReconcileSettings
from gitsecure.controller.workqueue import WorkQueue
from gitsecure.crypto.keys import generate_key_pair
from gitsecure.log import redaction

if TYPE_CHECKING:
    from gitsecure.controller.external.runtime import ExternalSecretsRuntime

log = logging.getLogger("gitsecure.controller")

SHUTDOWN_TIMEOUT = 20.0
# kopf stops its watchers at once, then waits 5s for "hung" tasks: its own watch streams when they were
# cancelled mid-event. Nothing of kopf's needs finishing (its handlers only enqueue), so it is cut short.
KOPF_STOP_TIMEOUT = 1.0


def run_controller(config: ControllerConfig) -> int:
    """Run until SIGTERM; return the process exit code."""
    configure_logging(config.log_level, config.log_format)
    log.info("gitsecure controller %s starting", __version__)
    return asyncio.run(Controller(config).run())


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, fmt: str) -> None:
    """Controller logs: INFO and below to stdout, the rest to stderr, redacted, text or JSON."""
    numeric = logging.getLevelName(level.upper())
    formatter: logging.Formatter = (
        _JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    low = logging.StreamHandler(sys.stdout)
    low.addFilter(lambda record: record.levelno <= logging.INFO)
    high = logging.StreamHandler(sys.stderr)
    high.setLevel(logging.WARNING)
    for handler in (low, high):
        handler.setFormatter(formatter)
        handler.addFilter(redaction)
    root = logging.getLogger()
    root.handlers[:] = [low, high]
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    # The CLI front end gives the "gitsecure" logger its own stderr handler at WARNING and stops it
    # propagating; the controller's records must reach the handlers above instead.
    package = logging.getLogger("gitsecure")
    package.handlers.clear()
    package.setLevel(logging.NOTSET)
    package.propagate = True
    # kopf's own per-object chatter adds nothing here: its handlers only enqueue.
    logging.getLogger("kopf").setLevel(logging.WARNING if root.level > logging.DEBUG else logging.DEBUG)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class Controller:
    """One controller process."""

    def __init__(self, config: ControllerConfig) -> None:
        self.config = config
        self.stop = asyncio.Event()
        self._new_key = asyncio.Event()
        self._wake = asyncio.Event()
        """Set on SIGUSR1 and on key ring changes: the renewal loop looks again."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runners: list[web.AppRunner] = []
        self._failed_unseal: set[str] = set()
        self._failed_lock = threading.Lock()
        self.queue = WorkQueue()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.add_signal_handler(signal.SIGUSR1, self._request_key)

    def _request_key(self) -> None:
        self._new_key.set()
        self._wake.set()

    async def run(self) -> int:
        """The whole life of the process."""
        config = self.config
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_loop_exception)
        self._install_signals()
        api = await asyncio.to_thread(KubeApi.from_config, config.kubeconfig)
        registry = KeyRegistry(order_priority=config.key_order_priority)
        metrics = Metrics(version=__version__)
        external_metrics = ExternalMetrics(metrics.registry) if config.enable_external_secrets else None
        executor = ThreadPoolExecutor(max_workers=max(2, config.workers), thread_name_prefix="rsa")
        metrics.watch_keys(registry)
        http_runner, http_port = await start_site(
            controller_app(
                registry,
                metrics,
                rate_limit=config.rate_limit,
                burst=config.rate_limit_burst,
                accept_deprecated_v1_data=config.accept_deprecated_v1_data,
                executor=executor,
            ),
            config.listen_addr,
        )
        metrics_runner, metrics_port = await start_site(metrics_app(metrics), config.listen_metrics_addr)
        self._runners = [http_runner, metrics_runner]
        log.info("HTTP API on port %d, metrics on port %d", http_port, metrics_port)

        watcher = KeyWatcher(
            api, registry, namespace=config.namespace, key_prefix=config.key_prefix, on_change=self._keys_changed
        )
        watcher.start()
        elector: LeaderElector | None = None
        exit_code = 0
        try:
            if not await self._until(asyncio.to_thread(watcher.loaded.wait)):
                return 0
            if config.leader_elect:
                elector = LeaderElector(
                    api,
                    namespace=config.namespace,
                    name=config.lease_name,
                    identity=f"{os.environ.get('HOSTNAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}",
                    lease_duration=config.lease_duration,
                    renew_deadline=config.renew_deadline,
                    retry_period=config.retry_period,
                )
                log.info("waiting for the leader lease %s/%s", config.namespace, config.lease_name)
                if not await elector.acquire(self.stop):
                    return 0
                log.info("leading: this replica unseals")
            exit_code = await self._lead(api, registry, metrics, executor, elector, external_metrics=external_metrics)
        finally:
            watcher.stop()
            if elector is not None:
                with contextlib.suppress(ApiError):
                    await asyncio.to_thread(elector.release)
            await self._close_http()
            executor.shutdown(wait=False, cancel_futures=True)
            log.info("controller stopped")
        return exit_code

    async def _close_http(self) -> None:
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    async def _until(self, work: Any) -> bool:
        """Run ``work`` unless a stop comes first; True when it finished."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self.stop.wait())
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if task not in done:
            task.cancel()
            return False
        return True

    async def _lead(
        self,
        api: KubeApi,
        registry: KeyRegistry,
        metrics: Metrics,
        executor: ThreadPoolExecutor,
        elector: LeaderElector | None,
        *,
        external_metrics: ExternalMetrics | None = None,
    ) -> int:
        config = self.config
        # A SIGUSR1 received while following has been answered by the leader of that time.
        self._new_key.clear()
        # Before the first key exists (what start-up waits for), so kopf starts as soon after it as before.
        external = await self._start_external(api, external_metrics)
        now = dt.datetime.now(dt.UTC)
        if needs_new_key(registry, now=now, cutoff=config.key_cutoff_time):
            await self._generate_key(api, registry, executor)
        router = EventRouter(self.queue, skip_recreate=config.skip_recreate)
        reconciler = Reconciler(
            api,
            registry,
            metrics,
            settings=ReconcileSettings(
                update_status=config.update_status, accept_deprecated_v1_data=config.accept_deprecated_v1_data
            ),
            lookup=router.cached,
        )
        workers = [
            threading.Thread(target=self._work, args=(reconciler,), name=f"reconcile-{i}", daemon=True)
            for i in range(config.workers)
        ]
        for worker in workers:
            worker.start()
        kopf_stop = asyncio.Event()
        kopf_ready = asyncio.Event()
        namespaces = await self._namespaces(api)
        kopf_task = asyncio.create_task(
            kopf.operator(
                registry=build_registry(
                    router,
                    label_selector=config.label_selector,
                    login=api.kopf_connection_info,
                    external=external.router if external is not None else None,
                ),
                settings=operator_settings(),
                standalone=True,
                clusterwide=namespaces is None,
                namespaces=namespaces or (),
                stop_flag=kopf_stop,
                ready_flag=kopf_ready,
            ),
            name="kopf",
        )
        tasks: set[asyncio.Task[Any]] = {kopf_task, asyncio.create_task(self.stop.wait(), name="stop")}
        if elector is not None:
            tasks.add(asyncio.create_task(elector.hold(self.stop), name="lease"))
        renewal = asyncio.create_task(self._renew_keys(api, registry, executor), name="renewal")
        ready = asyncio.create_task(kopf_ready.wait())
        await asyncio.wait({ready, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        if kopf_ready.is_set():
            # kopf installs its own SIGTERM/SIGINT handlers when it starts; ours decide the shutdown order.
            self._install_signals()
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        exit_code = 0
        if not self.stop.is_set():
            if kopf_task in done:
                log.error("the watch loop stopped unexpectedly")
            else:
                log.error("leadership lost; exiting so that another replica takes over")
            exit_code = 1
        # Workers finish the pass they are in and take no more: what is still queued is processed
        # again at the next start (or by the next leader), as every SealedSecret is.
        self.queue.shutdown()
        if external is not None:
            external.shutdown()
        # Close the HTTP servers before kopf: kopf cancels (after a 5 s grace) every task started
        # after it, which includes aiohttp's keep-alive connection tasks.
        await self._close_http()
        kopf_stop.set()
        renewal.cancel()
        ready.cancel()
        for task in tasks:
            if task is not kopf_task:
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(kopf_task, KOPF_STOP_TIMEOUT)
        await asyncio.to_thread(_join_all, workers, SHUTDOWN_TIMEOUT)
        if external is not None:
            await asyncio.to_thread(external.join, SHUTDOWN_TIMEOUT)
        return exit_code

    async def _start_external(self, api: KubeApi, metrics: ExternalMetrics | None) -> ExternalSecretsRuntime | None:
        """The ExternalSecrets workers, or None when disabled or when the API server lacks the ESO CRDs."""
        config = self.config
        if metrics is None:
            return None
        # Imported here: a controller run with --enable-external-secrets=false never loads the ExternalSecret code.
        from gitsecure.controller.external.runtime import (  # noqa: PLC0415
            ExternalSecretsRuntime,
            ExternalSettings,
            crds_served,
        )

        try:
            served = await asyncio.to_thread(crds_served, api.configuration)
        except Exception as exc:  # discovery failing must not stop SealedSecrets
            log.warning("cannot tell whether the external-secrets.io/v1 CRDs are served (%s)", type(exc).__name__)
            served = False
        if not served:
            log.warning(
                "the external-secrets.io/v1 CRDs are not served: ExternalSecrets are not synced"
                " (apply the CRDs from controller/ and restart the controller)"
            )
            return None
        runtime = ExternalSecretsRuntime(
            api,
            metrics,
            ExternalSettings(
                workers=config.external_secrets_workers,
                controller_class=config.controller_class,
                store_requeue_interval=config.store_requeue_interval,
                flood_gate=config.enable_flood_gate,
                backoff_max=config.provider_backoff_max,
                rate=config.provider_rate_limit,
                burst=config.provider_rate_limit_burst,
            ),
        )
        runtime.start()
        log.info("syncing ExternalSecrets with %d workers", config.external_secrets_workers)
        return runtime

    async def _namespaces(self, api: KubeApi) -> list[str] | None:
        """The namespaces to watch, or None for the whole cluster."""
        config = self.config
        if config.additional_namespaces:
            namespaces = [config.namespace]
            for namespace in config.additional_namespaces:  # already without duplicates
                if namespace == config.namespace:
                    continue
                if await asyncio.to_thread(api.namespace_exists, namespace):
                    namespaces.append(namespace)
                else:
                    log.warning("namespace %s does not exist; not watching it", namespace)
            return namespaces
        return None if config.all_namespaces else [config.namespace]

    async def _generate_key(self, api: KubeApi, registry: KeyRegistry, executor: ThreadPoolExecutor) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        now = dt.datetime.now(dt.UTC)
        pair = await loop.run_in_executor(
            executor,
            lambda: generate_key_pair(now=now, key_size=config.key_size, ttl=config.key_ttl, common_name=config.my_cn),
        )
        body = key_secret_manifest(
            pair,
            namespace=config.namespace,
            prefix=config.key_prefix,
            labels=config.privatekey_labels,
            annotations=config.privatekey_annotations,
        )
        created = await asyncio.to_thread(api.create_secret, config.namespace, body)
        name = str(created["metadata"]["name"])
        registry.add_generated(pair, secret_name=name)
        log.info("new sealing key %s stored in Secret %s/%s", pair.fingerprint, config.namespace, name)

    async def _renew_keys(self, api: KubeApi, registry: KeyRegistry, executor: ThreadPoolExecutor) -> None:
        """Add a key when the renewal period is up, on SIGUSR1, or when every key was removed at runtime."""
        while True:
            now = dt.datetime.now(dt.UTC)
            due = next_renewal(registry.active_order_time(), now=now, period=self.config.key_renew_period)
            timeout = None if due is None else max(0.0, (due - now).total_seconds())
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(woken), timeout)
            finally:
                woken.cancel()  # also when cancelled at shutdown: kopf waits for every task left over
            self._wake.clear()
            forced = self._new_key.is_set()
            self._new_key.clear()
            due_now = due is not None and dt.datetime.now(dt.UTC) >= due
            if not (forced or due_now or len(registry) == 0):
                continue  # the key ring changed (a key restored or added): recompute the due time
            try:
                await self._generate_key(api, registry, executor)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = exc.message if isinstance(exc, ApiError) else type(exc).__name__
                log.error("cannot store a new sealing key, will try again in a minute: %s", message)
                await asyncio.sleep(60)

    def _keys_changed(self) -> None:
        """The key ring changed: SealedSecrets no key could open get another chance."""
        with self._failed_lock:
            retry, self._failed_unseal = self._failed_unseal, set()
        for key in retry:
            self.queue.forget(key)
            self.queue.add(key)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _work(self, reconciler: Reconciler) -> None:
        while (key := self.queue.get()) is not None:
            namespace, _, name = key.partition("/")
            try:
                outcome = reconciler.reconcile(namespace, name)
            except Exception:
                log.exception("reconciling %s failed", key)
                outcome = Outcome.RETRY
            try:
                self._after(key, outcome)
            finally:
                self.queue.done(key)

    def _after(self, key: str, outcome: Outcome) -> None:
        with self._failed_lock:
            if outcome is Outcome.UNSEAL_FAILED:
                self._failed_unseal.add(key)
            else:
                self._failed_unseal.discard(key)
        if outcome in (Outcome.DONE, Outcome.FINAL):
            self.queue.forget(key)
        elif self.queue.failures(key) < self.config.max_unseal_retries:
            self.queue.add_rate_limited(key)
        else:
            log.warning("giving up on %s after %d retries until it changes", key, self.config.max_unseal_retries)
            self.queue.forget(key)


def _loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's handler, minus kopf's watch streams failing to close at exit.

    kopf cancels its watchers without closing their streams; a stream cancelled
    mid-event is closed by asyncio at exit, where kopf's cleanup raises. Nothing
    is lost then, so it is logged at DEBUG rather than as an ERROR with a traceback.
    """
    generator = context.get("asyncgen")
    code = getattr(generator, "ag_code", None)
    if code is not None and code.co_name == "infinite_watch" and f"{os.sep}kopf{os.sep}" in code.co_filename:
        log.debug("a kopf watch stream failed to close at exit: %r", context.get("exception"))
        return
    loop.default_exception_handler(context)


def _join_all(threads: list[threading.Thread], timeout: float) -> None:
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
    for thread in threads:
        left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
        thread.join(max(0.0, left))


__all__ = ["Controller", "configure_logging", "run_controller"]
