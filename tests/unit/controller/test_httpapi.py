"""The controller's HTTP API and metrics server over real HTTP (reference section 5).

Each test serves the real aiohttp application on 127.0.0.1 and a free port
from a background loop (:mod:`tests.support.served_app`) and talks to it with
``urllib``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import pytest
import yaml

from gitsecure.controller.httpapi import MAX_BODY, controller_app, metrics_app, parse_listen_addr, start_site
from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.controller.metrics import Metrics
from gitsecure.crypto.keys import KeyPair, dump_certificate
from gitsecure.errors import GitsecureError, InputError, UsageError
from gitsecure.seal import sealedsecret
from gitsecure.seal.manifest import Manifest
from gitsecure.seal.secret import Secret
from tests.support.served_app import Served, serve

PASSWORD = b"hunter2-never-in-a-log"


def registry_of(*pairs: KeyPair) -> KeyRegistry:
    """A key registry holding ``pairs`` (the newest NotBefore is active)."""
    registry = KeyRegistry()
    for index, pair in enumerate(pairs):
        registry.add_generated(pair, secret_name=f"sealed-secrets-key{index}")
    return registry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class RecordingExecutor(ThreadPoolExecutor):
    """Notes the thread every submitted call ran on."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="rsa-test")
        self.threads: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def recorded() -> Any:
            self.threads.append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return super().submit(recorded)


def sealed_for(pair: KeyPair, *, name: str = "db", template_data: dict[str, str] | None = None) -> Manifest:
    secret = Secret(
        {"name": name, "namespace": "shop", "labels": {"app": "shop"}}, {"password": PASSWORD}, "Opaque", None
    )
    sealed = sealedsecret.build(secret, pair.private_key.public_key())
    if template_data:
        sealed["spec"]["template"]["data"] = template_data
    return sealed


def as_json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


@pytest.fixture
def executor() -> Iterator[RecordingExecutor]:
    with RecordingExecutor() as pool:
        yield pool


def served_api(
    registry: KeyRegistry,
    *,
    metrics: Metrics | None = None,
    rate: float = 1000,
    burst: int = 1000,
    clock: Callable[[], float] | None = None,
    executor: RecordingExecutor | None = None,
) -> AbstractContextManager[Served]:
    metrics = metrics or Metrics(version="test")
    return serve(
        lambda: controller_app(
            registry,
            metrics,
            rate_limit=rate,
            burst=burst,
            accept_deprecated_v1_data=True,
            executor=executor,
            clock=clock or Clock(),
        )
    )


@pytest.fixture
def api(small_pair: KeyPair, executor: RecordingExecutor) -> Iterator[Served]:
    with served_api(registry_of(small_pair), executor=executor) as served:
        yield served


# -- /healthz and /v1/cert.pem --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_healthz_answers_any_method(api: Served, method: str) -> None:
    reply = api.request("/healthz", method=method)
    assert (reply.status, reply.body, reply.content_type) == (200, b"ok\n", "text/plain; charset=utf-8")


def test_cert_is_the_active_certificate(small_pair: KeyPair, other_pair: KeyPair) -> None:
    registry = registry_of(small_pair)
    with served_api(registry) as served:
        reply = served.request("/v1/cert.pem")
        assert (reply.status, reply.content_type) == (200, "application/x-pem-file")
        assert reply.body == dump_certificate(small_pair.certificate)
        registry.add_generated(
            other_pair, secret_name="sealed-secrets-key-renewed"
        )  # a renewal: the newer key becomes active
        reply = served.request("/v1/cert.pem", method="POST")
        assert reply.body == dump_certificate(other_pair.certificate)
        assert reply.body.count(b"BEGIN CERTIFICATE") == 1


def test_cert_without_keys_is_a_500() -> None:
    with served_api(registry_of()) as served:
        reply = served.request("/v1/cert.pem")
    assert (reply.status, reply.body) == (500, b"cannot get certificate\n")
    assert reply.content_type == "text/plain; charset=utf-8"


def test_unknown_paths_are_404(api: Served) -> None:
    reply = api.request("/v1/other")
    assert (reply.status, reply.body) == (404, b"404 page not found\n")


# -- /v1/verify ------------------------------------------------------------------------------------------------


def test_verify_opens_json_and_yaml(api: Served, small_pair: KeyPair, executor: RecordingExecutor) -> None:
    sealed = sealed_for(small_pair)
    for body in (as_json(sealed), yaml.safe_dump(sealed).encode()):
        reply = api.request("/v1/verify", method="POST", body=body)
        assert (reply.status, reply.body) == (200, b"")
    # Decoding and RSA ran in the executor, never on the event loop's thread.
    assert executor.threads and all(name.startswith("rsa-test") for name in executor.threads)


