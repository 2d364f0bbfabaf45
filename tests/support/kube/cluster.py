"""KubeCluster: a StrictEmulator served over real HTTP on 127.0.0.1, in a daemon thread with its own loop.

Tests, the demo and the bench talk to it like to an API server: through a kubeconfig
(``write_kubeconfig``) or a ``kubernetes`` ApiClient (``api_client``). Harness calls (``objects``,
``fail_next``, ``expose_service``, ...) run inside the server's loop, so they never race with requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp.web
import kmock
import yaml

from tests.support.kube.emulator import StrictEmulator
from tests.support.kube.faults import RequestRecord

T = TypeVar("T")
ALL_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"})
# What a cluster running the sealed-secrets controller serves: (kind, namespaced, subresources).
RESOURCES: Mapping[str, tuple[str, bool, frozenset[str]]] = {
    "bitnami.com/v1alpha1/sealedsecrets": ("SealedSecret", True, frozenset({"status"})),
    "v1/secrets": ("Secret", True, frozenset()),
    "v1/configmaps": ("ConfigMap", True, frozenset()),
    "v1/events": ("Event", True, frozenset()),
    "events.k8s.io/v1/events": ("Event", True, frozenset()),
    "v1/namespaces": ("Namespace", False, frozenset({"status"})),
    "v1/services": ("Service", True, frozenset({"status", "proxy"})),
    "coordination.k8s.io/v1/leases": ("Lease", True, frozenset()),
    "apiextensions.k8s.io/v1/customresourcedefinitions": ("CustomResourceDefinition", False, frozenset({"status"})),
    "v1/serviceaccounts": ("ServiceAccount", True, frozenset({"token"})),
    # The External Secrets Operator's CRDs (controller/crds/external-secrets.yaml).
    "external-secrets.io/v1/externalsecrets": ("ExternalSecret", True, frozenset({"status"})),
    "external-secrets.io/v1/secretstores": ("SecretStore", True, frozenset({"status"})),
    "external-secrets.io/v1/clustersecretstores": ("ClusterSecretStore", False, frozenset({"status"})),
}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_MAX_BODY = 3 * 1024 * 1024  # the API server's request body limit


def declare_resources(emulator: kmock.KubernetesEmulator) -> None:
    """Declare ``RESOURCES`` for discovery (and, in StrictEmulator, for serving)."""
    for key, (kind, namespaced, subresources) in RESOURCES.items():
        info = emulator.resources[key]
        info.kind, info.namespaced = kind, namespaced
        info.verbs, info.subresources = set(ALL_VERBS), set(subresources)


def wait_for(condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.02, message: str = "") -> T:
    """Poll until ``condition()`` is truthy and return it; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition!r}")
        time.sleep(interval)


