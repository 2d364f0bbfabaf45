"""A cluster and a controller per module; a fresh namespace per test, so tests cannot see each other's objects.

The controller is the real ``gitsecure controller run`` subprocess (2048-bit keys: start-up speed only),
watching every namespace; the certificate is fetched with ``gitsecure seal --fetch-cert`` through the
API server's service proxy, as a user would.
"""

from __future__ import annotations

import itertools
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.integration.controller.scenario import Scenario, namespace_for
from tests.support.kube.cluster import KubeCluster, wait_for
from tests.support.kube.controller_proc import ControllerProcess
from tests.support.seal_runner import Runner

_numbers = itertools.count(1)


def cert_answer(controller: ControllerProcess) -> bytes | None:
    """``/v1/cert.pem`` straight from the controller, or None while it holds no key."""
    try:
        with urllib.request.urlopen(f"{controller.url}/v1/cert.pem", timeout=5) as reply:
            return bytes(reply.read()) if reply.status == 200 else None
    except urllib.error.URLError:
        return None


def start_controller(
    cluster: KubeCluster, directory: Path, *args: str, namespace: str = "kube-system"
) -> ControllerProcess:
    """A started, ready controller holding a key (2048 bits), reachable through the service proxy."""
    controller = ControllerProcess(cluster, directory, "--key-size", "2048", *args, namespace=namespace, name=namespace)
    try:
        controller.wait_ready()
        wait_for(lambda: cert_answer(controller), timeout=30, message="the controller's first key")
    except BaseException:
        controller.kill()
        raise
    controller.expose()
    return controller


def stop_controller(controller: ControllerProcess) -> None:
    """Stop gracefully and check that the run was clean (no crash, no traceback in its log)."""
    assert controller.stop() == 0, controller.log_text()[-3000:]
    assert "Traceback" not in controller.log_text(), controller.log_text()


def fetch_cert(runner: Runner, controller: ControllerProcess, path: Path) -> Path:
    """``gitsecure seal --fetch-cert`` through the service proxy, saved to ``path``."""
    run = runner(
        "--fetch-cert", "--kubeconfig", str(controller.kubeconfig), "--controller-namespace", controller.namespace
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(b"-----BEGIN CERTIFICATE-----")
    path.write_bytes(run.stdout)
    return path


@pytest.fixture(scope="module")
def cluster() -> Iterator[KubeCluster]:
    """The module's emulated API server."""
    with KubeCluster() as kube:
        yield kube
        assert kube.internal_errors == []


@pytest.fixture(scope="module")
def api(cluster: KubeCluster) -> Iterator[client.ApiClient]:
    """A ``kubernetes`` client for the module's cluster."""
    with cluster.api_client() as api_client:
        yield api_client


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """Runs ``gitsecure seal`` as a subprocess with an empty HOME."""
    return Runner(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def controller(cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerProcess]:
    """The module's controller: all namespaces, default flags otherwise."""
    controller = start_controller(cluster, tmp_path_factory.mktemp("controller"))
    try:
        yield controller
    finally:
        stop_controller(controller)


@pytest.fixture(scope="module")
def cert(controller: ControllerProcess, runner: Runner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The controller's certificate, fetched with the CLI."""
    return fetch_cert(runner, controller, tmp_path_factory.mktemp("cert") / "cert.pem")


@pytest.fixture
def scenario(
    request: pytest.FixtureRequest, cluster: KubeCluster, api: client.ApiClient, runner: Runner, cert: Path
) -> Scenario:
    """A new namespace for this test, with helpers bound to it."""
    namespace = namespace_for(request.node.name, next(_numbers))
    cluster.create_namespace(namespace)
    return Scenario(cluster, api, runner, cert, namespace)
