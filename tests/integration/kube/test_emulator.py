"""The test harness against the Kubernetes API conventions, through the real ``kubernetes`` client over HTTP.

Every check here is one a controller's correctness depends on. ``test_plain_kmock_*`` runs the core
ones against plain kmock too, where they are expected to fail: the harness is what makes them hold.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kmock
import kubernetes
import pytest
import yaml
from kubernetes import client, watch
from kubernetes.client import ApiException

from tests.support.kube.cluster import KubeCluster, wait_for

pytestmark = pytest.mark.timeout(60)

GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
NS = "team-a"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sealed(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SealedSecret",
        "metadata": {"name": name},
        "spec": {"encryptedData": {"k": "AgBy..."}, **spec},
    }


@pytest.fixture
def cluster() -> Iterator[KubeCluster]:
    with KubeCluster(namespaces=(NS,)) as kube:
        yield kube
        assert kube.internal_errors == []


@pytest.fixture
def api(cluster: KubeCluster) -> Iterator[client.ApiClient]:
    with cluster.api_client() as api_client:
        yield api_client


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def create_ss(custom: client.CustomObjectsApi, name: str, **spec: Any) -> dict[str, Any]:
    return custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, sealed(name, **spec))  # type: ignore[no-any-return]


def get_ss(custom: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    return custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name)  # type: ignore[no-any-return]


def status_of(excinfo: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(excinfo.value.body)
    assert body["kind"] == "Status" and body["code"] == excinfo.value.status
    return body


# -- create ----------------------------------------------------------------------------------------------
def test_create_sets_server_metadata_and_takes_namespace_from_url(
    core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    secret = core.create_namespaced_secret(NS, {"metadata": {"name": "s1"}, "stringData": {"k": "v"}})
    assert secret.metadata.namespace == NS
    assert secret.metadata.uid and secret.metadata.resource_version
    assert abs(secret.metadata.creation_timestamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert secret.metadata.generation is None  # Secrets have no generation
    assert secret.data == {"k": b64("v")} and secret.type == "Opaque"  # stringData folded into data
    ss = create_ss(custom, "ss1")
    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, {**sealed("ss2"), "status": {"conditions": [{"type": "Synced"}]}}
    )
    assert ss["metadata"]["generation"] == 1 and "status" not in created  # status is not writable on create
    assert ss["metadata"]["uid"] != secret.metadata.uid
    assert int(created["metadata"]["resourceVersion"]) > int(ss["metadata"]["resourceVersion"])
    read = core.read_namespaced_secret("s1", NS)
    assert (read.metadata.uid, read.metadata.resource_version) == (
        secret.metadata.uid,
        secret.metadata.resource_version,
    )


def test_generate_name_gives_distinct_names(core: client.CoreV1Api) -> None:
    names = {core.create_namespaced_secret(NS, {"metadata": {"generateName": "key-"}}).metadata.name for _ in range(3)}
    assert len(names) == 3
    assert all(name.startswith("key-") and len(name) == len("key-") + 5 for name in names)


def test_create_errors(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(NS, {"metadata": {"name": "dup"}})
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_secret(NS, {"metadata": {"name": "dup"}})
    assert status_of(exists)["reason"] == "AlreadyExists" and exists.value.status == 409
    with pytest.raises(ApiException) as missing_ns:
        core.create_namespaced_secret("nowhere", {"metadata": {"name": "x"}})
    assert missing_ns.value.status == 404 and 'namespaces "nowhere" not found' in status_of(missing_ns)["message"]
    with pytest.raises(ApiException) as bad_owner:
        core.create_namespaced_secret(
            NS, {"metadata": {"name": "y", "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o"}]}}
        )
    assert bad_owner.value.status == 422 and "uid" in status_of(bad_owner)["message"]
    with pytest.raises(ApiException) as tls_without_key:
        core.create_namespaced_secret(
            NS, {"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}}
        )
    assert tls_without_key.value.status == 422 and "data[tls.key]" in status_of(tls_without_key)["message"]
    with pytest.raises(ApiException) as bad_name:
        core.create_namespaced_secret(NS, {"metadata": {"name": "Not_A_Name"}})
    assert bad_name.value.status == 422


# -- update ----------------------------------------------------------------------------------------------------
def test_put_replaces_and_keeps_identity(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_secret(
        NS, {"metadata": {"name": "s", "labels": {"a": "1"}}, "data": {"x": b64("1"), "y": b64("2")}}
    )
    body = {"metadata": {"name": "s", "resourceVersion": first.metadata.resource_version}, "data": {"z": b64("3")}}
    replaced = core.replace_namespaced_secret("s", NS, body)
    assert replaced.data == {"z": b64("3")} and replaced.metadata.labels is None
    assert replaced.metadata.uid == first.metadata.uid
    assert replaced.metadata.creation_timestamp == first.metadata.creation_timestamp
    assert int(replaced.metadata.resource_version) > int(first.metadata.resource_version)


def test_stale_resource_version_is_409_conflict(core: client.CoreV1Api) -> None:
    old = core.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "data": {"x": b64("1")}})
    core.patch_namespaced_secret("s", NS, {"data": {"x": b64("2")}})
    old.data = {"x": b64("3")}
    with pytest.raises(ApiException) as stale_put:
        core.replace_namespaced_secret("s", NS, old)
    assert stale_put.value.status == 409 and status_of(stale_put)["reason"] == "Conflict"
    with pytest.raises(ApiException) as stale_patch:
        core.patch_namespaced_secret(
            "s", NS, {"metadata": {"resourceVersion": old.metadata.resource_version}, "data": {"x": b64("4")}}
        )
    assert stale_patch.value.status == 409
    assert core.read_namespaced_secret("s", NS).data == {"x": b64("2")}


def test_put_on_custom_resource_needs_resource_version(custom: client.CustomObjectsApi) -> None:
    create_ss(custom, "ss")
    with pytest.raises(ApiException) as no_rv:
        custom.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "ss", sealed("ss"))
    assert no_rv.value.status == 422


def test_patch_kinds(core: client.CoreV1Api, api: client.ApiClient) -> None:
    owner_a = core.create_namespaced_secret(NS, {"metadata": {"name": "owner-a"}}).metadata.uid
    owner_b = core.create_namespaced_secret(NS, {"metadata": {"name": "owner-b"}}).metadata.uid
    ref_a = {"apiVersion": "v1", "kind": "Secret", "name": "owner-a", "uid": owner_a}
    ref_b = {"apiVersion": "v1", "kind": "Secret", "name": "owner-b", "uid": owner_b}
    core.create_namespaced_secret(
        NS, {"metadata": {"name": "s", "labels": {"a": "1", "b": "2"}, "ownerReferences": [ref_a]}}
    )
    # A dict body goes as strategic merge patch: maps merge, null removes, ownerReferences merge by uid.
    patched = core.patch_namespaced_secret(
        "s", NS, {"metadata": {"labels": {"b": None, "c": "3"}, "ownerReferences": [ref_b]}}
    )
    assert patched.metadata.labels == {"a": "1", "c": "3"}
    assert [ref.uid for ref in patched.metadata.owner_references] == [owner_a, owner_b]
    # A list body goes as JSON patch.
    patched = core.patch_namespaced_secret("s", NS, [{"op": "add", "path": "/data", "value": {"k": b64("v")}}])
    assert patched.data == {"k": b64("v")}
    # Merge patch replaces lists whole.
    api.call_api(
        f"/api/v1/namespaces/{NS}/secrets/s",
        "PATCH",
        header_params={"Content-Type": "application/merge-patch+json"},
        body={"metadata": {"ownerReferences": [ref_b]}},
        auth_settings=["BearerToken"],
        response_types_map={200: "object"},
    )
    assert [ref.uid for ref in core.read_namespaced_secret("s", NS).metadata.owner_references] == [owner_b]


def test_generation_bumps_on_spec_change_only(custom: client.CustomObjectsApi) -> None:
    created = create_ss(custom, "ss")
    labelled = custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "ss", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    respec = custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "ss", {"spec": {"encryptedData": {"k": "new"}}}
    )
    assert respec["metadata"]["generation"] == 2
    status = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, NS, PLURAL, "ss", {"status": {"observedGeneration": 2}}
    )
    assert status["metadata"]["generation"] == 2


def test_status_only_through_status_subresource(custom: client.CustomObjectsApi) -> None:
    create_ss(custom, "ss")
    current = get_ss(custom, "ss")
    current["status"] = {"conditions": [{"type": "Synced", "status": "True"}]}
    after_main = custom.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "ss", current)
    assert "status" not in after_main  # the main endpoint ignores status
    both = {"spec": {"encryptedData": {"k": "changed"}}, "status": {"observedGeneration": 1}}
    after_status = custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, PLURAL, "ss", both)
    assert after_status["status"] == {"observedGeneration": 1}
    assert after_status["spec"]["encryptedData"] == {"k": "AgBy..."}  # /status ignores spec
    replaced = custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, NS, PLURAL, "ss", {**after_status, "status": {"observedGeneration": 7}}
    )
    assert replaced["status"] == {"observedGeneration": 7}


def test_a_write_that_changes_nothing_is_not_stored(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_secret(NS, {"metadata": {"name": "s", "labels": {"a": "1"}}})
    again = core.patch_namespaced_secret("s", NS, {"metadata": {"labels": {"a": "1"}}})
    assert again.metadata.resource_version == created.metadata.resource_version


def test_immutable_secret_rejects_data_changes(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "data": {"k": b64("v")}, "immutable": True})
    with pytest.raises(ApiException) as change:
        core.patch_namespaced_secret("s", NS, {"data": {"k": b64("w")}})
    assert change.value.status == 422
    assert "field is immutable when `immutable` is set" in status_of(change)["message"]
    with pytest.raises(ApiException) as unfreeze:
        core.patch_namespaced_secret("s", NS, {"immutable": False})
    assert unfreeze.value.status == 422
    assert core.patch_namespaced_secret("s", NS, {"metadata": {"labels": {"ok": "yes"}}}).metadata.labels == {
        "ok": "yes"
    }
    assert core.read_namespaced_secret("s", NS).data == {"k": b64("v")}


# -- list and watch ------------------------------------------------------------------------------------
def test_label_and_field_selectors_on_list(core: client.CoreV1Api) -> None:
    for name, labels in (("a", {"app": "x", "tier": "db"}), ("b", {"app": "y"}), ("c", {})):
        core.create_namespaced_secret(
            NS,
            {"metadata": {"name": name, "labels": labels}, "type": "Opaque" if name != "c" else "example.com/custom"},
        )

    def names(**kwargs: Any) -> list[str]:
        return [item.metadata.name for item in core.list_namespaced_secret(NS, **kwargs).items]

    assert names(label_selector="app=x") == ["a"]
    assert names(label_selector="app!=x") == ["b", "c"]
    assert names(label_selector="app in (x, y),!tier") == ["b"]
    assert names(label_selector="app notin (x)") == ["b", "c"]
    assert names(label_selector="app") == ["a", "b"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="type=example.com/custom") == ["c"]
    assert [s.metadata.name for s in core.list_secret_for_all_namespaces(label_selector="app=y").items] == ["b"]
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_secret(NS, label_selector="app in x")
    assert bad.value.status == 400
    with pytest.raises(ApiException) as unsupported:
        core.list_namespaced_secret(NS, field_selector="spec.x=1")
    assert unsupported.value.status == 400


def test_list_pagination(core: client.CoreV1Api) -> None:
    for index in range(5):
        core.create_namespaced_secret(NS, {"metadata": {"name": f"s{index}"}})
    seen, token = [], None
    while True:
        page = core.list_namespaced_secret(NS, limit=2, _continue=token)
        seen += [item.metadata.name for item in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"s{index}" for index in range(5)]


def events(stream: Iterator[dict[str, Any]], count: int) -> list[tuple[str, str]]:
    got = []
    for event in stream:
        got.append((event["type"], event["raw_object"]["metadata"]["name"]))
        if len(got) == count:
            break
    return got


def test_watch_replays_changes_after_a_resource_version_with_selector(core: client.CoreV1Api) -> None:
    start = core.list_namespaced_secret(NS).metadata.resource_version
    core.create_namespaced_secret(NS, {"metadata": {"name": "in", "labels": {"app": "x"}}})
    core.create_namespaced_secret(NS, {"metadata": {"name": "out"}})
    core.patch_namespaced_secret("in", NS, {"metadata": {"annotations": {"n": "1"}}})
    core.patch_namespaced_secret("out", NS, {"metadata": {"labels": {"app": "x"}}})  # enters the selection
    core.patch_namespaced_secret("in", NS, {"metadata": {"labels": {"app": None}}})  # leaves it
    core.delete_namespaced_secret("out", NS)
    stream = watch.Watch().stream(core.list_namespaced_secret, NS, label_selector="app=x", resource_version=start)
    assert events(stream, 4) == [("ADDED", "in"), ("MODIFIED", "in"), ("ADDED", "out"), ("DELETED", "in")]
    assert events(stream, 1) == [("DELETED", "out")]
    stream.close()


def test_watch_delivers_live_events(cluster: KubeCluster, core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(NS, {"metadata": {"name": "before"}})

    def writer() -> None:
        wait_for(lambda: cluster.watch_count == 1, message="the watch to open")
        with cluster.api_client() as other:
            writes = client.CoreV1Api(other)
            writes.create_namespaced_secret(NS, {"metadata": {"name": "live"}})
            writes.patch_namespaced_secret("live", NS, {"metadata": {"labels": {"a": "b"}}})
            writes.delete_namespaced_secret("live", NS)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    stream = watch.Watch().stream(core.list_namespaced_secret, NS)
    got = events(stream, 4)
    stream.close()
    thread.join(10)
    assert got == [("ADDED", "before"), ("ADDED", "live"), ("MODIFIED", "live"), ("DELETED", "live")]
    wait_for(lambda: cluster.watch_count == 0, message="the closed watch to be released")


def test_watch_from_a_compacted_resource_version_gets_410(cluster: KubeCluster, core: client.CoreV1Api) -> None:
    old = core.create_namespaced_secret(NS, {"metadata": {"name": "s"}}).metadata.resource_version
    core.patch_namespaced_secret("s", NS, {"metadata": {"labels": {"a": "b"}}})
    cluster.compact()
    response = core.list_namespaced_secret(NS, watch=True, resource_version=old, _preload_content=False)
    line = next(watch.watch.iter_resp_lines(response))
    response.release_conn()
    event = json.loads(line)
    assert event["type"] == "ERROR" and event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_watch_ends_after_timeout_seconds(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(NS, {"metadata": {"name": "s"}})
    got = [event["type"] for event in watch.Watch().stream(core.list_namespaced_secret, NS, timeout_seconds=1)]
    assert got == ["ADDED"]


# -- delete and garbage collection -----------------------------------------------------------------------
def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
    }


def test_owned_objects_are_collected_by_uid(
    cluster: KubeCluster, core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    ss = create_ss(custom, "ss")
    other = create_ss(custom, "other")
    core.create_namespaced_secret(NS, {"metadata": {"name": "owned", "ownerReferences": [owner_ref(ss)]}})
    shared_refs = [owner_ref(ss), {**owner_ref(other), "controller": False}]
    core.create_namespaced_secret(NS, {"metadata": {"name": "shared", "ownerReferences": shared_refs}})
    core.create_namespaced_secret(NS, {"metadata": {"name": "unowned"}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "ss")
    wait_for(lambda: cluster.get("v1/secrets", NS, "owned") is None, message="the owned Secret to be collected")
    shared = core.read_namespaced_secret("shared", NS)
    assert [ref.uid for ref in shared.metadata.owner_references] == [other["metadata"]["uid"]]
    assert core.read_namespaced_secret("unowned", NS).metadata.name == "unowned"
    # Same name, new uid: a re-created owner does not adopt the old one's dependents.
    create_ss(custom, "ss")
    custom.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "other", propagation_policy="Orphan")
    orphan = core.read_namespaced_secret("shared", NS)
    assert orphan.metadata.owner_references is None


def test_object_whose_owner_does_not_exist_is_collected(cluster: KubeCluster, core: client.CoreV1Api) -> None:
    ghost = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SealedSecret",
        "name": "ghost",
        "uid": "00000000-0000-4000-8000-000000000000",
    }
    core.create_namespaced_secret(NS, {"metadata": {"name": "dangling", "ownerReferences": [ghost]}})
    wait_for(lambda: cluster.get("v1/secrets", NS, "dangling") is None, message="the dangling Secret to be collected")


def test_finalizers_hold_deletion(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(NS, {"metadata": {"name": "s", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_secret("s", NS)
    held = core.read_namespaced_secret("s", NS)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_secret("s", NS, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/hold"]}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_secret("s", NS)
    assert gone.value.status == 404 and status_of(gone)["message"] == 'secrets "s" not found'


# -- faults, auth, discovery, services ------------------------------------------------------------------------
def test_injected_fault_fires_once_then_normal_behaviour(
    cluster: KubeCluster, core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    current = core.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "data": {"k": b64("1")}})
    cluster.fail_next("PUT", "secrets", 409)
    cluster.fail_next("GET", "secrets", 503, count=2, name="s")
    current.data = {"k": b64("2")}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_secret("s", NS, current)
    assert conflict.value.status == 409 and status_of(conflict)["reason"] == "Conflict"
    for _ in range(2):
        with pytest.raises(ApiException) as unavailable:
            core.read_namespaced_secret("s", NS)
        assert unavailable.value.status == 503
    assert core.read_namespaced_secret("s", NS).data == {"k": b64("1")}  # the failed PUT changed nothing
    assert core.replace_namespaced_secret("s", NS, current).data == {"k": b64("2")}
    create_ss(custom, "ss")
    cluster.fail_next("PATCH", PLURAL, 500, subresource="status")
    assert custom.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "ss", {"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(ApiException) as internal:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS, PLURAL, "ss", {"status": {"observedGeneration": 1}}
        )
    assert internal.value.status == 500
    assert cluster.pending_faults() == 0


def test_requests_need_the_token(cluster: KubeCluster) -> None:
    config = client.Configuration(host=cluster.url)
    with client.ApiClient(config) as anonymous, pytest.raises(ApiException) as denied:
        client.CoreV1Api(anonymous).list_namespaced_secret(NS)
    assert denied.value.status == 401


def test_discovery_lists_declared_resources(api: client.ApiClient) -> None:
    listing = api.call_api(
        f"/apis/{GROUP}/{VERSION}", "GET", auth_settings=["BearerToken"], response_types_map={200: "object"}
    )[0]
    names = {resource["name"] for resource in listing["resources"]}
    assert names == {"sealedsecrets", "sealedsecrets/status"}


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        echo = {"method": self.command, "path": self.path, "body": body.decode(), "headers": dict(self.headers)}
        data = json.dumps(echo).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_service_get_and_proxy(
    cluster: KubeCluster, core: client.CoreV1Api, api: client.ApiClient, echo_port: int
) -> None:
    cluster.expose_service("kube-system", "sealed-secrets-controller", "", echo_port)
    service = core.read_namespaced_service("sealed-secrets-controller", "kube-system")
    assert service.spec.ports[0].name is None and service.spec.ports[0].port == 8080

    def proxy(target: str, path: str, method: str = "GET", body: Any = None) -> Any:
        url = f"/api/v1/namespaces/kube-system/services/{target}/proxy{path}"
        return api.call_api(url, method, body=body, auth_settings=["BearerToken"], _preload_content=False)

    reply = json.loads(proxy("http:sealed-secrets-controller:", "/v1/verify?x=1", "POST", {"a": 1}).data)
    assert reply["method"] == "POST" and reply["path"] == "/v1/verify?x=1" and json.loads(reply["body"]) == {"a": 1}
    assert "Authorization" not in reply["headers"] and reply["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert json.loads(proxy("sealed-secrets-controller:8080", "/v1/cert.pem").data)["path"] == "/v1/cert.pem"
    with pytest.raises(ApiException) as wrong_port:
        proxy("http:sealed-secrets-controller:http", "/v1/cert.pem")
    assert wrong_port.value.status == 503
    with pytest.raises(ApiException) as no_service:
        proxy("http:nope:", "/v1/cert.pem")
    assert no_service.value.status == 404


# -- plain kmock gets these wrong --------------------------------------------------------------------
@pytest.fixture(
    scope="module",
    params=[
        pytest.param(None, id="strict"),
        pytest.param(
            kmock.KubernetesEmulator, id="plain-kmock", marks=pytest.mark.xfail(strict=True, reason="kmock 0.8 gap")
        ),
    ],
)
def either(request: pytest.FixtureRequest) -> Iterator[client.CoreV1Api]:
    options: dict[str, Any] = {"emulator_cls": request.param} if request.param else {}
    with KubeCluster(**options) as kube, kube.api_client() as api_client:
        yield client.CoreV1Api(api_client)


@pytest.mark.parametrize("name", ["put", "uid", "stale", "selector"])
def test_plain_kmock_breaks_conventions(either: client.CoreV1Api, name: str) -> None:
    core, ns = either, "default"
    created = core.create_namespaced_secret(
        ns, {"metadata": {"name": f"{name}-1", "labels": {"t": name}}, "data": {"a": b64("1")}}
    )
    if name == "put":
        replaced = core.replace_namespaced_secret(
            f"{name}-1", ns, {"metadata": {"name": f"{name}-1"}, "data": {"b": b64("2")}}
        )
        assert replaced.data == {"b": b64("2")}
    elif name == "uid":
        assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    elif name == "stale":
        core.patch_namespaced_secret(f"{name}-1", ns, {"data": {"a": b64("2")}})
        with pytest.raises(ApiException) as stale:
            core.patch_namespaced_secret(
                f"{name}-1", ns, {"metadata": {"resourceVersion": "1"}, "data": {"a": b64("3")}}
            )
        assert stale.value.status == 409
    else:
        core.create_namespaced_secret(ns, {"metadata": {"name": f"{name}-2"}})
        assert [s.metadata.name for s in core.list_namespaced_secret(ns, label_selector=f"t={name}").items] == [
            f"{name}-1"
        ]


# -- the standalone cluster (make demo, bench) ---------------------------------------------------------------
def test_standalone_cluster_serves_until_sigterm(tmp_path: Path) -> None:
    kubeconfig, ready = tmp_path / "kubeconfig", tmp_path / "ready"
    argv = [sys.executable, "-m", "tests.support.kube", "--kubeconfig", str(kubeconfig), "--ready-file", str(ready)]
    argv += ["--namespace", "team-b", "--service", "kube-system/sealed-secrets-controller:http=9"]
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(ready.exists, timeout=30, message="the ready file")
        config = client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=config)
        assert config.host == ready.read_text().strip()
        with client.ApiClient(config) as api:
            core = client.CoreV1Api(api)
            assert core.read_namespace("team-b").status.phase == "Active"
            assert core.read_namespaced_service("sealed-secrets-controller", "kube-system").spec.ports[0].name == "http"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert not ready.exists()
    token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    assert token not in out + err
