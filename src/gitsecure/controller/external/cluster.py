"""The Kubernetes calls the ExternalSecret code makes, as a protocol, and the cluster reads providers get.

:class:`~gitsecure.controller.kubeapi.KubeApi` satisfies :class:`ClusterApi`; the unit tests use an
in-memory fake of the same surface. :func:`store_context` binds a store to the reads its provider may make
(Secrets, ConfigMaps, service accounts, TokenRequests), turning API failures into sanitized
:class:`ProviderError` messages that name the object and key, never a value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gitsecure.controller.external.model import StoreSpec
from gitsecure.controller.external.providers.base import ProviderError, StoreContext
from gitsecure.controller.kubetransport import ApiError


class ClusterApi(Protocol):
    """The part of :class:`KubeApi` that ExternalSecrets use."""

    def get_object(
        self, group: str, version: str, plural: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None: ...

    def patch_object(  # noqa: PLR0917 - KubeApi's signature
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        content_type: str = "application/merge-patch+json",
    ) -> dict[str, Any]: ...

    def replace_object_status(  # noqa: PLR0917 - KubeApi's signature
        self, group: str, version: str, plural: str, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def create_secret(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]: ...

    def replace_secret(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]: ...

    def patch_secret(self, namespace: str, name: str, merge_patch: Mapping[str, Any]) -> dict[str, Any]: ...

    def delete_secret(self, namespace: str, name: str, *, uid_precondition: str | None) -> bool: ...

    def list_secrets(self, namespace: str, label_selector: str) -> tuple[list[dict[str, Any]], str]: ...

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def create_token(
        self, namespace: str, service_account: str, *, audiences: tuple[str, ...], expiration_seconds: int
    ) -> str: ...

    def get_namespace(self, name: str) -> dict[str, Any] | None: ...

    def post_event(self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None: ...


def secret_data(secret: Mapping[str, Any] | None) -> dict[str, bytes]:
    """A Secret's ``data`` decoded (``stringData`` is never stored by the API server)."""
    if not secret:
        return {}
    decoded: dict[str, bytes] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[str(key)] = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError):
            decoded[str(key)] = b""
    return decoded


def store_context(
    api: ClusterApi, store: StoreSpec, es_namespace: str, counter: Callable[[str, str, str], None]
) -> StoreContext:
    """What ``store``'s provider may read from the cluster, on behalf of an ExternalSecret in ``es_namespace``."""

    def read_secret(namespace: str, name: str, key: str) -> bytes:
        try:
            secret = api.get_secret(namespace, name)
        except ApiError as exc:
            raise ProviderError(f"cannot read Secret {namespace}/{name}: {exc.message}", kind="unavailable") from None
        if secret is None:
            raise ProviderError(f"cannot get Secret {namespace}/{name}: not found", kind="auth")
        data = secret_data(secret)
        if key not in data:
            raise ProviderError(f"cannot find secret data for key {key!r} in Secret {namespace}/{name}", kind="invalid")
        return data[key]

    def request_token(namespace: str, service_account: str, audiences: tuple[str, ...], expiration: int) -> str:
        try:
            return api.create_token(namespace, service_account, audiences=audiences, expiration_seconds=expiration)
        except ApiError as exc:
            raise ProviderError(
                f"cannot request a token for service account {namespace}/{service_account}: {exc.message}", kind="auth"
            ) from None

    def get_service_account(namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            return api.get_service_account(namespace, name)
        except ApiError as exc:
            raise ProviderError(
                f"cannot get service account {namespace}/{name}: {exc.message}", kind="unavailable"
            ) from None

    def get_config_map_value(namespace: str, name: str, key: str) -> str:
        try:
            config_map = api.get_config_map(namespace, name)
        except ApiError as exc:
            raise ProviderError(f"cannot get ConfigMap {namespace}/{name}: {exc.message}", kind="unavailable") from None
        if config_map is None:
            raise ProviderError(f"cannot get ConfigMap {namespace}/{name}: not found", kind="invalid")
        data = config_map.get("data") or {}
        if key not in data:
            raise ProviderError(f"cannot find key {key!r} in ConfigMap {namespace}/{name}", kind="invalid")
        return str(data[key])

    return StoreContext(
        store=store,
        es_namespace=es_namespace,
        read_secret=read_secret,
        request_token=request_token,
        get_service_account=get_service_account,
        get_config_map_value=get_config_map_value,
        counter=counter,
    )
