"""Servers the ExternalSecrets tests share within one pytest worker: OpenBao's dev server, moto, and the stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.external.stack import Stack
from tests.support.kube.cluster import KubeCluster
from tests.support.motoserver import MotoServer
from tests.support.openbao import OpenBao


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """One dev server per worker; tests write under their own paths (or use ``fresh_openbao``)."""
    with OpenBao(tmp_path_factory.mktemp("openbao")) as bao:
        yield bao


@pytest.fixture
def fresh_openbao(tmp_path: Path) -> Iterator[OpenBao]:
    """A server of the test's own, for tests that stop it or change global settings."""
    with OpenBao(tmp_path / "openbao") as bao:
        yield bao


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, moto: MotoServer) -> Iterator[Stack]:
    """Emulated API server + the controller process + OpenBao (+ the worker's moto), for one test module."""
    workdir = tmp_path_factory.mktemp("stack")
    with KubeCluster() as cluster, OpenBao(workdir / "openbao") as bao:
        running = Stack(cluster, bao, workdir, env=moto.env())
        try:
            yield running
        finally:
            log = running.controller.log_text()
            assert running.close() == 0, log[-3000:]
            assert "Traceback" not in log, log[-5000:]
            assert cluster.internal_errors == []


# --- moto (AWS provider tests): one server per pytest worker -------------------------------------------------


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server per worker; tests use their own names (or ``reset()`` it)."""
    with MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server


# --- end moto -------------------------------------------------------------------------------------------------
