"""``gitsecure verify webhook`` end to end: the real CLI process serving HTTPS with a test certificate, AdmissionReviews
posted as the API server would, images in a real docker-registry on loopback signed with ``gitsecure sign image``."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gitsecure.cli.main import main
from gitsecure.crypto.cosign_keys import generate_key_pair
from gitsecure.verify.images.registry import RegistryClient
from tests.support.oci import push_image
from tests.support.registry import LocalRegistry, free_port

PASSWORD = "webhook test"
POLICY = """\
version: 1
authorities:
  - {name: ci, keys: [ci.pub]}
images:
  - glob: "HOST/prod/**"
    authorities: [ci]
  - glob: "HOST/sandbox/**"
    authorities: [ci]
    mode: warn
  - glob: "127.0.0.1:1/**"
    authorities: [ci]
"""


def _tls(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitsecure-webhook.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Webhook:
    port: int
    context: ssl.SSLContext
    proc: subprocess.Popen[bytes]

    def post(self, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        try:
            conn.request("POST", "/validate", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def review(self, obj: dict[str, Any] | None, *, operation: str = "CREATE") -> dict[str, Any]:
        request: dict[str, Any] = {"uid": "0a1b-2c3d", "operation": operation, "object": obj}
        status, body = self.post(
            json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}).encode()
        )
        assert status == 200, body
        answer = json.loads(body)
        assert answer["kind"] == "AdmissionReview"
        assert answer["response"]["uid"] == "0a1b-2c3d"
        return dict(answer["response"])

    def healthz(self) -> int:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=10)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status
        finally:
            conn.close()


@dataclass
class World:
    host: str
    client: RegistryClient
    key: Path
    webhook: Webhook

    def signed(self, repo: str) -> str:
        pushed = push_image(self.client, f"{self.host}/{repo}:v1")
        assert main(["sign", "image", pushed.pinned, "--key", str(self.key), "--allow-http-registry"]) == 0
        return f"{self.host}/{repo}:v1"

    def unsigned(self, repo: str) -> str:
        push_image(self.client, f"{self.host}/{repo}:v1")
        return f"{self.host}/{repo}:v1"


@pytest.fixture
def world(oci_registry: LocalRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    private, public = generate_key_pair(PASSWORD.encode())
    (tmp_path / "ci.key").write_bytes(private)
    (tmp_path / "ci.pub").write_bytes(public)
    (tmp_path / "policy.yaml").write_text(POLICY.replace("HOST", oci_registry.host))
    cert, key = _tls(tmp_path)
    port = free_port()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path / "docker")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitsecure", "verify", "webhook", "--policy", str(tmp_path / "policy.yaml"),
         "--listen", f"127.0.0.1:{port}", "--tls-cert", str(cert), "--tls-key", str(key), "--allow-http-registry"],
        stderr=subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "listening on https://127.0.0.1:" in line, line
    context = ssl.create_default_context(cafile=str(cert))
    webhook = Webhook(port, context, proc)
    try:
        yield World(oci_registry.host, RegistryClient(allow_http=True), tmp_path / "ci.key", webhook)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def _pod(*images: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)],
            "initContainers": [{"name": f"i{i}", "image": image} for i, image in enumerate(init)],
        },
    }


def _deployment(*images: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image} for image in images]}}},
    }


def test_signed_image_is_admitted(world: World) -> None:
    response = world.webhook.review(_pod(world.signed("prod/api")))
    assert response["allowed"] is True
    assert "warnings" not in response


def test_unsigned_image_in_a_deployment_is_denied_with_its_name_and_reason(world: World) -> None:
    image = world.unsigned("prod/worker")
    response = world.webhook.review(_deployment(image))
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    assert image in response["status"]["message"]
    assert "no" in response["status"]["message"].lower()


def test_one_unsigned_init_container_denies_the_pod(world: World) -> None:
    response = world.webhook.review(_pod(world.signed("prod/app"), init=(world.unsigned("prod/migrate"),)))
    assert response["allowed"] is False
    assert "prod/migrate" in response["status"]["message"]
    assert "prod/app" not in response["status"]["message"]


def test_warn_mode_admits_with_a_warning(world: World) -> None:
    image = world.unsigned("sandbox/tool")
    response = world.webhook.review(_pod(image))
    assert response["allowed"] is True
    assert any(image in warning for warning in response["warnings"])


def test_an_image_no_rule_matches_is_denied(world: World) -> None:
    response = world.webhook.review(_pod("registry.invalid/other/app:1"))
    assert response["allowed"] is False
    assert "no image rule matches" in response["status"]["message"]


def test_unreachable_registry_denies(world: World) -> None:
    response = world.webhook.review(_pod("127.0.0.1:1/prod/app:v1"))
    assert response["allowed"] is False
    assert "127.0.0.1:1/prod/app:v1" in response["status"]["message"]


def test_delete_is_admitted_without_checking(world: World) -> None:
    assert world.webhook.review(None, operation="DELETE")["allowed"] is True


def test_a_request_without_object_is_denied(world: World) -> None:
    assert world.webhook.review(None)["allowed"] is False


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"kind": "AdmissionReview"}', b'{"kind": "Pod", "request": {}}']
)
def test_malformed_reviews_get_400_and_the_server_keeps_serving(world: World, body: bytes) -> None:
    status, _ = world.webhook.post(body)
    assert status == 400
    assert world.webhook.healthz() == 200
    assert world.webhook.proc.poll() is None


def test_sigterm_stops_the_webhook_with_exit_0(world: World) -> None:
    world.webhook.proc.send_signal(signal.SIGTERM)
    assert world.webhook.proc.wait(timeout=15) == 0
