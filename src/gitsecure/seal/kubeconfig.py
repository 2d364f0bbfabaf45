"""Cluster connection settings and the kubeconfig namespace, without the kubernetes client.

Sealing needs the current context's namespace on every run; importing the
``kubernetes`` package for that would cost more than the sealing itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class ClusterOptions:
    """How to reach the cluster: the kubectl-style connection flags.

    The fields after ``request_timeout`` override the kubeconfig as kubectl's
    flags do (``gitsecure.seal.cluster`` applies them); their paths are as
    given, relative to the working directory.
    """

    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float | None = 30.0
    cluster: str | None = None
    """Use this kubeconfig cluster entry instead of the context's."""
    user: str | None = None
    """Use this kubeconfig user entry instead of the context's."""
    server: str | None = None
    tls_server_name: str | None = None
    certificate_authority: str | None = None
    insecure_skip_tls_verify: bool = False
    client_certificate: str | None = None
    client_key: str | None = None
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def overrides_connection(self) -> bool:
        """Whether any flag beyond ``--kubeconfig``/``--context``/``--request-timeout`` was given."""
        return bool(
            self.cluster
            or self.user
            or self.server
            or self.tls_server_name
            or self.certificate_authority
            or self.insecure_skip_tls_verify
            or self.client_certificate
            or self.client_key
            or self.token
            or self.username
            or self.password
        )


@dataclass(frozen=True)
class ControllerRef:
    """Where the controller's Service lives."""

    name: str = "sealed-secrets-controller"
    namespace: str = "kube-system"


@dataclass(frozen=True)
class ProxyResponse:
    """Status and body of one proxied request."""

    status: int
    body: bytes


def _kubeconfig_paths(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _configs(options: ClusterOptions) -> list[dict[str, Any]]:
    return [_load(p) for p in _kubeconfig_paths(options.kubeconfig) if p.is_file()]


def current_context(options: ClusterOptions) -> str | None:
    """The context kubectl would use: ``--context``, else the first ``current-context`` in file order.

    The kubernetes Python client lets the *last* merged file win; callers pass
    this explicitly so the certificate and the namespace come from one cluster.
    """
    if options.context:
        return options.context
    return next((str(c["current-context"]) for c in _configs(options) if c.get("current-context")), None)


def context_namespace(options: ClusterOptions) -> str:
    """The namespace kubectl would use: the context's, the pod's, else ``default``.

    Like kubeseal, errors reading kubeconfig are ignored here; they surface
    only when the cluster itself is needed.
    """
    configs = _configs(options)
    if not configs and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            return _SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
        except OSError:
            return "default"
    current = options.context or next((str(c["current-context"]) for c in configs if c.get("current-context")), None)
    if current:
        for config in configs:
            for entry in config.get("contexts") or []:
                if isinstance(entry, dict) and entry.get("name") == current:
                    context = entry.get("context") or {}
                    namespace = context.get("namespace") if isinstance(context, dict) else None
                    return str(namespace) if namespace else "default"
    return "default"