def test_verify_cannot_unseal_is_409(api: Served, small_pair: KeyPair, other_pair: KeyPair) -> None:
    renamed = sealed_for(small_pair)
    renamed["metadata"]["name"] = renamed["spec"]["template"]["metadata"]["name"] = "renamed"
    bad_template = sealed_for(small_pair, template_data={"dsn": "{{ .nope | b64dec }}"})
    for sealed in (sealed_for(other_pair), renamed, bad_template):
        reply = api.request("/v1/verify", method="POST", body=as_json(sealed))
        assert (reply.status, reply.body) == (409, b"")


def test_verify_with_no_keys_is_409(small_pair: KeyPair) -> None:
    with served_api(registry_of()) as served:
        assert served.request("/v1/verify", method="POST", body=as_json(sealed_for(small_pair))).status == 409


def undecodable_bodies(sealed: Manifest) -> dict[str, bytes]:
    secret_kind = {**sealed, "kind": "Secret", "apiVersion": "v1"}
    wrong_type = json.loads(json.dumps(sealed))
    wrong_type["spec"]["encryptedData"]["password"] = 5
    return {
        "not yaml": b"{ not: [valid",
        "multi-document": yaml.safe_dump(sealed).encode() + b"---\n" + yaml.safe_dump(sealed).encode(),
        "json stream": as_json(sealed) + as_json(sealed),
        "other kind": as_json(secret_kind),
        "no apiVersion": as_json({k: v for k, v in sealed.items() if k != "apiVersion"}),
        "field of the wrong type": as_json(wrong_type),
        "not an object": b"[1, 2]",
        "empty": b"",
        "not utf-8": b"\xff\xfe\xfd",
    }


def test_verify_undecodable_is_500(api: Served, small_pair: KeyPair) -> None:
    for what, body in undecodable_bodies(sealed_for(small_pair)).items():
        reply = api.request("/v1/verify", method="POST", body=body)
        assert (reply.status, reply.body) == (500, b""), what


