"""The Vault/OpenBao provider: KV v1 and v2 reads, metadata, ``find`` and store validation (reference §3.1, §3.2).

Paths are built exactly as ESO builds them, so a key that reads ``secret/data/app`` under ESO reads the same
here. Vault answers are parsed with their number literals intact. A missing path, a missing version and a
deleted or destroyed latest version are "not found" (:class:`NoSecretError`), the only errors that may delete
anything; 403 is "permission denied reading <path>", a transport failure "cannot reach <server>".
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from typing import Any

import hvac
import requests

from gitsecure.controller.external.model import CLUSTER_STORE_KIND, FindSpec, RemoteRef
from gitsecure.controller.external.providers.base import Memo, NoSecretError, ProviderError, StoreContext, memo_slot
from gitsecure.controller.external.providers.vault_auth import (
    PROVIDER,
    VaultSession,
    unreachable,
    vault_error,
)
from gitsecure.controller.external.values import go_json, loads_exact, vault_explode, vault_property

TIMEOUT = (5.0, 15.0)
MAX_FIND = 5_000


def build_path(key: str, mount: str | None, version: str) -> str:
    """ESO's ``buildPath``: the API path (without ``/v1/``) of ``key`` under ``mount`` for KV ``version``."""
    # Vault answers a doubled slash with a redirect to the cleaned path; clean it here so the path in
    # requests and error messages is the one Vault reads.
    key = _collapse(key)
    key = key.strip("/") if mount is not None else key.lstrip("/")
    if mount is not None:
        mount = _collapse(mount).strip("/")
        if key.startswith(mount + "/"):
            key = key[len(mount) + 1 :]
            if version == "v2" and key.startswith("data/"):
                key = key[len("data/") :]
        return f"{mount}/data/{key}" if version == "v2" else f"{mount}/{key}"
    if version == "v2" and "/data/" not in key:
        first, _, rest = key.partition("/")
        return f"{first}/data/{rest}" if rest else key
    return key


def build_metadata_path(key: str, mount: str | None) -> str:
    """The KV v2 metadata path of ``key`` (ESO's ``buildMetadataPath``)."""
    key = _collapse(key)
    if mount is not None:
        key = key.strip("/")
        mount = _collapse(mount).strip("/")
        if key.startswith(mount + "/"):
            key = key[len(mount) + 1 :]
        return f"{mount}/metadata/{key}"
    if "/data/" not in key.lstrip("/"):
        raise ProviderError(f"vault: provided Path isn't a valid kv v2 path: {key}", kind="invalid")
    return key.lstrip("/").replace("/data/", "/metadata/", 1)


def _collapse(path: str) -> str:
    return re.sub(r"/{2,}", "/", path)


