"""The controller's check for the ESO CRDs, against the emulated API server (with and without them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.controller.external.runtime import crds_served
from gitsecure.controller.kubeapi import KubeApi
from tests.support.kube import cluster as kube_cluster
from tests.support.kube.cluster import KubeCluster


@pytest.mark.parametrize("declared", [False, True])
def test_crds_served_follows_api_discovery(declared: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resources = {k: v for k, v in kube_cluster.RESOURCES.items() if not k.startswith("external-secrets.io/")}
    if declared:
        resources["external-secrets.io/v1/externalsecrets"] = ("ExternalSecret", True, frozenset({"status"}))
    monkeypatch.setattr(kube_cluster, "RESOURCES", resources)
    with KubeCluster() as kube:
        api = KubeApi.from_config(str(kube.write_kubeconfig(tmp_path / "kubeconfig")))
        try:
            assert crds_served(api.configuration) is declared
        finally:
            api.close()
        assert kube.internal_errors == []