def status_of_raw_request(port: int, request: bytes) -> bytes:
    """Send ``request`` as is and return the status line, without waiting for the server to close."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n", 1)[0]


def test_verify_body_too_large_is_400(api: Served) -> None:
    declared = b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{" % (MAX_BODY + 1)
    assert status_of_raw_request(api.port, declared) == b"HTTP/1.1 400 Bad Request"
    big = MAX_BODY + 1
    chunked = b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % big
    assert status_of_raw_request(api.port, chunked + b" " * big + b"\r\n") == b"HTTP/1.1 400 Bad Request"
    # The refused connections did not wedge the server.
    assert api.request("/healthz").status == 200


def test_verify_is_rate_limited_per_client(small_pair: KeyPair) -> None:
    clock = Clock()
    body = as_json(sealed_for(small_pair))
    with served_api(registry_of(small_pair), rate=2, burst=1, clock=clock) as served:
        first = [served.request("/v1/verify", method="POST", body=body) for _ in range(3)]
        assert [r.status for r in first] == [200, 200, 429]
        assert first[0].headers["X-RateLimit-Limit"] == "2"
        limited = first[2]
        assert (limited.body, limited.content_type) == (b"limit exceeded\n", "text/plain; charset=utf-8")
        assert limited.headers["Retry-After"] == "1"
        # Another client (as the ingress or API server proxy reports it) has its own allowance.
        other = served.request("/v1/verify", method="POST", body=body, headers={"X-Forwarded-For": "10.0.0.9"})
        assert other.status == 200
        # rotate and cert.pem are not limited.
        assert served.request("/v1/cert.pem").status == 200
        assert served.request("/v1/rotate", method="POST", body=body).status == 200
        clock.now += 0.5
        assert served.request("/v1/verify", method="POST", body=body).status == 200
        assert served.request("/v1/verify", method="POST", body=body).status == 429


# -- /v1/rotate ------------------------------------------------------------------------------------------------


def test_rotate_reseals_with_the_active_key(small_pair: KeyPair, other_pair: KeyPair) -> None:
    sealed = sealed_for(small_pair, template_data={"dsn": "user:{{ .password }}"})
    with served_api(registry_of(small_pair, other_pair)) as served:
        reply = served.request("/v1/rotate", method="POST", body=as_json(sealed))
    assert reply.status == 200
    # Upstream's handler sets its content type too late; Go sniffs text/plain.
    assert reply.content_type == "text/plain; charset=utf-8"
    rotated = json.loads(reply.body)
    assert set(rotated) == {"metadata", "spec"}  # kind and apiVersion omitted, as upstream
    assert rotated["metadata"] == {"name": "db", "namespace": "shop"}
    full = {"kind": "SealedSecret", "apiVersion": "bitnami.com/v1alpha1", **rotated}
    with pytest.raises(InputError):
        sealedsecret.unseal(full, [small_pair.private_key])
    opened = sealedsecret.unseal(full, [other_pair.private_key])
    data = {k: base64.b64decode(v) for k, v in opened["data"].items()}
    # The rendered template became an ordinary item.
    assert data == {"password": PASSWORD, "dsn": b"user:" + PASSWORD}
    assert PASSWORD not in reply.body


def test_rotate_failures_are_500(small_pair: KeyPair, other_pair: KeyPair) -> None:
    with served_api(registry_of(small_pair)) as served:
        bodies = [as_json(sealed_for(other_pair)), *undecodable_bodies(sealed_for(small_pair)).values()]
        for body in bodies:
            reply = served.request("/v1/rotate", method="POST", body=body)
            assert (reply.status, reply.body) == (500, b"")
    with served_api(registry_of()) as served:
        assert served.request("/v1/rotate", method="POST", body=as_json(sealed_for(small_pair))).status == 500


def test_no_secret_value_reaches_the_logs(
    api: Served, small_pair: KeyPair, other_pair: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad_template = sealed_for(small_pair, template_data={"x": "{{ .password | b64dec }}"})
    for sealed in (sealed_for(small_pair), sealed_for(other_pair), bad_template):
        for path in ("/v1/verify", "/v1/rotate"):
            api.request(path, method="POST", body=as_json(sealed))
    api.request("/v1/verify", method="POST", body=b"password: " + PASSWORD + b"\n  bad: [")
    assert caplog.records  # failures were logged...
    assert PASSWORD.decode() not in caplog.text  # ...without the value


# -- metrics ---------------------------------------------------------------------------------------------------


def test_http_metrics_over_the_metrics_server(small_pair: KeyPair) -> None:
    metrics = Metrics(version="v1.2.3")
    body = as_json(sealed_for(small_pair))
    with served_api(registry_of(small_pair), metrics=metrics, rate=1, burst=0) as api:
        api.request("/healthz")
        api.request("/v1/cert.pem")
        api.request("/v1/verify", method="POST", body=body)
        api.request("/v1/verify", method="POST", body=body)  # limited
        api.request("/v1/rotate", method="PUT", body=b"nope")
    with serve(lambda: metrics_app(metrics)) as server:
        reply = server.request("/metrics")
    assert reply.status == 200
    assert reply.content_type.startswith("text/plain")
    lines = reply.body.decode().splitlines()
    for line in (
        'sealed_secrets_controller_build_info{revision="v1.2.3"} 1.0',
        'sealed_secrets_controller_http_requests_total{code="200",method="get",path="/v1/cert.pem"} 1.0',
        'sealed_secrets_controller_http_requests_total{code="200",method="post",path="/v1/verify"} 1.0',
        'sealed_secrets_controller_http_requests_total{code="429",method="post",path="/v1/verify"} 1.0',
        'sealed_secrets_controller_http_requests_total{code="500",method="put",path="/v1/rotate"} 1.0',
        'sealed_secrets_controller_http_request_duration_seconds_count{method="post",path="/v1/verify"} 2.0',
        "sealed_secrets_controller_unseal_requests_total 0.0",
    ):
        assert line in lines, line
    assert "healthz" not in reply.body.decode()


# -- listening -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        (":8080", ("", 8080)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:9", ("::1", 9)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_listen_addresses(addr: str, expected: tuple[str, int]) -> None:
    assert parse_listen_addr(addr) == expected


@pytest.mark.parametrize("addr", ["8080", ":http", "host:", ":70000", "::1:80", ""])
def test_bad_listen_addresses(addr: str) -> None:
    with pytest.raises(UsageError):
        parse_listen_addr(addr)


def test_all_interfaces_with_a_random_port() -> None:
    with serve(lambda: metrics_app(Metrics(version="v")), ":0") as server:
        assert server.port > 0
        assert server.request("/metrics").status == 200


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        async def start() -> None:
            await start_site(metrics_app(Metrics(version="v")), f"127.0.0.1:{port}")

        with pytest.raises(GitsecureError, match=f"cannot listen on 127.0.0.1:{port}"):
            asyncio.run(start())
