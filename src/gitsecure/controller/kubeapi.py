"""The Kubernetes API calls the controller makes, with plain dicts in and out.

:class:`KubeApi` is synchronous and thread-safe: reconcile threads, the key
watcher and (through ``asyncio.to_thread``) the leader elector share one
instance. Objects go out and come back as the JSON dicts the API server
serves (camelCase keys), never as client model objects. Failures raise
:class:`ApiError` (:class:`Conflict` for 409, :class:`NotFound` for 404,
:class:`Gone` for a watch that must list again); see
:mod:`gitsecure.controller.kubetransport` for timeouts and retries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import kopf
from kubernetes import client

from gitsecure.controller.kubeapi_objects import GenericObjects
from gitsecure.controller.kubelogin import SERVICE_ACCOUNT_DIR, kopf_connection_info, load_configuration
from gitsecure.controller.kubetransport import ApiError, Backoff, Conflict, Gone, NotFound, Transport, status_error
from gitsecure.seal.sealedsecret import API_VERSION as SEALED_API_VERSION

__all__ = ["ApiError", "Backoff", "Conflict", "Gone", "KubeApi", "NotFound"]

SEALED_PATH = f"/apis/{SEALED_API_VERSION}"
LEASE_PATH = "/apis/coordination.k8s.io/v1"
ESO_GROUP = "external-secrets.io"
ESO_EVENT_SOURCE = "external-secrets"
EVENT_SOURCE = "sealed-secrets"  # upstream's component name: dashboards and alerts filter Events on it
REPORTING_COMPONENT = "gitsecure-controller"
WATCH_GRACE = 15.0  # read timeout beyond the server-side watch timeout, for servers that ignore timeoutSeconds


def _segment(text: str) -> str:
    return quote(text, safe="")


def _objects(namespace: str, plural: str, base: str = "/api/v1") -> str:
    return f"{base}/namespaces/{_segment(namespace)}/{plural}" if namespace else f"{base}/{plural}"


def _name_of(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return str(meta.get("name") or f"{meta.get('generateName') or ''}*")


def _event_source(involved: Mapping[str, Any]) -> str:
    # ESO's dashboards filter on its component name, as sealed-secrets' do on theirs.
    return ESO_EVENT_SOURCE if str(involved.get("apiVersion") or "").startswith(ESO_GROUP + "/") else EVENT_SOURCE


class KubeApi(GenericObjects):
    """Secrets, SealedSecrets, Events, Leases and Namespaces over one connection pool.

    ``timeout`` bounds every request (seconds); ``backoff`` is the retry policy
    for 429, 5xx and connection failures; ``watch_timeout`` is the server-side
    length of one watch request (a watch resumes from its last resourceVersion
    when the server ends it). The configuration is owned by this object.
    """

    def __init__(
        self,
        configuration: client.Configuration,
        *,
        timeout: float = 30.0,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen, so sharing the default is safe
        watch_timeout: float = 300.0,
    ) -> None:
        self.configuration = configuration
        self._http = Transport(configuration, timeout=timeout, backoff=backoff)
        self._backoff = backoff
        self._watch_timeout = watch_timeout

    @classmethod
    def from_config(
        cls,
        kubeconfig: str | None,
        *,
        service_account_dir: str = SERVICE_ACCOUNT_DIR,
        timeout: float = 30.0,
        backoff: Backoff = Backoff(),  # noqa: B008
        watch_timeout: float = 300.0,
    ) -> KubeApi:
        """In-cluster credentials when ``kubeconfig`` is None and a service account token exists, else a kubeconfig
        (``kubeconfig``, then ``KUBECONFIG``, then ``~/.kube/config``)."""
        configuration = load_configuration(kubeconfig, service_account_dir=service_account_dir)
        return cls(configuration, timeout=timeout, backoff=backoff, watch_timeout=watch_timeout)

    def kopf_connection_info(self) -> kopf.ConnectionInfo:
        """kopf's login: the same server and credentials as this client (token refreshed at each call)."""
        return kopf_connection_info(self.configuration)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # Secrets

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Secret, or None when it does not exist."""
        return self._get(f"{_objects(namespace, 'secrets')}/{_segment(name)}", f"get Secret {namespace}/{name}")

    def create_secret(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a Secret (``metadata.generateName`` works); the stored object."""
        return self._http.json(
            "POST", _objects(namespace, "secrets"), what=f"create Secret {namespace}/{_name_of(body)}", body=body
        )

    def replace_secret(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the whole Secret; with ``metadata.resourceVersion`` set a concurrent change raises :class:`Conflict`."""
        path = f"{_objects(namespace, 'secrets')}/{_segment(name)}"
        return self._http.json("PUT", path, what=f"replace Secret {namespace}/{name}", body=body)

    def list_secrets(self, namespace: str, label_selector: str) -> tuple[list[dict[str, Any]], str]:
        """Every Secret in ``namespace`` ("" for all) matching ``label_selector``, and the list's resourceVersion."""
        items: list[dict[str, Any]] = []
        query = [("labelSelector", label_selector)] if label_selector else []
        token = ""
        while True:
            page = self._http.json(
                "GET",
                _objects(namespace, "secrets"),
                what=f"list Secrets in {namespace or 'all namespaces'}",
                query=[*query, ("limit", "500"), *([("continue", token)] if token else [])],
            )
            items.extend(item for item in page.get("items") or [] if isinstance(item, dict))
            meta = page.get("metadata") or {}
            token = str(meta.get("continue") or "")
            if not token:
                return items, str(meta.get("resourceVersion") or "")

    def watch_secrets(
        self, namespace: str, label_selector: str, resource_version: str, stop: threading.Event
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(type, Secret)`` for ADDED, MODIFIED and DELETED after ``resource_version``, until ``stop`` is set.

        Server-side timeouts and broken streams are resumed from the last
        resourceVersion seen (bookmarks included); :class:`Gone` means that
        version is too old and the caller must list again. Other failures
        raise :class:`ApiError` once the retries are used up.
        """
        what = f"watch Secrets in {namespace or 'all namespaces'}"
        failures = 0
        while not stop.is_set():
            query = [
                ("watch", "true"),
                ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", str(int(self._watch_timeout))),
            ]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if resource_version:
                query.append(("resourceVersion", resource_version))
            events = self._http.stream(
                _objects(namespace, "secrets"),
                what=what,
                query=query,
                read_timeout=self._watch_timeout + WATCH_GRACE,
                stop=stop,
            )
            try:
                with contextlib.closing(events):  # the connection goes back at once when the caller stops early
                    for event in events:
                        failures = 0
                        kind, obj = str(event.get("type") or ""), event.get("object")
                        if not isinstance(obj, dict):
                            continue
                        if kind == "ERROR":
                            raise status_error(what, obj, http_status=0, http_reason="")
                        resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or resource_version)
                        if kind in ("ADDED", "MODIFIED", "DELETED"):
                            yield kind, obj
            except ApiError as exc:
                if exc.status != 0:
                    raise
                failures += 1
                if failures >= self._backoff.attempts:
                    raise
                stop.wait(self._backoff.delay(failures - 1))

    # SealedSecrets

    def get_sealed_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The SealedSecret, or None when it does not exist."""
        path = f"{_objects(namespace, 'sealedsecrets', SEALED_PATH)}/{_segment(name)}"
        return self._get(path, f"get SealedSecret {namespace}/{name}")

    def replace_sealed_secret_status(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the status subresource (only ``status`` changes); a stale resourceVersion raises :class:`Conflict`."""
        path = f"{_objects(namespace, 'sealedsecrets', SEALED_PATH)}/{_segment(name)}/status"
        return self._http.json("PUT", path, what=f"update the status of SealedSecret {namespace}/{name}", body=body)

    # Events

    def post_event(self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        """Record a core v1 Event about ``involved`` (an object dict), as client-go's event recorder does."""
        meta = involved.get("metadata") or {}
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "default")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reference = {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "namespace": meta.get("namespace"),
            "name": name,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            # client-go names Events <object>.<unique hex>; the name must stay a valid DNS subdomain.
            "metadata": {"name": f"{name[:236]}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {key: value for key, value in reference.items() if value},
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "source": {"component": _event_source(involved)},
            "reportingComponent": REPORTING_COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self._http.json(
            "POST", _objects(namespace, "events"), what=f"post Event {reason} about {namespace}/{name}", body=event
        )

    # Leases (leader election) and namespaces

    def get_lease(
        self, namespace: str, name: str, *, timeout: float | None = None, retry: bool = True
    ) -> dict[str, Any] | None:
        """The Lease, or None when it does not exist.

        ``timeout`` overrides the request timeout and ``retry=False`` makes one
        attempt, for callers (the leader elector) that run their own deadline.
        """
        path = f"{_objects(namespace, 'leases', LEASE_PATH)}/{_segment(name)}"
        return self._get(path, f"get Lease {namespace}/{name}", timeout=timeout, retry=retry)

    def create_lease(
        self, namespace: str, body: Mapping[str, Any], *, timeout: float | None = None, retry: bool = True
    ) -> dict[str, Any]:
        """Create a Lease; :class:`Conflict` when it already exists."""
        return self._http.json(
            "POST",
            _objects(namespace, "leases", LEASE_PATH),
            what=f"create Lease {namespace}/{_name_of(body)}",
            body=body,
            timeout=timeout,
            retry=retry,
        )

    def replace_lease(
        self, namespace: str, name: str, body: Mapping[str, Any], *, timeout: float | None = None, retry: bool = True
    ) -> dict[str, Any]:
        """PUT the Lease with the resourceVersion in ``body``; :class:`Conflict` when someone wrote it since."""
        return self._http.json(
            "PUT",
            f"{_objects(namespace, 'leases', LEASE_PATH)}/{_segment(name)}",
            what=f"replace Lease {namespace}/{name}",
            body=body,
            timeout=timeout,
            retry=retry,
        )

    def namespace_exists(self, name: str) -> bool:
        """Whether the namespace exists (other failures raise :class:`ApiError`)."""
        return self._get(f"/api/v1/namespaces/{_segment(name)}", f"get Namespace {name}") is not None

    def _get(self, path: str, what: str, *, timeout: float | None = None, retry: bool = True) -> dict[str, Any] | None:
        try:
            return self._http.json("GET", path, what=what, timeout=timeout, retry=retry)
        except NotFound:
            return None
