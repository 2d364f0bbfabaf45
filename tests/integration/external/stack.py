"""The whole ExternalSecrets stack for scenario tests: emulated API server, the real controller process, OpenBao.

The controller runs as ``gitsecure controller run`` with short store re-validation and backoff caps so faults
resolve within a test. Its ``HTTP_PROXY`` points at a forward proxy that maps the placeholder hosts of ESO's
documented examples (``my.vault.server:8200``) to the OpenBao dev server, so those manifests apply unchanged.
Writes go over real HTTP through the ``kubernetes`` client; assertions read the emulator's stored objects.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.forward_proxy import ForwardProxy
from tests.support.kube.cluster import KubeCluster, wait_for
from tests.support.kube.controller_proc import ControllerProcess
from tests.support.openbao import OpenBao

GROUP, VERSION = "external-secrets.io", "v1"
ES = f"{GROUP}/{VERSION}/externalsecrets"
STORES = f"{GROUP}/{VERSION}/secretstores"
CLUSTER_STORES = f"{GROUP}/{VERSION}/clustersecretstores"
SECRETS = "v1/secrets"
WAIT = 30.0
CONTROLLER_FLAGS = ("--store-requeue-interval", "1s", "--provider-backoff-max", "2s", "--key-size", "2048")
_numbers = itertools.count(1)


def b64(value: str | bytes) -> str:
    """Base64 text (UTF-8 for str)."""
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


class Stack:
    """One cluster, one controller and one OpenBao for a test module; ``namespace()`` gives each test its own."""

    def __init__(self, cluster: KubeCluster, bao: OpenBao, workdir: Path, *, env: Mapping[str, str] | None = None):
        self.cluster = cluster
        self.bao = bao
        self.proxy = ForwardProxy({"my.vault.server:8200": ("127.0.0.1", bao.port)})
        environment = {"HTTP_PROXY": self.proxy.url, "NO_PROXY": "127.0.0.1,localhost", **(env or {})}
        self.controller = ControllerProcess(cluster, workdir, *CONTROLLER_FLAGS, env=environment)
        self.controller.wait_ready()
        self.api = cluster.api_client()

    def close(self) -> int:
        """Stop the controller (its exit code) and the proxy."""
        try:
            return self.controller.stop()
        finally:
            self.api.close()
            self.proxy.close()

    # -- objects ---------------------------------------------------------------------------------------
    def namespace(self, stem: str) -> str:
        """A fresh namespace for one test."""
        name = f"{stem}-{next(_numbers)}"
        self.cluster.create_namespace(name)
        return name

    def apply(self, namespace: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create ``body`` over HTTP (Secrets, ServiceAccounts, ConfigMaps, ESO kinds) in ``namespace``."""
        kind = body["kind"]
        if kind in ("Secret", "ServiceAccount", "ConfigMap"):
            core = client.CoreV1Api(self.api)
            method = {
                "Secret": core.create_namespaced_secret,
                "ServiceAccount": core.create_namespaced_service_account,
                "ConfigMap": core.create_namespaced_config_map,
            }[kind]
            return method(namespace, dict(body)).to_dict()  # type: ignore[no-any-return]
        custom = client.CustomObjectsApi(self.api)
        plural = {
            "ExternalSecret": "externalsecrets",
            "SecretStore": "secretstores",
            "ClusterSecretStore": "clustersecretstores",
        }[kind]
        if kind == "ClusterSecretStore":
            return custom.create_cluster_custom_object(GROUP, VERSION, plural, dict(body))  # type: ignore[no-any-return]
        return custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, dict(body))  # type: ignore[no-any-return]

    def patch_es(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """A merge patch on an ExternalSecret (e.g. the force-sync annotation)."""
        custom = client.CustomObjectsApi(self.api)
        custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "externalsecrets", name, dict(patch))

    def delete_es(self, namespace: str, name: str) -> None:
        """Delete an ExternalSecret over HTTP."""
        client.CustomObjectsApi(self.api).delete_namespaced_custom_object(
            GROUP, VERSION, namespace, "externalsecrets", name
        )

    def token_secret(self, namespace: str, name: str = "vault-token", token: str | None = None) -> None:
        """A Secret holding a Vault token (the root token unless given)."""
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "data": {"token": b64(token or self.bao.root_token)},
        }
        self.apply(namespace, body)

    def vault_store(
        self, namespace: str, name: str = "vault", *, token_secret: str = "vault-token", **extra: Any
    ) -> None:
        """A SecretStore on OpenBao's ``secret/`` KV v2 mount with token auth."""
        provider = {
            "server": self.bao.url,
            "path": "secret",
            "version": "v2",
            "auth": {"tokenSecretRef": {"name": token_secret, "key": "token"}},
            **extra,
        }
        self.apply(
            namespace,
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "SecretStore",
                "metadata": {"name": name},
                "spec": {"provider": {"vault": provider}},
            },
        )

    def external_secret(self, namespace: str, name: str, spec: Mapping[str, Any]) -> None:
        """An ExternalSecret with ``spec``."""
        self.apply(
            namespace,
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ExternalSecret",
                "metadata": {"name": name},
                "spec": dict(spec),
            },
        )

    # -- reading and waiting ----------------------------------------------------------------------------
    def es(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored ExternalSecret."""
        return self.cluster.get(ES, namespace, name)

    def ready(self, namespace: str, name: str, resource: str = ES) -> dict[str, Any] | None:
        """The Ready condition of an ExternalSecret (or of a store, with ``resource``)."""
        obj = self.cluster.get(resource, namespace if resource != CLUSTER_STORES else None, name)
        for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready":
                return dict(condition)
        return None

    def wait_ready(
        self, namespace: str, name: str, *, status: str = "True", reason: str | None = None, contains: str = ""
    ) -> dict[str, Any]:
        """Wait for the ExternalSecret's Ready condition to match; returns it."""

        def matches() -> dict[str, Any]:
            found = self.ready(namespace, name)
            if found is None or found.get("status") != status:
                return {}
            if reason is not None and found.get("reason") != reason:
                return {}
            return found if contains in str(found.get("message") or "") else {}

        try:
            return wait_for(matches, timeout=WAIT, message=f"Ready={status} {reason or ''} {contains!r} on {name}")
        except AssertionError:
            raise AssertionError(
                f"last condition: {self.ready(namespace, name)}\ncontroller log tail:\n"
                + self.controller.log_text()[-4000:]
            ) from None

    def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored Secret."""
        return self.cluster.get(SECRETS, namespace, name)

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The stored Secret's data, decoded (None when absent)."""
        found = self.secret(namespace, name)
        if found is None:
            return None
        return {k: base64.b64decode(v) for k, v in (found.get("data") or {}).items()}

    def wait_data(self, namespace: str, name: str, expected: Mapping[str, bytes]) -> None:
        """Wait until the Secret holds exactly ``expected``."""
        try:
            wait_for(
                lambda: self.secret_data(namespace, name) == dict(expected), timeout=WAIT, message=f"data of {name}"
            )
        except AssertionError:
            keys = sorted((self.secret_data(namespace, name) or {}).keys())
            raise AssertionError(
                f"Secret {namespace}/{name} keys {keys}; condition {self.ready(namespace, name)}\n"
                + self.controller.log_text()[-3000:]
            ) from None

    def events(self, namespace: str) -> list[dict[str, Any]]:
        """The Events in ``namespace``."""
        return self.cluster.objects("v1/events", namespace)
