"""Building a Vault store and its context directly, for provider tests without the controller."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from gitsecure.controller.external.model import StoreSpec
from gitsecure.controller.external.providers.base import ProviderError, StoreContext
from tests.support.openbao import fake_service_account_jwt


class Cluster:
    """The cluster reads a provider may make, from dicts; records calls and TokenRequests."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, bytes]] = {}
        self.config_maps: dict[tuple[str, str], dict[str, str]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.tokens: list[tuple[str, str, tuple[str, ...], int]] = []

    def read_secret(self, namespace: str, name: str, key: str) -> bytes:
        found = self.secrets.get((namespace, name))
        if found is None:
            raise ProviderError(f"cannot get Secret {namespace}/{name}: not found", kind="auth")
        if key not in found:
            raise ProviderError(f"cannot find secret data for key {key!r} in Secret {namespace}/{name}", kind="invalid")
        return found[key]

    def request_token(self, namespace: str, account: str, audiences: tuple[str, ...], seconds: int) -> str:
        self.tokens.append((namespace, account, audiences, seconds))
        return fake_service_account_jwt(namespace, account)

    def counter(self, provider: str, call: str, status: str) -> None:
        self.calls.append((provider, call, status))

    def count(self, call: str, status: str = "success") -> int:
        return sum(1 for _, c, s in self.calls if c == call and s == status)

    def context(self, store: StoreSpec, es_namespace: str = "apps") -> StoreContext:
        return StoreContext(
            store=store,
            es_namespace=es_namespace,
            read_secret=self.read_secret,
            request_token=self.request_token,
            get_service_account=lambda ns, name: None,
            get_config_map_value=lambda ns, name, key: self.config_maps[(ns, name)][key],
            counter=self.counter,
        )


def vault_store(provider: Mapping[str, Any], *, kind: str = "SecretStore", namespace: str = "apps") -> StoreSpec:
    """A StoreSpec for a ``vault`` provider block."""
    return StoreSpec(
        kind=kind,
        name="vault",
        namespace=namespace if kind == "SecretStore" else None,
        controller="",
        provider_name="vault",
        provider=dict(provider),
        resource_version="1",
        uid=secrets.token_hex(4),
    )
