"""Prometheus metrics under the sealed-secrets names, so existing dashboards and alerts keep working.

Everything lives on a private :class:`CollectorRegistry` (never the global
one), so several controllers can run in one process in tests. Series follow
reference section 4.6; gitsecure adds ``gitsecure_controller_*`` series of its
own. Labels carry names and namespaces only, never a secret value.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sized

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from gitsecure.crypto import hybrid

NAMESPACE = "sealed_secrets_controller"
INSTRUMENTED_PATHS = ("/v1/verify", "/v1/rotate", "/v1/cert.pem")
"""The HTTP endpoints upstream instruments (``/healthz`` is not)."""
SYNCED = "Synced"

# promhttp reports methods lower-case and folds non-standard ones into "unknown" so that clients
# cannot mint unbounded label values.
_KNOWN_METHODS = frozenset({"GET", "PUT", "HEAD", "POST", "DELETE", "CONNECT", "OPTIONS", "PATCH", "TRACE"})


def method_label(method: str) -> str:
    """The ``method`` label value for an HTTP method, as promhttp writes it."""
    upper = method.upper()
    return upper.lower() if upper in _KNOWN_METHODS else "unknown"


class _OwnCounters:
    """Counters whose values live elsewhere (read at scrape time)."""

    def __init__(self, operations: Callable[[], int]) -> None:
        self._operations = operations

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "gitsecure_controller_rsa_private_operations",
            "RSA private-key operations attempted while unsealing (one per key tried per value).",
            value=self._operations(),
        )


class _WithoutCreated:
    """The registry's metrics minus the ``_created`` series, which Go's client library never exposes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        for metric in self._registry.collect():
            kept = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            kept.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield kept


class Metrics:
    """The controller's metrics; safe to use from reconcile threads and the HTTP loop."""

    def __init__(
        self,
        *,
        version: str,
        registry: CollectorRegistry | None = None,
        rsa_operations: Callable[[], int] = hybrid.private_operations,
    ) -> None:
        """``version`` becomes build_info's ``revision`` label; ``rsa_operations`` reads the RSA counter."""
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.build_info = Gauge(
            "build_info", "Build information.", namespace=NAMESPACE, labelnames=("revision",), registry=reg
        )
        self.build_info.labels(revision=version).set(1)
        self.unseal_requests_total = Counter(
            "unseal_requests_total", "Total number of sealed secret unseal requests", namespace=NAMESPACE, registry=reg
        )
        self.unseal_errors_total = Counter(
            "unseal_errors_total",
            "Total number of sealed secret unseal errors by reason",
            namespace=NAMESPACE,
            labelnames=("reason", "namespace"),
            registry=reg,
        )
        self.condition_info = Gauge(
            "condition_info",
            "Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)",
            namespace=NAMESPACE,
            labelnames=("namespace", "name", "condition", "ss_app_kubernetes_io_instance"),
            registry=reg,
        )
        self.http_requests_total = Counter(
            "http_requests_total",
            "Total number of HTTP requests by path, status code and method.",
            namespace=NAMESPACE,
            labelnames=("path", "code", "method"),
            registry=reg,
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration in seconds by path and method.",
            namespace=NAMESPACE,
            labelnames=("path", "method"),
            registry=reg,
        )
        self.keys = Gauge("gitsecure_controller_keys", "Sealing keys held in the key registry.", registry=reg)
        reg.register(_OwnCounters(rsa_operations))
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        self._instances: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def watch_keys(self, registry: Sized) -> None:
        """Report ``len(registry)`` as the keys gauge, read at every scrape."""
        self.keys.set_function(lambda: float(len(registry)))

    def set_condition(self, namespace: str, name: str, instance: str, value: int) -> None:
        """Set the Synced condition of ``namespace/name`` (-1 False, 0 Unknown/absent, 1 True).

        ``instance`` is the SealedSecret's ``app.kubernetes.io/instance`` label;
        when it changes, the series under the old value goes.
        """
        with self._lock:
            old = self._instances.get((namespace, name))
            if old is not None and old != instance:
                self._remove(namespace, name, old)
            self._instances[(namespace, name)] = instance
            self.condition_info.labels(namespace, name, SYNCED, instance).set(value)

    def drop_condition(self, namespace: str, name: str) -> None:
        """Forget ``namespace/name`` (its SealedSecret is gone)."""
        with self._lock:
            old = self._instances.pop((namespace, name), None)
            if old is not None:
                self._remove(namespace, name, old)

    def _remove(self, namespace: str, name: str, instance: str) -> None:
        with contextlib.suppress(KeyError):  # never set, or already removed: nothing to drop
            self.condition_info.remove(namespace, name, SYNCED, instance)

    def observe_http(self, path: str, method: str, code: int, seconds: float) -> None:
        """Count one request to an instrumented endpoint."""
        label = method_label(method)
        self.http_requests_total.labels(path=path, code=str(code), method=label).inc()
        self.http_request_duration_seconds.labels(path=path, method=label).observe(seconds)

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The scrape body and its content type, negotiated from an ``Accept`` header."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(_WithoutCreated(self.registry)), content_type
