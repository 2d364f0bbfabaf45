"""Talking to the sealing controller through the API server's service proxy.

This is the only module that imports the ``kubernetes`` client, and only
inside its functions: sealing with ``--cert`` never loads it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

from gitsecure.errors import RemoteError
from gitsecure.seal.kubeconfig import ClusterOptions, ControllerRef, ProxyResponse, current_context


class ControllerClient:
    """The controller's HTTP API (``/v1/cert.pem``, ``/v1/verify``, ``/v1/rotate``) via the service proxy."""

    def __init__(self, options: ClusterOptions, controller: ControllerRef) -> None:
        self.options = options
        self.controller = controller
        self.api_client = _api_client(options)
        self._base: str | None = None

    def _call(self, method: str, path: str, *, body: bytes | None = None, accept: str = "*/*") -> ProxyResponse:
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.api_client.call_api(
                path,
                method,
                header_params=headers,
                body=json.loads(body) if body is not None else None,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=self.options.request_timeout,
            )
        except ApiException as exc:
            if not exc.status:  # TLS failure: nothing was answered
                raise RemoteError(
                    f"cannot reach the Kubernetes API server: {_short(exc)}", reference="cluster-unreachable"
                ) from None
            raw = exc.body or b""
            return ProxyResponse(int(exc.status), raw if isinstance(raw, bytes) else str(raw).encode())
        except Exception as exc:  # urllib3 connection, TLS and timeout errors
            raise RemoteError(
                f"cannot reach the Kubernetes API server: {_short(exc)}",
                reference="cluster-unreachable",
                hint="check your kubeconfig, or seal offline with --cert (get it once with --fetch-cert)",
            ) from None
        return ProxyResponse(int(response.status), bytes(response.data))

    def _service_base(self) -> str:
        if self._base is None:
            self._base = self._resolve_service()
        return self._base

    def _resolve_service(self) -> str:
        ns, name = self.controller.namespace, self.controller.name
        response = self._call("GET", f"/api/v1/namespaces/{quote(ns, safe='')}/services/{quote(name, safe='')}")
        port_name = ""
        if response.status == 200:
            try:
                ports = json.loads(response.body).get("spec", {}).get("ports") or []
                port_name = str(ports[0].get("name") or "") if ports else ""
            except (ValueError, AttributeError, TypeError):
                port_name = ""
        elif response.status in (401, 403):
            raise RemoteError(
                f"cannot get sealed secret service: {_status_text(response)}",
                reference="cluster-unauthorized",
                hint="check the credentials (kubeconfig user, --token); users need 'get' on services, services/proxy",
            )
        else:
            raise RemoteError(
                f"cannot get sealed secret service: {_status_text(response)}",
                reference="controller-not-found",
                hint="use the flags --controller-name and --controller-namespace to set up the name and namespace "
                "of the sealed secrets controller",
            )
        service = quote(f"http:{name}:{port_name}", safe=":")
        return f"/api/v1/namespaces/{quote(ns, safe='')}/services/{service}/proxy"

    def fetch_certificate(self) -> bytes:
        """The active certificate PEM."""
        response = self._call("GET", self._service_base() + "/v1/cert.pem", accept="application/x-pem-file, */*")
        if response.status != 200:
            raise RemoteError(f"cannot fetch certificate: {_status_text(response)}", reference="controller-error")
        return response.body

    def verify(self, sealed_json: bytes) -> ProxyResponse:
        """POST one SealedSecret to ``/v1/verify``: 200 opens, 409 does not."""
        return self._call("POST", self._service_base() + "/v1/verify", body=sealed_json)

    def rotate(self, sealed_json: bytes) -> ProxyResponse:
        """POST one SealedSecret to ``/v1/rotate``: 200 carries it re-sealed with the newest key."""
        return self._call("POST", self._service_base() + "/v1/rotate", body=sealed_json)


def _api_client(options: ClusterOptions) -> Any:
    try:
        from kubernetes import client, config  # noqa: PLC0415 - the heavy import, on this path only
        from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415
    except ImportError:
        raise RemoteError(
            "reaching the controller needs the kubernetes client, which is not installed",
            reference="cluster-client-missing",
            hint="pip install 'gitsecure[cluster]', or seal offline with --cert FILE",
        ) from None

    configuration = client.Configuration()
    try:
        if options.overrides_connection:
            _load_with_overrides(options, configuration)
        else:
            config.load_kube_config(
                config_file=options.kubeconfig, context=current_context(options), client_configuration=configuration
            )
    except (ConfigException, OSError, TypeError) as kube_exc:
        if options.overrides_connection:  # kubectl, too, ignores the pod's service account once flags are given
            raise RemoteError(
                f"cannot load kubeconfig: {_short(kube_exc)}",
                reference="no-kubeconfig",
                hint="check the connection flags and the kubeconfig; --server connects without a kubeconfig",
            ) from None
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException:
            raise RemoteError(
                f"cannot load kubeconfig: {_short(kube_exc)}",
                reference="no-kubeconfig",
                hint="pass --kubeconfig, set KUBECONFIG, or seal offline with --cert",
            ) from None
    if not configuration.verify_ssl:
        # Asked for explicitly (flag or kubeconfig); kubectl does not warn on every request either.
        import urllib3  # noqa: PLC0415

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    # One attempt per request, so --request-timeout bounds the wait.
    configuration.retries = 0
    return client.ApiClient(configuration)


