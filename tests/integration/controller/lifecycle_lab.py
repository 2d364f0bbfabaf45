"""A fresh cluster per test and controllers started, stopped, killed and restarted in it.

The life-cycle scenarios (keys, restarts, faults, leader election) change the
controller itself: its flags, its key ring, its process. So unlike the shared
module controller of ``conftest.py``, every test here gets its own
:class:`KubeCluster` and launches its own ``gitsecure controller run``
subprocesses. Assertions read the stored objects through the harness; writes go
over HTTP with the ``kubernetes`` client, as ``kubectl`` would send them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from kubernetes import client

from gitsecure.crypto.keys import (
    KeyPair,
    PrivateKey,
    PublicKey,
    dump_certificate,
    dump_private_key,
    load_private_key,
    sealing_public_key,
)
from gitsecure.seal import sealedsecret
from gitsecure.seal.secret import Secret
from tests.integration.controller.scenario import SEALED, Scenario, decoded
from tests.support.kube.cluster import KubeCluster, wait_for
from tests.support.kube.controller_proc import ControllerProcess
from tests.support.seal_runner import Runner

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
CONTROLLER_NS = "kube-system"
LEASES = "coordination.k8s.io/v1/leases"
LEASE_NAME = "gitsecure-controller"
# Short leader-election timings (client-go's are 15s/10s/2s) so takeovers happen within a test.
FAST_LEASE = (
    "--leader-elect-lease-duration",
    "3s",
    "--leader-elect-renew-deadline",
    "2s",
    "--leader-elect-retry-period",
    "500ms",
)


def upstream_key_secret(
    pair: KeyPair, name: str, *, label: str = "active", fmt: Literal["pkcs1", "pkcs8"] = "pkcs1"
) -> dict[str, Any]:
    """A key Secret as the sealed-secrets controller (or ``kubectl create secret tls`` + ``kubectl label``) makes it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": CONTROLLER_NS, "labels": {KEY_LABEL: label}},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(dump_certificate(pair.certificate)).decode(),
            "tls.key": base64.b64encode(dump_private_key(pair.private_key, fmt=fmt)).decode(),
        },
    }


def key_secrets(cluster: KubeCluster) -> list[dict[str, Any]]:
    """The active key Secrets of the controller namespace, oldest first."""
    secrets = cluster.objects("v1/secrets", CONTROLLER_NS)
    active = [s for s in secrets if (s["metadata"].get("labels") or {}).get(KEY_LABEL) == "active"]
    return sorted(active, key=lambda s: (s["metadata"]["creationTimestamp"], int(s["metadata"]["resourceVersion"])))


def cert_of(key_secret: Mapping[str, Any]) -> bytes:
    """The certificate PEM of a key Secret."""
    return base64.b64decode(key_secret["data"]["tls.crt"])


def private_key_of(key_secret: Mapping[str, Any]) -> PrivateKey:
    """The private key of a key Secret."""
    return load_private_key(base64.b64decode(key_secret["data"]["tls.key"]))


def sealed_for(public_key: Any, namespace: str, name: str, items: Mapping[str, bytes]) -> dict[str, Any]:
    """A strict-scope SealedSecret for ``items``, sealed in-process (for keys the controller may not hold)."""
    secret = Secret({"name": name, "namespace": namespace}, dict(items), None, None)
    return dict(sealedsecret.build(secret, public_key))


def opens_with(sealed: Mapping[str, Any], keys: Sequence[PrivateKey]) -> bool:
    """Whether ``keys`` decrypt every item of ``sealed``."""
    try:
        sealedsecret.unseal(dict(sealed), list(keys))
    except Exception:
        return False
    return True


