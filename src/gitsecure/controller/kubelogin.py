"""Credentials for the API server: the pod's service account, else a kubeconfig.

One ``kubernetes.client.Configuration`` serves both the controller's own
requests (:class:`~gitsecure.controller.kubeapi.KubeApi`) and kopf's watch
streams (:func:`kopf_connection_info`), so both talk to the same server as the
same user.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import kopf
import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from gitsecure.errors import RemoteError

log = logging.getLogger("gitsecure.controller.kube")

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def load_configuration(
    kubeconfig: str | None,
    *,
    service_account_dir: str = SERVICE_ACCOUNT_DIR,
    environ: Mapping[str, str] = os.environ,
) -> client.Configuration:
    """In-cluster credentials when ``kubeconfig`` is None and the service account token exists, else a kubeconfig.

    The kubeconfig is ``kubeconfig`` when given, else ``KUBECONFIG`` (a path
    list, merged as kubectl does), else ``~/.kube/config``; its current
    context is used. Raises :class:`RemoteError` (``no-kubeconfig``) when
    neither works.
    """
    configuration = client.Configuration()
    token = os.path.join(service_account_dir, "token")
    if kubeconfig is None and os.path.isfile(token):
        try:
            InClusterConfigLoader(
                token_filename=token, cert_filename=os.path.join(service_account_dir, "ca.crt"), environ=environ
            ).load_and_set(configuration)
            log.debug("using the pod's service account")
            return configuration
        except ConfigException as exc:
            # A token without KUBERNETES_SERVICE_HOST (a mounted token outside a pod): try the kubeconfig.
            log.debug("not using the service account token: %s", exc)
    if kubeconfig is not None and not os.path.isfile(os.path.expanduser(kubeconfig)):
        raise RemoteError(f"cannot load kubeconfig {kubeconfig}: no such file", reference="no-kubeconfig")
    path = kubeconfig or environ.get("KUBECONFIG") or "~/.kube/config"
    try:
        # persist_config=False: refreshed tokens are never written back into the user's files.
        config.load_kube_config(config_file=path, client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise RemoteError(
            f"cannot load kubeconfig {path}: {detail}",
            reference="no-kubeconfig",
            hint="run the controller in a pod with a service account, or pass --kubeconfig or set KUBECONFIG",
        ) from None
    if not configuration.verify_ssl:
        # insecure-skip-tls-verify was asked for in the kubeconfig; one warning, not one per request.
        log.warning("TLS verification of the API server is off (insecure-skip-tls-verify)")
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return configuration


def kopf_connection_info(configuration: client.Configuration) -> kopf.ConnectionInfo:
    """kopf's credentials for the server and user of ``configuration`` (as kopf's own ``login_via_client``).

    Call it at every kopf login: the token is read through the configuration's
    refresh hook, so a rotated service account token (or an expired exec
    plugin token) is picked up.
    """
    header = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    parts = str(header).split(" ", 1) if header else []
    scheme, token = (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return kopf.ConnectionInfo(
        server=str(configuration.host),
        ca_path=configuration.ssl_ca_cert or None,  # a temporary file when the kubeconfig holds the data
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file or None,
        private_key_path=configuration.key_file or None,
    )