class VaultClient:
    """One store's Vault client; shared by every ExternalSecret on the store (thread-safe)."""

    thread_safe = True

    def __init__(self, ctx: StoreContext) -> None:
        provider = ctx.store.provider
        self._ctx = ctx
        self.server = str(provider.get("server") or "").rstrip("/")
        if not self.server.startswith(("http://", "https://")):
            raise ProviderError("vault: server must be an http:// or https:// URL", kind="invalid")
        mount = provider.get("path")
        self.mount = str(mount).strip("/") if mount else None
        self.version = str(provider.get("version") or "v2")
        if self.version not in ("v1", "v2"):
            raise ProviderError(f"vault: unsupported KV version {self.version!r} (v1 or v2)", kind="invalid")
        if provider.get("tls") or provider.get("headers"):
            raise ProviderError("vault: tls client certificates and extra headers are not supported", kind="invalid")
        self._ca_file: str | None = None
        verify: bool | str = self._ca(provider)
        namespace = str(provider.get("namespace") or "") or None
        auth_namespace = str((provider.get("auth") or {}).get("namespace") or "") or namespace
        raw = hvac.adapters.RawAdapter
        # Raw answers: 404 bodies matter (a deleted version) and numbers must keep their literal text.
        # token="": hvac would otherwise pick up VAULT_TOKEN or ~/.vault-token and send it with every request,
        # overriding the store's own auth. Each request carries the session's token explicitly instead.
        self._reader = hvac.Client(
            url=self.server, token="", namespace=namespace, verify=verify, timeout=TIMEOUT, adapter=raw
        )
        self._login = hvac.Client(
            url=self.server, token="", namespace=auth_namespace, verify=verify, timeout=TIMEOUT, adapter=raw
        )
        self.session = VaultSession(ctx, self._login)

    # -- requests ----------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, call: str, action: str, **kwargs: Any) -> requests.Response | None:
        """One authenticated request; None for a 404 (the caller decides what "absent" means)."""
        token = self.session.token()
        for attempt in range(2):
            try:
                response = self._reader.adapter.request(
                    method, f"/v1/{path}", headers={"X-Vault-Token": token}, raise_exception=False, **kwargs
                )
            except requests.RequestException as exc:
                self._ctx.counter(PROVIDER, call, "error")
                raise unreachable(self.server, exc) from None
            if response.status_code == 403 and attempt == 0:  # one new token at most per request
                fresh = self.session.refresh_after_denial(token)
                if fresh is not None:
                    token = fresh
                    continue
            break
        if response.status_code == 404:
            self._ctx.counter(PROVIDER, call, "success")
            return None
        if not response.ok:
            self._ctx.counter(PROVIDER, call, "error")
            raise vault_error(action, path, response)
        self._ctx.counter(PROVIDER, call, "success")
        answer: requests.Response = response
        return answer

    def _json(self, response: requests.Response, path: str) -> Any:
        try:
            return loads_exact(response.content)
        except ValueError:
            raise ProviderError(f"vault: the answer for {path} is not JSON", kind="unavailable") from None

    def _read(self, key: str, version: str) -> dict[str, Any]:
        path = build_path(key, self.mount, self.version)
        params = {"version": version} if version and self.version == "v2" else None
        response = self._request("GET", path, "ReadSecretData", "reading", params=params)
        body = self._json(response, path) if response is not None else None
        data = (body or {}).get("data")
        if self.version == "v2":
            data = data.get("data") if isinstance(data, Mapping) else None
        if response is None or not isinstance(data, Mapping):
            raise NoSecretError(f"vault: secret {path} does not exist" + (f" at version {version}" if version else ""))
        return dict(data)

    def _metadata_record(self, key: str) -> Mapping[str, Any]:
        """The ``data`` of ``key``'s KV v2 metadata endpoint; absent is not found."""
        if self.version != "v2":
            raise ProviderError("vault: cannot perform metadata fetch operations with kv version v1", kind="invalid")
        path = build_metadata_path(key, self.mount)
        response = self._request("GET", path, "ReadSecretData", "reading")
        data = ((self._json(response, path) or {}).get("data") if response is not None else None) or None
        if not isinstance(data, Mapping):
            raise NoSecretError(f"vault: secret {path} does not exist")
        return data

    def _metadata(self, key: str) -> dict[str, Any]:
        """``metadataPolicy: Fetch``: custom metadata over the version fields, every value a string."""
        data = self._metadata_record(key)
        out: dict[str, Any] = {
            name: "" if data.get(name) is None else str(data.get(name))
            for name in ("created_time", "current_version", "delete_version_after")
        }
        out.update(_custom_metadata(data))
        return out

    def _document(self, ref: RemoteRef, memo: Memo | None) -> dict[str, Any]:
        fetch = ref.metadata_policy == "Fetch"
        slot = memo_slot(ref)
        if memo is not None and slot in memo:
            cached = memo[slot]
            assert isinstance(cached, dict)
            return cached
        document = self._metadata(ref.key) if fetch else self._read(ref.key, ref.version)
        if memo is not None:
            memo[slot] = document
        return document

    # -- the SecretsClient protocol ---------------------------------------------------------------------
    def get_secret(self, ref: RemoteRef, memo: Memo | None = None) -> bytes:
        """One value (``property`` selects; none gives the whole map as Go's JSON)."""
        document = self._document(ref, memo)
        return vault_property(document, ref.property, ref.key) if ref.property else go_json(document)

    def get_secret_map(self, ref: RemoteRef, memo: Memo | None = None) -> dict[str, bytes]:
        """``dataFrom.extract``: the members of the map (or of the object ``property`` selects)."""
        document = self._document(ref, memo)
        if not ref.property:
            return vault_explode(document)
        selected = vault_property(document, ref.property, ref.key)
        try:
            inner = loads_exact(selected)
        except ValueError:
            inner = None
        if not isinstance(inner, dict):
            raise ProviderError(f"vault: property {ref.property} of {ref.key} is not a JSON object", kind="invalid")
        return vault_explode(inner)

    def get_all_secrets(self, find: FindSpec) -> dict[str, bytes]:
        """``dataFrom.find``: every secret under ``find.path`` matching the name regexp (or else the tags)."""
        if self.mount is None:
            raise ProviderError("vault: dataFrom.find needs the store's path (the KV mount)", kind="invalid")
        if find.name_regexp is None and find.tags and self.version == "v1":
            raise ProviderError("vault: cannot perform find by tag operations with kv version v1", kind="invalid")
        base = _collapse(find.path or "").strip("/")
        candidates = self._list(base)
        pattern = re.compile(find.name_regexp) if find.name_regexp is not None else None
        out: dict[str, bytes] = {}
        for name in candidates:
            if pattern is not None and not pattern.search(name):
                continue
            if pattern is None and find.tags:
                try:
                    # Tags are custom metadata only: a tag named current_version must not match the version.
                    tags = _custom_metadata(self._metadata_record(f"{self.mount}/{name}"))
                except NoSecretError:
                    continue
                if any(tags.get(k) != v for k, v in find.tags.items()):
                    continue
            try:
                out[name] = go_json(self._read(f"{self.mount}/{name}", ""))
            except NoSecretError:
                continue  # deleted since the listing
        return out

    def _list(self, base: str) -> list[str]:
        """Secret names (relative to the mount) under ``base``, depth first; a missing directory is not found."""
        names: list[str] = []
        pending = [base]
        while pending:
            directory = pending.pop()
            prefix = f"{self.mount}/metadata" if self.version == "v2" else str(self.mount)
            path = f"{prefix}/{directory}".rstrip("/") + "/"
            response = self._request("LIST", path, "ListSecrets", "listing")
            if response is None:
                if directory == base:
                    raise NoSecretError(f"vault: nothing to list at {path}")
                continue
            keys = ((self._json(response, path) or {}).get("data") or {}).get("keys") or []
            for key in keys:
                full = f"{directory}/{key}".lstrip("/") if directory else str(key)
                if str(key).endswith("/"):
                    pending.append(full.rstrip("/"))
                else:
                    names.append(full)
                if len(names) > MAX_FIND:
                    raise ProviderError(f"vault: more than {MAX_FIND} secrets under {path}", kind="invalid")
        return sorted(names)

    def validate(self) -> str:
        """``Valid`` once a token is obtained and ``lookup-self`` accepts it (``ValidationUnknown``: referent auth)."""
        if self._ctx.referent():
            return "ValidationUnknown"
        token = self.session.token()
        try:
            response = self._reader.adapter.request(
                "GET", "/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, raise_exception=False
            )
        except requests.RequestException as exc:
            self._ctx.counter(PROVIDER, "LookupSelf", "error")
            raise unreachable(self.server, exc) from None
        self._ctx.counter(PROVIDER, "LookupSelf", "success" if response.ok else "error")
        if not response.ok:
            error = vault_error("checking the token at", "auth/token/lookup-self", response)
            raise ProviderError(error.message, kind="auth")
        return "Valid"

    def close(self) -> None:
        """Close connections and remove the CA file; tokens are left to expire (a static one is never revoked)."""
        for client in (self._reader, self._login):
            client.adapter.close()
        if self._ca_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._ca_file)
            self._ca_file = None

    # -- TLS ---------------------------------------------------------------------------------------------
    def _ca(self, provider: Mapping[str, Any]) -> bool | str:
        pem = b""
        if provider.get("caBundle"):
            try:
                pem = base64.b64decode(str(provider["caBundle"]), validate=True)
            except (binascii.Error, ValueError):
                raise ProviderError("vault: caBundle is not base64", kind="invalid") from None
        elif isinstance(provider.get("caProvider"), Mapping):
            ca = provider["caProvider"]
            if self._ctx.store.kind == CLUSTER_STORE_KIND and not ca.get("namespace"):
                raise ProviderError("vault: caProvider of a ClusterSecretStore needs a namespace", kind="invalid")
            namespace = self._ctx.namespace_of(ca)
            name, key = str(ca.get("name") or ""), str(ca.get("key") or "")
            if str(ca.get("type") or "") == "ConfigMap":
                pem = self._ctx.get_config_map_value(namespace, name, key).encode()
            else:
                pem = self._ctx.read_secret(namespace, name, key)
        if not pem:
            return True
        handle, path = tempfile.mkstemp(prefix="gitsecure-vault-ca-", suffix=".pem")
        with os.fdopen(handle, "wb") as out:
            out.write(pem)
        self._ca_file = path
        return path


def _custom_metadata(record: Mapping[str, Any]) -> dict[str, str]:
    custom = record.get("custom_metadata")
    return {str(k): str(v) for k, v in custom.items()} if isinstance(custom, Mapping) else {}


def new_client(ctx: StoreContext) -> VaultClient:
    """The provider entry point (see :func:`~gitsecure.controller.external.providers.base.client_for`)."""
    return VaultClient(ctx)