class KubeCluster:
    """The emulator and its HTTP server; a context manager (or ``start()``/``close()``)."""

    def __init__(
        self,
        *,
        emulator_cls: type[kmock.KubernetesEmulator] = StrictEmulator,
        namespaces: Iterable[str] = (),
        token: str | None = None,
        **emulator_options: Any,
    ) -> None:
        """``emulator_cls`` may be plain ``kmock.KubernetesEmulator`` (to show what it gets wrong).

        ``token`` is the bearer token clients must send (a random dummy by default);
        ``emulator_options`` go to StrictEmulator (``clock``, ``gc_dangling``, ``watch_history``, ...).
        """
        self.token = token or secrets.token_hex(16)
        self._emulator_cls = emulator_cls
        self._namespaces = (*DEFAULT_NAMESPACES, *namespaces)
        self._options = emulator_options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._emulator: kmock.KubernetesEmulator | None = None
        self._port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> KubeCluster:
        """Serve on a random port of 127.0.0.1; returns once requests are answered."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="kube-emulator", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure or not self._port:
            self.close()
            raise RuntimeError(f"the Kubernetes emulator did not start: {failure[0] if failure else 'timeout'}")
        return self

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # reported to start(); the thread must not die silently
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        if issubclass(self._emulator_cls, StrictEmulator):
            emulator: kmock.KubernetesEmulator = self._emulator_cls(token=self.token, **self._options)
        else:
            emulator = self._emulator_cls(**self._options)
        declare_resources(emulator)
        async with emulator:
            if isinstance(emulator, StrictEmulator):
                for name in self._namespaces:
                    emulator.ensure_namespace(name)
            loop = asyncio.get_running_loop()

            def request_factory(
                message: Any, payload: Any, protocol: Any, writer: Any, task: Any
            ) -> aiohttp.web.BaseRequest:
                return aiohttp.web.BaseRequest(
                    message, payload, protocol, writer, task, loop, client_max_size=_MAX_BODY
                )

            # Our own aiohttp server rather than kmock.Server: that one patches aiohttp's DNS
            # resolution for the whole process, which other tests' aiohttp clients would see.
            server = aiohttp.web.Server(emulator, request_factory=request_factory, handler_cancellation=True)
            runner = aiohttp.web.ServerRunner(server, shutdown_timeout=1.0)
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._emulator = emulator
            self._port = site.port
            ready.set()
            try:
                await self._stop.wait()
            finally:
                if isinstance(emulator, StrictEmulator):
                    emulator.close_watches()
                    await asyncio.sleep(0)
                await runner.cleanup()

    def close(self) -> None:
        """Stop serving (open watch streams end first) and join the thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            stop = self._stop
            with contextlib.suppress(RuntimeError):  # the loop already finished
                self._loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> KubeCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- addresses and clients --------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port served on."""
        if not self._port:
            raise RuntimeError("the cluster is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the API server address."""
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: Path, *, namespace: str = "default", context: str = "kmock") -> Path:
        """A kubeconfig for this cluster: one cluster, one user with the (dummy) token, one current context."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
            "current-context": context,
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` configured from this cluster's kubeconfig."""
        import kubernetes

        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kube-cluster-")
        config = kubernetes.client.Configuration()
        path = self.write_kubeconfig(Path(self._tmp.name) / "kubeconfig")
        kubernetes.config.load_kube_config(config_file=str(path), client_configuration=config)
        return kubernetes.client.ApiClient(config)

    # -- the harness ------------------------------------------------------------------------------------
    @property
    def emulator(self) -> kmock.KubernetesEmulator:
        """The emulator instance; touch it only through ``call``."""
        if self._emulator is None:
            raise RuntimeError("the cluster is not started")
        return self._emulator

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` (sync or async) in the server's loop and return its result."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("the cluster is not started")

        async def run() -> Any:
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def _strict(self) -> StrictEmulator:
        emulator = self.emulator
        if not isinstance(emulator, StrictEmulator):
            raise TypeError(f"{type(emulator).__name__} does not support this harness call")
        return emulator

    def objects(self, resource: str, ns: str | None = None) -> list[dict[str, Any]]:
        """Live objects of a resource (e.g. ``"v1/secrets"``) in ``ns`` or all namespaces, deep copies in key order."""
        return list(self.call(self._strict().live_objects, resource, ns))

    def get(self, resource: str, ns: str | None, name: str) -> dict[str, Any] | None:
        """One live object (a deep copy), or None; ``ns`` None for cluster-scoped kinds."""
        return self.call(self._strict().get_object, resource, ns, name)  # type: ignore[no-any-return]

    def seed(self, resource: str, *bodies: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Create objects without HTTP, under the same rules as ``POST`` (fast seeding for benches)."""
        emulator = self._strict()
        return list(self.call(lambda: [emulator.seed(resource, body) for body in bodies]))

    def create_namespace(self, name: str) -> None:
        """Create a Namespace (no error when it exists)."""
        self.call(self._strict().ensure_namespace, name)

    @property
    def requests(self) -> list[RequestRecord]:
        """The emulator's request log, oldest first (the last 20,000 by default)."""
        return list(self.call(lambda: self._strict().request_log))

    def clear_requests(self) -> None:
        """Forget the requests logged so far."""
        self.call(self._strict().clear_request_log)

    def fail_next(
        self,
        method: str,
        resource_plural: str,
        status: int,
        count: int = 1,
        subresource: str | None = None,
        **match: Any,
    ) -> None:
        """Fail the next ``count`` matching requests with ``status`` (see ``StrictEmulator.fail_next``)."""
        self.call(self._strict().fail_next, method, resource_plural, status, count, subresource, **match)

    def pending_faults(self) -> int:
        """Injected failures not fired yet."""
        return int(self.call(self._strict().pending_faults))

    def expose_service(self, ns: str, name: str, port_name: str, target_port: int, *, port: int = 8080) -> None:
        """Create Service ``ns/name`` (one port, ``port_name`` or unnamed) proxied to ``127.0.0.1:target_port``."""
        self.call(self._strict().expose_service, ns, name, port_name, target_port, port=port)

    def compact(self) -> None:
        """Drop the watch history (watches from older resourceVersions get 410)."""
        self.call(self._strict().compact)

    @property
    def watch_count(self) -> int:
        """Open watch streams."""
        return int(self.call(lambda: self._strict().watch_count))

    @property
    def internal_errors(self) -> list[str]:
        """Emulator failures (bugs, not API errors); tests should expect none."""
        emulator = self.emulator
        if isinstance(emulator, StrictEmulator):
            return list(self.call(lambda: emulator.internal_errors))
        return []
