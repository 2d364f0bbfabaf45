"""Custom resources, ConfigMaps, ServiceAccounts, TokenRequests and Secret patches for :class:`KubeApi`.

The ExternalSecrets code needs the External Secrets Operator's resources by group/version/plural and a few
core reads its providers make (a CA bundle in a ConfigMap, a service account's role annotation, a
short-lived service-account token). Kept apart from ``kubeapi`` so that module stays about the sealed path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from gitsecure.controller.kubetransport import ApiError, NotFound, Transport

MERGE_PATCH = "application/merge-patch+json"


def _segment(text: str) -> str:
    return quote(text, safe="")


def _collection(group: str, version: str, plural: str, namespace: str | None) -> str:
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{base}/namespaces/{_segment(namespace)}/{plural}" if namespace else f"{base}/{plural}"


def _label(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


class GenericObjects:
    """Calls by group/version/plural; the host class provides ``_http`` (a :class:`Transport`)."""

    _http: Transport

    def get_object(
        self, group: str, version: str, plural: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        path = f"{_collection(group, version, plural, namespace)}/{_segment(name)}"
        try:
            return self._http.json("GET", path, what=f"get {plural} {_label(namespace, name)}")
        except NotFound:
            return None

    def list_objects(self, group: str, version: str, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        """Every object of the kind (in ``namespace``, or everywhere when None), page by page."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self._http.json(
                "GET",
                _collection(group, version, plural, namespace),
                what=f"list {plural} in {namespace or 'all namespaces'}",
                query=[("limit", "500"), *([("continue", token)] if token else [])],
            )
            items.extend(item for item in page.get("items") or [] if isinstance(item, dict))
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return items

    def patch_object(  # noqa: PLR0917 - group/version/plural/namespace/name address one object
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        content_type: str = MERGE_PATCH,
    ) -> dict[str, Any]:
        """PATCH the object (a JSON merge patch by default); a resourceVersion in the patch is a precondition."""
        path = f"{_collection(group, version, plural, namespace)}/{_segment(name)}"
        return self._http.json(
            "PATCH", path, what=f"patch {plural} {_label(namespace, name)}", body=body, content_type=content_type
        )

    def replace_object_status(  # noqa: PLR0917 - as patch_object
        self, group: str, version: str, plural: str, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT the status subresource; a stale ``metadata.resourceVersion`` raises ``Conflict``."""
        path = f"{_collection(group, version, plural, namespace)}/{_segment(name)}/status"
        return self._http.json("PUT", path, what=f"update the status of {plural} {_label(namespace, name)}", body=body)

    def patch_secret(self, namespace: str, name: str, merge_patch: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch on a Secret (labels, annotations); the stored object."""
        return self.patch_object("", "v1", "secrets", namespace, name, merge_patch)

    def delete_secret(self, namespace: str, name: str, *, uid_precondition: str | None) -> bool:
        """Delete a Secret (only the one with ``uid_precondition`` when given); False when it was already gone."""
        path = f"{_collection('', 'v1', 'secrets', namespace)}/{_segment(name)}"
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid_precondition:
            body["preconditions"] = {"uid": uid_precondition}
        try:
            self._http.json("DELETE", path, what=f"delete Secret {namespace}/{name}", body=body)
        except NotFound:
            return False
        return True

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The ConfigMap, or None."""
        return self.get_object("", "v1", "configmaps", namespace, name)

    def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The ServiceAccount, or None."""
        return self.get_object("", "v1", "serviceaccounts", namespace, name)

    def get_namespace(self, name: str) -> dict[str, Any] | None:
        """The Namespace (its labels decide ClusterSecretStore conditions), or None."""
        return self.get_object("", "v1", "namespaces", None, name)

    def create_token(
        self, namespace: str, service_account: str, *, audiences: tuple[str, ...], expiration_seconds: int
    ) -> str:
        """A bound service-account token from the TokenRequest API (never logged)."""
        spec: dict[str, Any] = {"expirationSeconds": expiration_seconds}
        if audiences:
            spec["audiences"] = list(audiences)
        path = f"{_collection('', 'v1', 'serviceaccounts', namespace)}/{_segment(service_account)}/token"
        answer = self._http.json(
            "POST",
            path,
            what=f"request a token for service account {namespace}/{service_account}",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
        )
        token = (answer.get("status") or {}).get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(
                f"cannot request a token for service account {namespace}/{service_account}: no token in the answer",
                status=0,
                reason="BadResponse",
            )
        return token