_FLAGS_ENTRY = "gitsecure:connection-flags"
_CLIENT_CERT_KEYS = ("client-certificate", "client-certificate-data", "client-key", "client-key-data")


def _load_with_overrides(options: ClusterOptions, configuration: Any) -> None:
    """Load the kubeconfig with kubectl's connection flags applied on top (client-go's ConfigOverrides).

    The kubeconfig files are merged as the kubernetes client merges them. The
    context's cluster and user entries (or ``--cluster``/``--user``) are copied,
    the flags are applied to the copies, and the client loads a synthetic
    context pointing at them, so relative paths in the files still resolve
    against each file's directory. With ``--server`` and no kubeconfig at all,
    the flags alone make the connection.
    """
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415
    from kubernetes.config.kube_config import (  # noqa: PLC0415
        KUBE_CONFIG_DEFAULT_LOCATION,
        ConfigNode,
        KubeConfigLoader,
        KubeConfigMerger,
    )

    merger = KubeConfigMerger(options.kubeconfig or KUBE_CONFIG_DEFAULT_LOCATION)
    merged = merger.config
    if merged is None:
        if options.kubeconfig or not options.server:
            raise ConfigException("Invalid kube-config file. No configuration found.")
        merged = ConfigNode("kube-config", {"clusters": [], "users": [], "contexts": []})
    for key in ("clusters", "users", "contexts"):
        if not isinstance(merged.value.get(key), list):
            merged.value[key] = []

    context_name = current_context(options)
    context = merged["contexts"].get_with_name(context_name)["context"] if context_name else None
    cluster_name = options.cluster or (context.safe_get("cluster") if context else None)
    user_name = options.user or (context.safe_get("user") if context else None)
    # A named entry must exist, except the context's cluster when --server replaces it anyway.
    cluster = (
        merged["clusters"].get_with_name(cluster_name, safe=bool(options.server and not options.cluster))
        if cluster_name
        else None
    )
    user = merged["users"].get_with_name(user_name, safe=not options.user) if user_name else None

    def absolute(path: str) -> str:  # flags are relative to the working directory, not to a kubeconfig
        return os.path.abspath(os.path.expanduser(path))

    cluster_fields = dict(cluster.safe_get("cluster") or {}) if cluster is not None else {}
    if options.server:
        cluster_fields["server"] = options.server
        cluster_fields.pop("tls-server-name", None)  # as kubectl: --server drops the kubeconfig's server name
    if options.tls_server_name:
        cluster_fields["tls-server-name"] = options.tls_server_name
    if options.certificate_authority:
        cluster_fields.pop("certificate-authority-data", None)
        cluster_fields["certificate-authority"] = absolute(options.certificate_authority)
        cluster_fields["insecure-skip-tls-verify"] = False
    if options.insecure_skip_tls_verify:
        cluster_fields.pop("certificate-authority-data", None)
        cluster_fields.pop("certificate-authority", None)
        cluster_fields["insecure-skip-tls-verify"] = True
    if not cluster_fields.get("server"):
        raise ConfigException(f"no server found for cluster {cluster_name or ''!r}")

    user_fields = dict(user.safe_get("user") or {}) if user is not None else {}
    if options.token or options.username or options.password:
        # Credentials from flags replace the entry's; the client certificate stays, as in kubectl.
        user_fields = {k: v for k, v in user_fields.items() if k in _CLIENT_CERT_KEYS}
        if options.token:
            user_fields["token"] = options.token
        else:
            user_fields["username"] = options.username or ""
            user_fields["password"] = options.password or ""
    if options.client_certificate:
        user_fields.pop("client-certificate-data", None)
        user_fields["client-certificate"] = absolute(options.client_certificate)
    if options.client_key:
        user_fields.pop("client-key-data", None)
        user_fields["client-key"] = absolute(options.client_key)

    # Copies, so the files the kubernetes client may write back (token refresh) never get the flags.
    name = _FLAGS_ENTRY
    merged.value["clusters"].append(
        ConfigNode(f"clusters[name={name}]", {"name": name, "cluster": cluster_fields}, getattr(cluster, "path", None))
    )
    merged.value["users"].append(
        ConfigNode(f"users[name={name}]", {"name": name, "user": user_fields}, getattr(user, "path", None))
    )
    merged.value["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    loader = KubeConfigLoader(
        config_dict=merged, active_context=name, config_base_path=None, config_persister=merger.save_changes
    )
    loader.load_and_set(configuration)


_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>: ")


def _short(exc: BaseException) -> str:
    # urllib3 nests the real cause (refused, timed out, DNS) inside MaxRetryError.
    cause = getattr(exc, "reason", None) or exc
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return _OBJECT_REPR.sub("", text)[:300]


def _status_text(response: ProxyResponse) -> str:
    detail = ""
    try:
        detail = str(json.loads(response.body).get("message") or "")
    except (ValueError, AttributeError):
        detail = ""
    return f"HTTP {response.status}" + (f": {detail[:200]}" if detail else "")
