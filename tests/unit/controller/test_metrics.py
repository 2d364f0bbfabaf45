"""Metric names, labels and values as reference section 4.6 has them, on a private registry."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gitsecure.controller.metrics import Metrics, method_label


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, metric: str, **labels: str) -> float | None:
    return samples(metrics).get((metric, frozenset(labels.items())))


def test_upstream_names_and_types() -> None:
    metrics = Metrics(version="v9.9.9")
    metrics.unseal_requests_total.inc()
    metrics.unseal_errors_total.labels(reason="fetch", namespace="").inc()
    metrics.set_condition("ns", "db", "", 1)
    metrics.observe_http("/v1/verify", "POST", 200, 0.01)
    text = metrics.exposition()[0].decode()
    for line in (
        "# TYPE sealed_secrets_controller_build_info gauge",
        'sealed_secrets_controller_build_info{revision="v9.9.9"} 1.0',
        "# TYPE sealed_secrets_controller_unseal_requests_total counter",
        "sealed_secrets_controller_unseal_requests_total 1.0",
        'sealed_secrets_controller_unseal_errors_total{namespace="",reason="fetch"} 1.0',
        "# TYPE sealed_secrets_controller_condition_info gauge",
        'sealed_secrets_controller_condition_info{condition="Synced",name="db",namespace="ns",'
        'ss_app_kubernetes_io_instance=""} 1.0',
        'sealed_secrets_controller_http_requests_total{code="200",method="post",path="/v1/verify"} 1.0',
        "# TYPE sealed_secrets_controller_http_request_duration_seconds histogram",
        'sealed_secrets_controller_http_request_duration_seconds_count{method="post",path="/v1/verify"} 1.0',
        "# TYPE gitsecure_controller_rsa_private_operations_total counter",
        "# TYPE gitsecure_controller_keys gauge",
    ):
        assert line in text.splitlines(), line
    # Go's client exposes no _created series; dashboards never saw them.
    assert "_created" not in text
    assert "process_" in text  # the standard process collector, as upstream has Go's


def test_private_registry() -> None:
    Metrics(version="a")
    Metrics(version="b")  # a second one does not clash with the first
    assert REGISTRY.get_sample_value("sealed_secrets_controller_unseal_requests_total") is None


def condition(metrics: Metrics, name: str, instance: str) -> float | None:
    labels = {"namespace": "ns", "name": name, "condition": "Synced", "ss_app_kubernetes_io_instance": instance}
    return value(metrics, "sealed_secrets_controller_condition_info", **labels)


def test_condition_follows_the_instance_label_and_goes_with_the_object() -> None:
    metrics = Metrics(version="v")
    metrics.set_condition("ns", "db", "blue", -1)
    assert condition(metrics, "db", "blue") == -1
    metrics.set_condition("ns", "db", "green", 1)
    assert condition(metrics, "db", "blue") is None
    assert condition(metrics, "db", "green") == 1
    metrics.set_condition("ns", "other", "", 0)
    metrics.drop_condition("ns", "db")
    metrics.drop_condition("ns", "never-seen")
    names = {dict(labels)["name"] for (metric, labels) in samples(metrics) if metric.endswith("condition_info")}
    assert names == {"other"}
    assert condition(metrics, "other", "") == 0


def test_rsa_operations_and_keys_are_read_at_scrape_time() -> None:
    operations = [3]
    metrics = Metrics(version="v", rsa_operations=lambda: operations[0])
    held: list[str] = []
    metrics.watch_keys(held)
    assert value(metrics, "gitsecure_controller_rsa_private_operations_total") == 3
    assert value(metrics, "gitsecure_controller_keys") == 0
    operations[0] = 7
    held.extend(["k1", "k2"])
    assert value(metrics, "gitsecure_controller_rsa_private_operations_total") == 7
    assert value(metrics, "gitsecure_controller_keys") == 2


def test_default_rsa_counter_is_the_crypto_core() -> None:
    from gitsecure.crypto import hybrid

    metrics = Metrics(version="v")
    assert value(metrics, "gitsecure_controller_rsa_private_operations_total") == hybrid.private_operations()


def test_method_labels_are_lower_case_and_bounded() -> None:
    assert method_label("GET") == "get"
    assert method_label("post") == "post"
    assert method_label("BREW") == "unknown"


def test_openmetrics_when_asked() -> None:
    body, content_type = Metrics(version="v").exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
