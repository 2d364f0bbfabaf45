"""What every provider implements, and what it may ask of the cluster.

A provider never sees the Kubernetes client: it gets a :class:`StoreContext` whose callables read the Secrets,
ConfigMaps and service-account tokens its store names. Errors carry a ``kind`` that the reconciler acts on
(only ``not-found`` may delete anything) and a message that names the real cause without any secret value.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gitsecure.controller.external.model import CLUSTER_STORE_KIND, FindSpec, RemoteRef, StoreSpec
from gitsecure.errors import RemoteError

Memo = dict[str, object]
"""Per-reconcile scratch space a provider may fill (see :meth:`SecretsClient.get_secret`)."""


def memo_slot(ref: RemoteRef) -> str:
    """Where a provider keeps the remote document ``ref`` reads in a reconcile's memo (ESO's cache key shape).

    Shared by the providers and the client cache: a read the memo will answer costs no rate-limit token.
    """
    return f"{ref.key}#{ref.version}#{'TAG' if ref.metadata_policy == 'Fetch' else 'SECRET'}"


ErrorKind = Literal["not-found", "permission", "unavailable", "invalid", "auth"]


class ProviderError(RemoteError):
    """A provider call failed; ``message`` is sanitized and names the cause (never a value)."""

    reference = "provider-error"

    def __init__(self, message: str, *, kind: ErrorKind) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


class NoSecretError(ProviderError):
    """The remote secret does not exist (or its latest version is deleted): drives ``deletionPolicy``."""

    reference = "provider-no-secret"

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="not-found")


@dataclass(frozen=True)
class StoreContext:
    """A store and the cluster reads its provider may need, bound to the ExternalSecret's namespace."""

    store: StoreSpec
    # Referent auth: a ClusterSecretStore reference without a namespace resolves in this namespace.
    es_namespace: str
    # (namespace, name, key) -> value; raises ProviderError(kind="auth" or "invalid") naming ns/name/key.
    read_secret: Callable[[str, str, str], bytes]
    # (namespace, service account, audiences, expiration seconds) -> a service-account JWT (TokenRequest).
    request_token: Callable[[str, str, tuple[str, ...], int], str]
    # (namespace, name) -> the ServiceAccount object, or None.
    get_service_account: Callable[[str, str], Mapping[str, Any] | None]
    # (namespace, name, key) -> a ConfigMap value (caProvider of type ConfigMap).
    get_config_map_value: Callable[[str, str, str], str]
    # (provider label, call, "success" | "error"): externalsecret_provider_api_calls_count.
    counter: Callable[[str, str, str], None]

    def namespace_of(self, ref: Mapping[str, Any]) -> str:
        """Where a SecretKeySelector/ServiceAccountSelector points: the store's namespace, or for a
        ClusterSecretStore the ref's own ``namespace`` or else the ExternalSecret's (referent auth)."""
        if self.store.kind != CLUSTER_STORE_KIND:
            return self.store.namespace or self.es_namespace
        return str(ref.get("namespace") or self.es_namespace)

    def referent(self) -> bool:
        """A ClusterSecretStore whose auth names a Secret or ServiceAccount without a namespace: its credentials
        live in each ExternalSecret's namespace, so the store cannot be validated on its own."""
        if self.store.kind != CLUSTER_STORE_KIND:
            return False
        pending: list[object] = [self.store.provider.get("auth")]
        while pending:
            block = pending.pop()
            if isinstance(block, Mapping):
                if isinstance(block.get("name"), str) and not block.get("namespace"):
                    return True
                pending.extend(block.values())
        return False


class SecretsClient(Protocol):
    """A client for one store, reused across reconciles by the client cache."""

    def get_secret(self, ref: RemoteRef, memo: Memo | None = None) -> bytes:
        """One value: ``property`` applied and ``metadataPolicy`` honoured (decoding is the caller's).

        ``memo`` lives for one reconcile of one ExternalSecret: a provider may keep the remote documents it
        read there, so ten ``data[]`` entries naming one remote secret cost one call, while the next
        refresh still sees a rotated value.
        """
        ...

    def get_secret_map(self, ref: RemoteRef, memo: Memo | None = None) -> dict[str, bytes]:
        """``dataFrom.extract``: the remote JSON object's members."""
        ...

    def get_all_secrets(self, find: FindSpec) -> dict[str, bytes]:
        """``dataFrom.find``: remote name -> value (keys not yet converted)."""
        ...

    def validate(self) -> str:
        """``"Valid"`` or ``"ValidationUnknown"`` (referent auth); raises :class:`ProviderError` when invalid."""
        ...

    def close(self) -> None:
        """Release connections; a static token is never revoked."""
        ...


_PROVIDER_MODULES = {
    "vault": "gitsecure.controller.external.providers.vault",
    "aws": "gitsecure.controller.external.providers.aws",
}


def client_for(ctx: StoreContext) -> SecretsClient:
    """A new client for ``ctx.store``; the provider's SDK is imported only now."""
    module = importlib.import_module(_PROVIDER_MODULES[ctx.store.provider_name])
    client: SecretsClient = module.new_client(ctx)
    return client
