"""``gitsecure seal`` against the real controller HTTP API (not the test stand-in).

The controller application runs as in the controller process
(:func:`gitsecure.controller.httpapi.controller_app` on a real socket). The
CLI runs as a subprocess and reaches it two ways, as users do:

* directly, ``--cert http://.../v1/cert.pem`` (an Ingress in front of it);
* through the API server's service proxy (``--fetch-cert``, ``--validate``,
  ``--re-encrypt``): the stand-in API server of :mod:`tests.support.standin_controller`
  answers the Service lookup and authentication and forwards the proxied
  controller paths over HTTP to the real application.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsecure.controller.httpapi import controller_app
from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.controller.metrics import Metrics
from gitsecure.crypto.keys import KeyPair, dump_certificate
from gitsecure.errors import InputError
from gitsecure.seal import render, sealedsecret
from gitsecure.seal.manifest import Manifest, load_objects
from gitsecure.seal.secret import Secret
from tests.support.seal_runner import Runner
from tests.support.served_app import Served, serve
from tests.support.standin_controller import StandinController, _Reply

PASSWORD = "correct-horse-battery-staple"
SECRET_YAML = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: team-a
stringData:
  password: {PASSWORD}
"""


def registry_of(*pairs: KeyPair) -> KeyRegistry:
    """A key registry holding ``pairs`` (the newest NotBefore is active)."""
    registry = KeyRegistry()
    for index, pair in enumerate(pairs):
        registry.add_generated(pair, secret_name=f"sealed-secrets-key{index}")
    return registry


class ProxyToController(StandinController):
    """The stand-in API server, with the service proxy forwarding to a real controller over HTTP."""

    def __init__(self, controller: Served) -> None:
        super().__init__([])
        self._target = controller

    def _controller(self, method: str, path: str, body: bytes) -> _Reply:
        reply = self._target.request(path, method=method, body=body if method != "GET" else None)
        return _Reply(reply.status, reply.body, reply.content_type or "text/plain; charset=utf-8")


@pytest.fixture
def registry(small_pair: KeyPair) -> KeyRegistry:
    return registry_of(small_pair)


@pytest.fixture
def controller(registry: KeyRegistry) -> Iterator[Served]:
    app = lambda: controller_app(  # noqa: E731
        registry, Metrics(version="test"), rate_limit=100, burst=100, accept_deprecated_v1_data=True
    )
    with serve(app) as served:
        yield served


@pytest.fixture
def kubeconfig(controller: Served, tmp_path: Path) -> Iterator[Path]:
    with ProxyToController(controller) as api_server:
        yield api_server.write_kubeconfig(tmp_path / "kubeconfig", namespace="team-a")
        assert api_server.internal_errors == []


def items(obj: Manifest, *pairs: KeyPair) -> dict[str, bytes]:
    secret = sealedsecret.unseal(obj, [p.private_key for p in pairs])
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


def sealed_with(pair: KeyPair, name: str) -> Manifest:
    secret = Secret({"name": name, "namespace": "team-a"}, {"password": PASSWORD.encode()}, None, None)
    return sealedsecret.build(secret, pair.private_key.public_key())


def test_seal_with_the_cert_url_then_verify(seal: Runner, controller: Served, small_pair: KeyPair) -> None:
    run = seal("--cert", controller.url + "/v1/cert.pem", "-o", "yaml", input=SECRET_YAML)
    assert run.returncode == 0, run.stderr
    (sealed,) = load_objects(run.text)
    assert items(sealed, small_pair) == {"password": PASSWORD.encode()}
    reply = controller.request("/v1/verify", method="POST", body=run.stdout)
    assert reply.status == 200


def test_fetch_cert_through_the_service_proxy(seal: Runner, kubeconfig: Path, small_pair: KeyPair) -> None:
    run = seal("--fetch-cert", "--kubeconfig", str(kubeconfig))
    assert run.returncode == 0, run.stderr
    assert run.stdout == dump_certificate(small_pair.certificate)


def test_validate_through_the_service_proxy(
    seal: Runner, kubeconfig: Path, small_pair: KeyPair, other_pair: KeyPair
) -> None:
    opens = sealed_with(small_pair, "db-credentials")
    foreign = sealed_with(other_pair, "api-token")
    run = seal("--validate", "--kubeconfig", str(kubeconfig), input=render.render([opens, foreign], "yaml"))
    assert run.returncode == 1, run.stderr
    assert run.stderr_lines == ["error: unable to decrypt sealed secret: api-token"]


def test_re_encrypt_through_the_service_proxy(
    seal: Runner, kubeconfig: Path, registry: KeyRegistry, small_pair: KeyPair, other_pair: KeyPair
) -> None:
    old = sealed_with(small_pair, "db-credentials")
    registry.add_generated(
        other_pair, secret_name="sealed-secrets-key-renewed"
    )  # key renewal: the newer key is active now
    run = seal("--re-encrypt", "--kubeconfig", str(kubeconfig), input=json.dumps(old))
    assert run.returncode == 0, run.stderr
    (rotated,) = load_objects(run.text)
    assert (rotated["kind"], rotated["apiVersion"]) == ("SealedSecret", "bitnami.com/v1alpha1")
    assert items(rotated, other_pair) == {"password": PASSWORD.encode()}
    with pytest.raises(InputError, match="no key could decrypt"):
        items(rotated, small_pair)
    assert PASSWORD not in run.stderr
