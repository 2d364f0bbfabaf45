"""The External Secrets Operator's Prometheus series (reference §3.7), on the controller's own registry.

Names and labels are ESO's so that its dashboards and suggested SLIs carry over. Two of ESO's counters have
no ``_total`` suffix (``externalsecret_sync_calls_error``, ``externalsecret_provider_api_calls_count``);
``prometheus_client`` would append one to any counter, so those two are exposed untyped under their exact
names. ``*_reconcile_duration`` is a gauge in nanoseconds as ESO's; gitsecure adds a seconds histogram.
Labels carry names, namespaces and provider call names only, never a value.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

_NAME_NS = ("name", "namespace")
_CONDITION = ("name", "namespace", "condition", "status")


class _ExactCounters:
    """Monotonic counters exposed under an exact name (no ``_total``), as Go's client library writes them."""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...]) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = labelnames
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str) -> None:
        """Add one to the series with these label values (in ``labelnames`` order)."""
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + 1.0

    def value(self, *labels: str) -> float:
        """The current value of one series (0 when never counted)."""
        with self._lock:
            return self._values.get(labels, 0.0)

    def remove(self, *labels: str) -> None:
        """Drop one series."""
        with self._lock:
            self._values.pop(labels, None)

    def collect(self) -> Iterable[Metric]:
        metric = Metric(self._name, self._documentation, "unknown")
        with self._lock:
            for labels, value in sorted(self._values.items()):
                metric.add_sample(self._name, dict(zip(self._labelnames, labels, strict=True)), value)
        yield metric


class ExternalMetrics:
    """ExternalSecret and store series; thread-safe."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register every series on ``registry`` (the controller's :attr:`Metrics.registry`)."""
        self.sync_calls_total = Counter(
            "externalsecret_sync_calls_total",
            "Total number of the External Secret sync calls",
            _NAME_NS,
            registry=registry,
        )
        self.sync_calls_error = _ExactCounters(
            "externalsecret_sync_calls_error", "Total number of the External Secret sync errors", _NAME_NS
        )
        registry.register(self.sync_calls_error)
        self.provider_calls = _ExactCounters(
            "externalsecret_provider_api_calls_count",
            "Number of API calls towards the secret provider",
            ("provider", "call", "status"),
        )
        registry.register(self.provider_calls)
        self.status_condition = Gauge(
            "externalsecret_status_condition",
            "The status condition of a specific External Secret",
            _CONDITION,
            registry=registry,
        )
        self.reconcile_duration = Gauge(
            "externalsecret_reconcile_duration",
            "The duration time to reconcile the External Secret (nanoseconds, as ESO)",
            _NAME_NS,
            registry=registry,
        )
        self.reconcile_seconds = Histogram(
            "gitsecure_controller_externalsecret_reconcile_seconds",
            "Duration of ExternalSecret reconcile passes in seconds.",
            registry=registry,
        )
        self.store_condition = {
            kind: Gauge(
                f"{prefix}_status_condition",
                f"The status condition of a specific {kind}",
                _CONDITION,
                registry=registry,
            )
            for kind, prefix in (("SecretStore", "secretstore"), ("ClusterSecretStore", "clustersecretstore"))
        }
        self.store_duration = {
            kind: Gauge(
                f"{prefix}_reconcile_duration",
                f"The duration time to reconcile the {kind} (nanoseconds)",
                _NAME_NS,
                registry=registry,
            )
            for kind, prefix in (("SecretStore", "secretstore"), ("ClusterSecretStore", "clustersecretstore"))
        }
        self._lock = threading.Lock()

    def provider_call(self, provider: str, call: str, outcome: str) -> None:
        """One provider API call (``StoreContext.counter``)."""
        self.provider_calls.inc(provider, call, outcome)

    def synced(self, namespace: str, name: str, *, ok: bool, seconds: float) -> None:
        """One finished ExternalSecret pass."""
        self.sync_calls_total.labels(name=name, namespace=namespace).inc()
        if not ok:
            self.sync_calls_error.inc(name, namespace)
        self.reconcile_duration.labels(name=name, namespace=namespace).set(int(seconds * 1e9))
        self.reconcile_seconds.observe(seconds)

    def set_condition(self, namespace: str, name: str, status: str) -> None:
        """ESO's convention: the current (Ready, status) pair is 1, the opposite status 0."""
        self._set(self.status_condition, namespace, name, status)

    def set_store_condition(self, kind: str, namespace: str, name: str, status: str, seconds: float) -> None:
        """A store's Ready condition and the duration of its pass."""
        self._set(self.store_condition[kind], namespace, name, status)
        self.store_duration[kind].labels(name=name, namespace=namespace).set(int(seconds * 1e9))

    def _set(self, gauge: Gauge, namespace: str, name: str, status: str) -> None:
        opposite = "False" if status == "True" else "True"
        with self._lock:
            gauge.labels(name=name, namespace=namespace, condition="Ready", status=status).set(1)
            gauge.labels(name=name, namespace=namespace, condition="Ready", status=opposite).set(0)

    def drop(self, namespace: str, name: str) -> None:
        """Forget a deleted ExternalSecret's series."""
        with self._lock:
            for status in ("True", "False"):
                with contextlib.suppress(KeyError):
                    self.status_condition.remove(name, namespace, "Ready", status)
            for metric in (self.sync_calls_total, self.reconcile_duration):
                with contextlib.suppress(KeyError):
                    metric.remove(name, namespace)
            self.sync_calls_error.remove(name, namespace)

    def drop_store(self, kind: str, namespace: str, name: str) -> None:
        """Forget a deleted store's series."""
        with self._lock:
            for status in ("True", "False"):
                with contextlib.suppress(KeyError):
                    self.store_condition[kind].remove(name, namespace, "Ready", status)
            with contextlib.suppress(KeyError):
                self.store_duration[kind].remove(name, namespace)
