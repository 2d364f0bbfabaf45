"""Which namespaces a controller serves: ``--all-namespaces=false`` and ``--additional-namespaces``.

Two controllers share this module's cluster, each in its own namespace (own keys, own Lease) and
neither watching the other's namespaces. That a namespace is not served is checked twice: its
SealedSecret gets no status and no Secret while the served ones are Synced, and the API server never
saw a controller request for SealedSecrets there (only the test's own POST).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.integration.controller.conftest import fetch_cert, start_controller, stop_controller
from tests.integration.controller.scenario import Scenario
from tests.support.kube.cluster import KubeCluster
from tests.support.kube.controller_proc import ControllerProcess
from tests.support.seal_runner import Runner

pytestmark = pytest.mark.timeout(120)

SOLO, MULTI = "ctl-solo", "ctl-multi"
OUTSIDE, EXTRA, UNLISTED, MISSING = "outside", "extra-a", "extra-b", "ghost"


@pytest.fixture(scope="module")
def solo(cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerProcess]:
    """A controller serving only its own namespace."""
    for namespace in (SOLO, OUTSIDE):
        cluster.create_namespace(namespace)
    controller = start_controller(cluster, tmp_path_factory.mktemp("solo"), "--all-namespaces=false", namespace=SOLO)
    try:
        yield controller
    finally:
        stop_controller(controller)


@pytest.fixture(scope="module")
def multi(cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerProcess]:
    """A controller serving its own namespace plus the listed ones that exist."""
    for namespace in (MULTI, EXTRA, UNLISTED):
        cluster.create_namespace(namespace)
    controller = start_controller(
        cluster,
        tmp_path_factory.mktemp("multi"),
        f"--additional-namespaces={EXTRA},{MISSING},{MULTI}",
        namespace=MULTI,
    )
    try:
        yield controller
    finally:
        stop_controller(controller)


def scenarios(
    cluster: KubeCluster, api: client.ApiClient, runner: Runner, controller: ControllerProcess, tmp: Path
) -> dict[str, Scenario]:
    """One Scenario per namespace this module uses, sealing for ``controller``'s certificate."""
    cert = fetch_cert(runner, controller, tmp / "cert.pem")
    namespaces = (SOLO, OUTSIDE, MULTI, EXTRA, UNLISTED)
    return {namespace: Scenario(cluster, api, runner, cert, namespace) for namespace in namespaces}


def controller_requests(cluster: KubeCluster, namespace: str) -> list[tuple[str, str]]:
    """Requests for SealedSecrets of ``namespace`` or of all namespaces, other than the test's own POSTs."""
    return [
        record.call
        for record in cluster.requests
        if record.method != "POST"
        and (f"/namespaces/{namespace}/sealedsecrets" in record.path or record.path.endswith("/v1alpha1/sealedsecrets"))
    ]


def test_all_namespaces_false_serves_only_the_controller_namespace(
    cluster: KubeCluster, api: client.ApiClient, runner: Runner, solo: ControllerProcess, tmp_path: Path
) -> None:
    by_namespace = scenarios(cluster, api, runner, solo, tmp_path)
    outside, own = by_namespace[OUTSIDE], by_namespace[SOLO]
    outside.create_sealed(outside.seal_data("db", {"k": "outside"}))
    own.create_sealed(own.seal_data("db", {"k": "own"}))

    own.wait_synced("db")
    assert own.data("db") == {"k": b"own"}
    assert "status" not in (outside.sealed("db") or {"status": "the object is gone"})
    assert outside.secret("db") is None
    assert controller_requests(cluster, OUTSIDE) == []


def test_additional_namespaces_adds_existing_ones(
    cluster: KubeCluster, api: client.ApiClient, runner: Runner, multi: ControllerProcess, tmp_path: Path
) -> None:
    by_namespace = scenarios(cluster, api, runner, multi, tmp_path)
    unlisted = by_namespace[UNLISTED]
    unlisted.create_sealed(unlisted.seal_data("db", {"k": UNLISTED}))
    for namespace in (MULTI, EXTRA):
        served = by_namespace[namespace]
        served.create_sealed(served.seal_data("db", {"k": namespace}))

    for namespace in (MULTI, EXTRA):
        by_namespace[namespace].wait_synced("db")
        assert by_namespace[namespace].data("db") == {"k": namespace.encode()}
    assert "status" not in (unlisted.sealed("db") or {"status": "the object is gone"})
    assert unlisted.secret("db") is None
    assert controller_requests(cluster, UNLISTED) == []
    assert f"namespace {MISSING} does not exist; not watching it" in multi.log_text()