def cert_answer(controller: ControllerProcess) -> bytes | None:
    """``/v1/cert.pem`` straight from the controller, or None while it has none to serve."""
    try:
        with urllib.request.urlopen(f"{controller.url}/v1/cert.pem", timeout=5) as reply:
            return bytes(reply.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def verify(controller: ControllerProcess, sealed: Mapping[str, Any]) -> int:
    """The HTTP status of ``POST /v1/verify`` with ``sealed``."""
    request = urllib.request.Request(f"{controller.url}/v1/verify", data=json.dumps(sealed).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def rfc1123z(moment: dt.datetime) -> str:
    """``--key-cutoff-time`` syntax: Go's RFC1123Z (``Mon, 02 Jan 2006 15:04:05 -0700``)."""
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z")


def lease_spec(cluster: KubeCluster) -> dict[str, Any]:
    """The controller Lease's spec ({} while there is none)."""
    lease = cluster.get(LEASES, CONTROLLER_NS, LEASE_NAME) or {}
    return dict(lease.get("spec") or {})


def answers(cluster: KubeCluster, method: str, path: str) -> list[int]:
    """The HTTP statuses the API server gave to ``method path`` so far, oldest first."""
    return [r.status for r in cluster.requests if r.method == method and r.path == path]


def stopped_cleanly(controller: ControllerProcess) -> None:
    """SIGTERM: exit 0 within a few seconds, a clean log."""
    assert controller.stop(timeout=10) == 0, controller.log_text()[-3000:]
    log = controller.log_text()
    assert "controller stopped" in log.splitlines()[-1], log[-2000:]
    assert "Traceback" not in log, log


def wait_keys(lab: Lab, count: int) -> list[dict[str, Any]]:
    """Wait until there are ``count`` active key Secrets; them, oldest first."""

    def probe() -> list[dict[str, Any]]:
        keys = key_secrets(lab.cluster)
        return keys if len(keys) == count else []

    return wait_for(probe, message=f"{count} key Secrets")


def public_key(cert: bytes) -> PublicKey:
    """The RSA key of a certificate PEM, as ``gitsecure seal`` takes it."""
    return sealing_public_key(cert, now=dt.datetime.now(dt.UTC))


class Lab:
    """One test's cluster, a namespace for its SealedSecrets, and the controllers it launched."""

    def __init__(self, cluster: KubeCluster, tmp_path: Path, runner: Runner, namespace: str) -> None:
        self.cluster = cluster
        self.tmp_path = tmp_path
        self.runner = runner
        self.namespace = namespace
        self.api = cluster.api_client()
        self.core = client.CoreV1Api(self.api)
        self._controllers: list[ControllerProcess] = []

    def launch(self, *args: str, name: str = "controller", env: Mapping[str, str] | None = None) -> ControllerProcess:
        """Start ``gitsecure controller run --key-size 2048 ARGS`` (not waiting for it)."""
        controller = ControllerProcess(self.cluster, self.tmp_path, "--key-size", "2048", *args, env=env, name=name)
        self._controllers.append(controller)
        return controller

    def ready(self, controller: ControllerProcess) -> bytes:
        """Wait until ``controller`` answers and serves a certificate; expose it; return the certificate."""
        controller.wait_ready()
        cert = wait_for(lambda: cert_answer(controller), timeout=30, message="a certificate on /v1/cert.pem")
        assert cert is not None
        controller.expose()
        return cert

    def scenario(self, cert: bytes) -> Scenario:
        """Scenario helpers for this test's namespace, sealing with ``cert``."""
        path = self.tmp_path / f"cert-{len(list(self.tmp_path.glob('cert-*.pem')))}.pem"
        path.write_bytes(cert)
        return Scenario(self.cluster, self.api, self.runner, path, self.namespace)

    def add_key(self, body: Mapping[str, Any]) -> None:
        """POST a key Secret into the controller namespace."""
        self.core.create_namespaced_secret(CONTROLLER_NS, dict(body))

    def close(self) -> None:
        """Kill whatever is still running (a failed test), then drop the client."""
        for controller in self._controllers:
            if controller.running:
                controller.kill()
        self.api.close()


def create_many(scenario: Scenario, cert: bytes, count: int) -> None:
    """``count`` SealedSecrets ``s000``, ``s001``, ... of two items each, sealed for ``cert``."""
    key = public_key(cert)
    for index in range(count):
        items = {"user": f"user-{index}".encode(), "password": f"pw-{index}".encode()}
        scenario.create_sealed(sealed_for(key, scenario.namespace, f"s{index:03d}", items))


def secrets_made(lab: Lab) -> int:
    """How many Secrets the test's namespace holds."""
    return len(lab.cluster.objects("v1/secrets", lab.namespace))


def all_synced(lab: Lab, count: int) -> bool:
    """Every SealedSecret Synced at its generation, and its Secret holding exactly its data."""
    sealed = lab.cluster.objects(SEALED, lab.namespace)
    secrets = {s["metadata"]["name"]: s for s in lab.cluster.objects("v1/secrets", lab.namespace)}
    if len(sealed) != count or len(secrets) != count:
        return False
    for obj in sealed:
        status = obj.get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        if conditions != {"Synced": "True"} or status.get("observedGeneration") != obj["metadata"]["generation"]:
            return False
    for name, secret in secrets.items():
        index = int(name[1:])
        assert decoded(secret) == {"user": f"user-{index}".encode(), "password": f"pw-{index}".encode()}, name
    return True
