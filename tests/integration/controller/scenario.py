"""One test's view of the shared cluster: its own namespace, sealing with the real CLI, API calls and waits.

Every write goes over real HTTP through the ``kubernetes`` client (as ``kubectl`` would send it);
reads for assertions use the harness (``KubeCluster.get``/``objects``), which sees the stored objects
without a client in between.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.kube.cluster import KubeCluster, wait_for
from tests.support.seal_runner import Runner

GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
SEALED = f"{GROUP}/{VERSION}/{PLURAL}"
SECRETS = "v1/secrets"
WAIT = 20.0


def b64(value: str | bytes) -> str:
    """Base64 text of ``value`` (UTF-8 for str)."""
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def decoded(secret: Mapping[str, Any]) -> dict[str, bytes]:
    """The data of a Secret as bytes."""
    return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}


def secret_manifest(name: str, namespace: str, data: Mapping[str, str | bytes], **extra: Any) -> dict[str, Any]:
    """A v1 Secret manifest; ``extra`` goes to the top level (``type``, ``immutable``) or ``metadata``."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    for field in ("labels", "annotations"):
        if field in extra:
            metadata[field] = extra.pop(field)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "data": {key: b64(value) for key, value in data.items()},
        **extra,
    }


def namespace_for(test_name: str, number: int) -> str:
    """A valid namespace name (DNS label) derived from a test's name."""
    stem = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_")).strip("-")[:50].strip("-")
    return f"{stem}-{number}"


class Scenario:
    """Helpers bound to one namespace of the shared cluster."""

    def __init__(self, cluster: KubeCluster, api: client.ApiClient, runner: Runner, cert: Path, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.cert = cert
        self._runner = runner
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)

    # -- sealing ------------------------------------------------------------------------------------
    def seal(self, secret: Mapping[str, Any], *args: str) -> dict[str, Any]:
        """``gitsecure seal --cert CERT -o json ARGS`` with ``secret`` on stdin: the SealedSecret."""
        run = self._runner("--cert", str(self.cert), "-o", "json", *args, input=json.dumps(secret))
        assert run.returncode == 0, run.stderr
        sealed: dict[str, Any] = json.loads(run.stdout)
        return sealed

    def seal_data(self, name: str, data: Mapping[str, str | bytes], *args: str, **extra: Any) -> dict[str, Any]:
        """Seal a Secret ``name`` of this namespace holding ``data``."""
        return self.seal(secret_manifest(name, self.namespace, data, **extra), *args)

    # -- SealedSecrets --------------------------------------------------------------------------------
    def create_sealed(self, sealed: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """POST a SealedSecret (into its own namespace unless ``namespace`` is given); the stored object."""
        body = copy.deepcopy(dict(sealed))
        target = namespace or body["metadata"].get("namespace") or self.namespace
        body["metadata"]["namespace"] = target
        created: dict[str, Any] = self._custom.create_namespaced_custom_object(GROUP, VERSION, target, PLURAL, body)
        return created

    def update_sealed(self, name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """GET, ``change(obj)``, PUT (with the resourceVersion read): the stored object."""
        current = self._custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
        change(current)
        replaced: dict[str, Any] = self._custom.replace_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, current
        )
        return replaced

    def replace_spec(self, name: str, sealed: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the spec of SealedSecret ``name`` with that of ``sealed`` (a re-seal applied)."""

        def change(obj: dict[str, Any]) -> None:
            obj["spec"] = copy.deepcopy(sealed["spec"])

        return self.update_sealed(name, change)

    def delete_sealed(self, name: str) -> None:
        """DELETE a SealedSecret."""
        self._custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def sealed(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The stored SealedSecret, or None."""
        return self.cluster.get(SEALED, namespace or self.namespace, name)

    def synced(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The Synced condition of a SealedSecret, or None."""
        obj = self.sealed(name, namespace) or {}
        conditions = (obj.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == "Synced"), None)

    def wait_synced(
        self, name: str, status: str = "True", *, generation: int | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """Wait until the Synced condition has ``status`` and ``observedGeneration`` is current; the object."""

        def check() -> dict[str, Any] | None:
            obj = self.sealed(name, namespace)
            if obj is None:
                return None
            state = obj.get("status") or {}
            wanted = generation if generation is not None else obj["metadata"]["generation"]
            condition = self.synced(name, namespace)
            if condition and condition.get("status") == status and state.get("observedGeneration") == wanted:
                return obj
            return None

        found = wait_for(check, timeout=WAIT, message=f"{namespace or self.namespace}/{name} Synced={status}")
        assert found is not None
        return found

    def message(self, name: str, namespace: str | None = None) -> str:
        """The message of the Synced condition (empty on success); the condition must exist."""
        condition = self.synced(name, namespace)
        assert condition is not None, f"{name} has no Synced condition"
        return str(condition.get("message") or "")

    # -- Secrets and Events ----------------------------------------------------------------------------
    def secret(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The stored Secret, or None."""
        return self.cluster.get(SECRETS, namespace or self.namespace, name)

    def wait_secret(
        self, name: str, check: Callable[[dict[str, Any]], bool] = lambda _: True, *, namespace: str | None = None
    ) -> dict[str, Any]:
        """Wait for a Secret for which ``check`` holds."""

        def probe() -> dict[str, Any] | None:
            secret = self.secret(name, namespace)
            return secret if secret is not None and check(secret) else None

        found = wait_for(probe, timeout=WAIT, message=f"Secret {namespace or self.namespace}/{name}")
        assert found is not None
        return found

    def existing_secret(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The stored Secret, which must exist."""
        secret = self.secret(name, namespace)
        assert secret is not None, f"no Secret {namespace or self.namespace}/{name}"
        return secret

    def data(self, name: str, namespace: str | None = None) -> dict[str, bytes]:
        """The decoded data of a Secret, which must exist."""
        return decoded(self.existing_secret(name, namespace))

    def wait_no_secret(self, name: str) -> None:
        """Wait until Secret ``name`` is gone."""
        wait_for(lambda: self.secret(name) is None, timeout=WAIT, message=f"Secret {self.namespace}/{name} gone")

    def create_secret(self, secret: Mapping[str, Any]) -> dict[str, Any]:
        """POST a Secret into this namespace; the stored object."""
        self._core.create_namespaced_secret(self.namespace, dict(secret))
        stored = self.secret(str(secret["metadata"]["name"]))
        assert stored is not None
        return stored

    def annotate_secret(self, name: str, annotations: Mapping[str, str]) -> None:
        """Merge-patch annotations onto a Secret (as ``kubectl annotate``)."""
        self._core.patch_namespaced_secret(name, self.namespace, {"metadata": {"annotations": dict(annotations)}})

    def delete_secret(self, name: str) -> None:
        """DELETE a Secret."""
        self._core.delete_namespaced_secret(name, self.namespace)

    def events(self, name: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        """Events of the namespace, about ``name`` only when given."""
        events = self.cluster.objects("v1/events", namespace or self.namespace)
        return [e for e in events if name is None or (e.get("involvedObject") or {}).get("name") == name]

    def wait_event(self, name: str, reason: str) -> dict[str, Any]:
        """Wait for an Event with ``reason`` about ``name``; the first one."""
        found = wait_for(
            lambda: next((e for e in self.events(name) if e.get("reason") == reason), {}),
            timeout=WAIT,
            message=f"Event {reason} about {self.namespace}/{name}",
        )
        return found
