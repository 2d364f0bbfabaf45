"""KubeApi over real HTTP against the emulated API server (tests/support/kube).

Retries are observed through the emulator's fault injection: a call that
succeeds after ``count`` injected failures made more than ``count`` attempts,
and a call that fails while the next one succeeds used up exactly the
injected failures. The retry waits are shrunk to milliseconds.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from gitsecure.controller.kubeapi import ApiError, Backoff, Conflict, Gone, KubeApi, NotFound
from gitsecure.errors import RemoteError
from tests.support.kube.cluster import KubeCluster, wait_for

pytestmark = pytest.mark.timeout(60)

FAST = Backoff(attempts=5, initial=0.001, cap=0.005)
PLAINTEXT = "correct-horse-battery-staple"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def cluster() -> Iterator[KubeCluster]:
    with KubeCluster() as running:
        yield running


@pytest.fixture
def kubeconfig(cluster: KubeCluster, tmp_path: Path) -> str:
    return str(cluster.write_kubeconfig(tmp_path / "kubeconfig"))


@pytest.fixture
def api(kubeconfig: str, tmp_path: Path) -> Iterator[KubeApi]:
    kube = KubeApi.from_config(kubeconfig, service_account_dir=str(tmp_path / "no-sa"), backoff=FAST, timeout=10)
    yield kube
    kube.close()


@pytest.fixture
def ns(cluster: KubeCluster) -> str:
    name = f"ns-{uuid.uuid4().hex[:8]}"
    cluster.create_namespace(name)
    return name


def secret(name: str, value: str = "v", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": labels},
        "type": "Opaque",
        "data": {"k": base64.b64encode(value.encode()).decode()},
    }


def test_secret_create_get_replace_as_plain_dicts(api: KubeApi, ns: str) -> None:
    assert api.get_secret(ns, "s1") is None
    created = api.create_secret(ns, secret("s1"))
    assert type(created) is dict
    assert created["metadata"]["name"] == "s1"
    assert created["metadata"]["resourceVersion"]  # camelCase, as served
    fetched = api.get_secret(ns, "s1")
    assert fetched is not None
    assert fetched["data"] == {"k": base64.b64encode(b"v").decode()}
    changed = {**fetched, "data": {"k": base64.b64encode(b"w").decode()}}
    replaced = api.replace_secret(ns, "s1", changed)
    assert replaced["data"]["k"] == base64.b64encode(b"w").decode()
    assert replaced["metadata"]["resourceVersion"] != fetched["metadata"]["resourceVersion"]


def test_create_with_generate_name(api: KubeApi, ns: str) -> None:
    body = secret("")
    body["metadata"] = {"generateName": "sealed-secrets-key"}
    created = api.create_secret(ns, body)
    assert created["metadata"]["name"].startswith("sealed-secrets-key")
    assert created["metadata"]["name"] != "sealed-secrets-key"


def test_list_secrets_by_label_with_resource_version(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    cluster.create_namespace(f"{ns}-x")
    api.create_secret(ns, secret("a", role="key"))
    api.create_secret(ns, secret("b", role="other"))
    api.create_secret(f"{ns}-x", secret("c", role="key"))
    items, resource_version = api.list_secrets(ns, "role=key")
    assert [item["metadata"]["name"] for item in items] == ["a"]
    assert resource_version
    everything, _ = api.list_secrets(ns, "")
    assert sorted(item["metadata"]["name"] for item in everything) == ["a", "b"]


def test_stale_resource_version_raises_conflict_without_the_body(api: KubeApi, ns: str) -> None:
    first = api.create_secret(ns, secret("s", PLAINTEXT))
    api.replace_secret(ns, "s", {**first, "data": {"k": "eA=="}})
    with pytest.raises(Conflict) as caught:
        api.replace_secret(ns, "s", first)  # first's resourceVersion is stale now
    assert caught.value.status == 409
    assert f"replace Secret {ns}/s" in caught.value.message
    assert PLAINTEXT not in caught.value.message
    assert base64.b64encode(PLAINTEXT.encode()).decode() not in caught.value.message


def test_create_existing_raises_conflict(api: KubeApi, ns: str) -> None:
    api.create_secret(ns, secret("s"))
    with pytest.raises(Conflict):
        api.create_secret(ns, secret("s"))


@pytest.mark.parametrize(("method", "status"), [("GET", 500), ("GET", 503), ("GET", 429), ("POST", 503), ("PUT", 500)])
def test_retries_transient_failures_then_succeeds(
    api: KubeApi, cluster: KubeCluster, ns: str, method: str, status: int
) -> None:
    current = api.create_secret(ns, secret("s"))
    cluster.fail_next(method, "secrets", status, count=FAST.attempts - 1)
    if method == "GET":
        assert api.get_secret(ns, "s") is not None
    elif method == "POST":
        assert api.create_secret(ns, secret("t"))["metadata"]["name"] == "t"
    else:
        assert api.replace_secret(ns, "s", current)["metadata"]["name"] == "s"


def test_gives_up_after_the_attempts(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    api.create_secret(ns, secret("s"))
    cluster.fail_next("GET", "secrets", 503, count=FAST.attempts)
    with pytest.raises(ApiError) as caught:
        api.get_secret(ns, "s")
    assert caught.value.status == 503
    assert caught.value.message.startswith(f"cannot get Secret {ns}/s: HTTP 503")
    assert api.get_secret(ns, "s") is not None  # exactly `attempts` requests were made


@pytest.mark.parametrize("status", [400, 403, 422])
def test_never_retries_other_client_errors(api: KubeApi, cluster: KubeCluster, ns: str, status: int) -> None:
    api.create_secret(ns, secret("s"))
    cluster.fail_next("GET", "secrets", status, count=1)
    with pytest.raises(ApiError) as caught:
        api.get_secret(ns, "s")
    assert caught.value.status == status
    assert not isinstance(caught.value, Conflict | NotFound)
    assert api.get_secret(ns, "s") is not None


def test_not_found_is_none_for_reads_and_raises_for_writes(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    created = api.create_secret(ns, secret("s"))
    cluster.fail_next("GET", "secrets", 404, count=1)
    assert api.get_secret(ns, "s") is None  # one attempt: a 404 is never retried
    assert api.get_secret(ns, "s") is not None
    with pytest.raises(NotFound) as caught:
        api.replace_secret(ns, "absent", {**created, "metadata": {"name": "absent", "namespace": ns}})
    assert caught.value.status == 404


def test_watch_yields_events_and_stops_when_asked(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    api.create_secret(ns, secret("before", role="key"))
    items, resource_version = api.list_secrets(ns, "role=key")
    assert len(items) == 1
    stop = threading.Event()
    seen: list[tuple[str, str]] = []
    two = threading.Event()
    failures: list[BaseException] = []

    def follow() -> None:
        try:
            for kind, obj in api.watch_secrets(ns, "role=key", resource_version, stop):
                seen.append((kind, obj["metadata"]["name"]))
                if len(seen) >= 2:
                    two.set()
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    cluster.fail_next("WATCH", "secrets", 503, count=2)  # opening the watch is retried like any read
    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    created = api.create_secret(ns, secret("after", role="key"))
    api.create_secret(ns, secret("unlabelled"))
    api.replace_secret(ns, "after", {**created, "data": {"k": "eQ=="}})
    assert two.wait(20), seen
    stop.set()
    watcher.join(20)
    assert not watcher.is_alive()
    assert not failures
    assert seen == [("ADDED", "after"), ("MODIFIED", "after")]
    assert cluster.pending_faults() == 0


def watch_requests(cluster: KubeCluster, ns: str) -> list[dict[str, str]]:
    return [
        record.query
        for record in cluster.requests
        if record.path == f"/api/v1/namespaces/{ns}/secrets" and record.query.get("watch") == "true"
    ]


def test_watch_resumes_from_the_last_version_when_the_server_ends_it(
    kubeconfig: str, cluster: KubeCluster, tmp_path: Path, ns: str
) -> None:
    kube = KubeApi.from_config(kubeconfig, service_account_dir=str(tmp_path / "no-sa"), backoff=FAST, watch_timeout=1)
    _, resource_version = kube.list_secrets(ns, "")
    stop = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        for _, obj in kube.watch_secrets(ns, "", resource_version, stop):
            seen.append(obj["metadata"]["name"])

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    first = kube.create_secret(ns, secret("first"))
    wait_for(lambda: seen == ["first"], message="the first event")
    wait_for(lambda: len(watch_requests(cluster, ns)) >= 2, message="a second watch request")
    kube.create_secret(ns, secret("second"))
    wait_for(lambda: len(seen) >= 2, message="the second event")
    stop.set()
    watcher.join(20)
    assert not watcher.is_alive()
    assert seen == ["first", "second"]  # nothing replayed, nothing lost
    queries = watch_requests(cluster, ns)
    assert queries[0]["resourceVersion"] == resource_version
    assert queries[1]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert queries[0]["timeoutSeconds"] == "1"
    kube.close()


def test_watch_from_a_compacted_version_raises_gone(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    _, resource_version = api.list_secrets(ns, "")
    api.create_secret(ns, secret("s"))
    cluster.compact()
    with pytest.raises(Gone) as caught:
        next(iter(api.watch_secrets(ns, "", resource_version, threading.Event())))
    assert caught.value.status == 410


def test_sealed_secret_status_goes_to_the_status_subresource(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    assert api.get_sealed_secret(ns, "mine") is None
    body = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "mine", "namespace": ns},
        "spec": {"encryptedData": {"k": "AgB="}},
    }
    client.CustomObjectsApi(cluster.api_client()).create_namespaced_custom_object(
        "bitnami.com", "v1alpha1", ns, "sealedsecrets", body
    )
    sealed = api.get_sealed_secret(ns, "mine")
    assert sealed is not None
    status = {"observedGeneration": 1, "conditions": [{"type": "Synced", "status": "True"}]}
    cluster.fail_next("PUT", "sealedsecrets", 500, count=1, subresource="status")
    written = api.replace_sealed_secret_status(ns, "mine", {**sealed, "status": status})
    assert written["status"] == status
    again = api.get_sealed_secret(ns, "mine")
    assert again is not None
    assert again["status"] == status
    assert again["spec"] == body["spec"]
    with pytest.raises(Conflict):
        api.replace_sealed_secret_status(ns, "mine", {**sealed, "status": {}})  # sealed's version is stale


def test_post_event_as_the_event_recorder_does(api: KubeApi, cluster: KubeCluster, ns: str) -> None:
    involved = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "mine", "namespace": ns, "uid": "u-1", "resourceVersion": "7"},
    }
    api.post_event(involved, type_="Warning", reason="ErrUnsealFailed", message="Failed to unseal: no key")
    events = client.CoreV1Api(cluster.api_client()).list_namespaced_event(ns, _preload_content=False)
    (event,) = json.loads(events.data)["items"]
    assert event["metadata"]["name"].startswith("mine.")
    assert re.fullmatch(r"mine\.[0-9a-f]{16}", event["metadata"]["name"])
    assert event["involvedObject"] == {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "name": "mine",
        "namespace": ns,
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning",
        "ErrUnsealFailed",
        "Failed to unseal: no key",
    )
    assert event["source"] == {"component": "sealed-secrets"}
    assert event["reportingComponent"] == "gitsecure-controller"
    assert event["count"] == 1
    assert TIMESTAMP.match(event["firstTimestamp"])
    assert event["lastTimestamp"] == event["firstTimestamp"]


def test_namespace_exists(api: KubeApi, cluster: KubeCluster) -> None:
    cluster.create_namespace("present")
    assert api.namespace_exists("present")
    assert not api.namespace_exists("absent")


def test_unreachable_server_is_an_api_error_naming_the_operation() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    kube = KubeApi(configuration, backoff=FAST, timeout=5)
    with pytest.raises(ApiError) as caught:
        kube.get_secret("ns", "s")
    assert caught.value.status == 0
    assert caught.value.reason == "Unreachable"
    assert caught.value.message.startswith("cannot get Secret ns/s: cannot reach the Kubernetes API server")


def test_from_config_uses_kubeconfig_env_then_kopf_gets_the_same_credentials(
    kubeconfig: str, cluster: KubeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ns: str
) -> None:
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    kube = KubeApi.from_config(None, service_account_dir=str(tmp_path / "no-sa"))
    assert kube.get_secret(ns, "absent") is None
    info = kube.kopf_connection_info()
    assert info.server.rstrip("/") == cluster.url.rstrip("/")
    assert info.token == cluster.token
    assert info.insecure is False


def test_from_config_missing_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(RemoteError) as caught:
        KubeApi.from_config(str(tmp_path / "nope"), service_account_dir=str(tmp_path / "no-sa"))
    assert caught.value.reference == "no-kubeconfig"


def test_from_config_prefers_the_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "unused"))
    kube = KubeApi.from_config(None, service_account_dir=str(sa))
    assert kube.configuration.host == "https://10.0.0.1:443"
    info = kube.kopf_connection_info()
    assert (info.scheme, info.token) == ("bearer", "sa-token")
    assert info.ca_path == str(sa / "ca.crt")
