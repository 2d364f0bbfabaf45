"""Vault/OpenBao logins for a store, and the token kept between reconciles (reference §2.2).

ESO logs in on every reconcile and revokes the token afterwards unless its token cache is enabled; that
floods Vault with leases. Here one :class:`VaultSession` lives as long as its store revision: it logs in once,
renews the token while it is renewable, logs in again when the token is near its end or Vault answers 403,
and never revokes a static token. Credentials come from the cluster through the store context and are never
logged or put in an error.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import hvac
import requests

from gitsecure.controller.external.providers.base import ErrorKind, ProviderError, StoreContext

PROVIDER = "HashiCorp/Vault"
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
RENEW_FRACTION = 1 / 3  # renew (or log in again) once less than a third of the token's TTL is left
AUTH_METHODS = ("tokenSecretRef", "appRole", "kubernetes", "jwt", "userPass")


def vault_error(action: str, path: str, response: requests.Response) -> ProviderError:
    """A Vault error answer as a sanitized ProviderError (Vault's ``errors`` never hold secret values)."""
    if response.status_code == 403:
        return ProviderError(f"vault: permission denied {action} {path}", kind="permission")
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        errors = []
    detail = "; ".join(str(e) for e in errors)[:300] or response.reason or "no detail"
    kind: ErrorKind = "unavailable" if response.status_code in (429, 500, 502, 503, 504) else "invalid"
    return ProviderError(f"vault: {action} {path} failed with HTTP {response.status_code}: {detail}", kind=kind)


def unreachable(server: str, exc: Exception) -> ProviderError:
    """A transport failure, named by kind only (the exception text can be long and varies per attempt)."""
    if isinstance(exc, requests.exceptions.SSLError):
        reason = "TLS handshake failed (is caBundle or caProvider set to the server's CA?)"
    else:
        reason = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return ProviderError(f"vault: cannot reach {server}: {reason}", kind="unavailable")


class VaultSession:
    """The token a store's client uses: obtained once, renewed, replaced on expiry or 403. Thread-safe."""

    def __init__(self, ctx: StoreContext, client: hvac.Client, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ctx = ctx
        self._client = client  # its adapter carries auth.namespace (if any) for logins
        self._auth: Mapping[str, Any] = ctx.store.provider.get("auth") or {}
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires: float | None = None
        self._ttl = 0.0
        self._renewable = False
        # ldap, cert, iam, gcp...: refuse them rather than fall through to "no auth", which would send the
        # controller's own VAULT_TOKEN in place of the credentials the store names.
        unsupported = sorted(
            m for m, v in self._auth.items() if m not in (*AUTH_METHODS, "namespace") and v is not None
        )
        if unsupported:
            raise ProviderError(f"vault: auth method {unsupported[0]} is not supported", kind="invalid")
        methods = [m for m in AUTH_METHODS if self._auth.get(m) is not None]
        if len(methods) > 1:
            raise ProviderError(f"vault: the store names {len(methods)} auth methods; use exactly one", kind="invalid")
        self.method = methods[0] if methods else ""
        self.static = self.method in ("tokenSecretRef", "")

    def token(self) -> str:
        """A token valid for a while: the cached one, renewed or replaced when near its end."""
        with self._lock:
            if not self._token or (
                self._expires is not None
                and self._expires - self._clock() < self._ttl * RENEW_FRACTION
                and not (self._renewable and self._renew())
            ):
                self._obtain()
            return self._token

    def refresh_after_denial(self, used: str) -> str | None:
        """After a 403 with token ``used``: a new token to retry with once, or None (the denial stands).

        The token is replaced only when ``lookup-self`` rejects it too; a static token is re-read from its
        Secret (it may have been rotated), never logged in for."""
        with self._lock:
            if self._token != used:
                return self._token  # another thread already replaced it
            # A token Vault still accepts was denied by policy: a new login would be denied the same way and
            # would only add a lease, so only a token Vault no longer knows (revoked, expired) is replaced.
            if self.method == "" or self._accepted(used):
                return None
            self._obtain()
            return self._token if self._token != used else None

    def _accepted(self, token: str) -> bool:
        try:
            response = self._client.adapter.request(
                "GET", "/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, raise_exception=False
            )
        except requests.RequestException:
            return False  # then the new login reports the server as unreachable
        self._ctx.counter(PROVIDER, "LookupSelf", "success" if response.ok else "error")
        return bool(response.ok)

    # -- obtaining and renewing ----------------------------------------------------------------------
    def _obtain(self) -> None:
        if self.method == "tokenSecretRef":
            ref = self._auth["tokenSecretRef"]
            self._token = self._secret(ref, "token").decode().strip()
            self._expires = None
            return
        if self.method == "":
            token = os.environ.get("VAULT_TOKEN", "")
            if not token:
                raise ProviderError("vault: the store has no auth method and VAULT_TOKEN is not set", kind="auth")
            self._token, self._expires = token, None
            return
        mount, payload, suffix = self._login_request()
        path = f"auth/{mount.strip('/')}/login{suffix}"
        try:
            response = self._client.adapter.request("POST", f"/v1/{path}", json=payload, raise_exception=False)
        except requests.RequestException as exc:
            self._ctx.counter(PROVIDER, "Login", "error")
            raise unreachable(self._client.url, exc) from None
        if not response.ok:
            self._ctx.counter(PROVIDER, "Login", "error")
            error = vault_error("logging in at", path, response)
            raise ProviderError(error.message, kind="auth" if error.kind in ("permission", "invalid") else error.kind)
        self._ctx.counter(PROVIDER, "Login", "success")
        auth = (response.json() or {}).get("auth") or {}
        self._adopt(auth)

    def _adopt(self, auth: Mapping[str, Any]) -> None:
        token = str(auth.get("client_token") or "")
        if not token:
            raise ProviderError("vault: the login answer carries no token", kind="auth")
        self._token = token
        self._ttl = float(auth.get("lease_duration") or 0)
        self._renewable = bool(auth.get("renewable"))
        self._expires = self._clock() + self._ttl if self._ttl > 0 else None

    def _renew(self) -> bool:
        try:
            response = self._client.adapter.request(
                "POST",
                "/v1/auth/token/renew-self",
                headers={"X-Vault-Token": self._token},
                json={},
                raise_exception=False,
            )
        except requests.RequestException:
            return False
        self._ctx.counter(PROVIDER, "RenewSelf", "success" if response.ok else "error")
        if not response.ok:
            return False
        auth = (response.json() or {}).get("auth") or {}
        if float(auth.get("lease_duration") or 0) < self._ttl * RENEW_FRACTION:
            return False  # max TTL reached: a renewal would not last; log in again instead
        self._adopt({**auth, "client_token": auth.get("client_token") or self._token})
        return True

    def _login_request(self) -> tuple[str, dict[str, Any], str]:
        block = self._auth[self.method]
        if self.method == "appRole":
            role_id = str(block.get("roleId") or "").strip()
            if not role_id and block.get("roleRef"):
                role_id = self._secret(block["roleRef"], "role-id").decode().strip()
            if not role_id:
                raise ProviderError("vault: appRole needs roleId or roleRef", kind="invalid")
            secret_id = self._secret(block.get("secretRef") or {}, "secret-id").decode().strip()
            return str(block.get("path") or "approle"), {"role_id": role_id, "secret_id": secret_id}, ""
        if self.method == "kubernetes":
            jwt = self._kubernetes_jwt(block)
            return str(block.get("mountPath") or "kubernetes"), {"role": str(block.get("role") or ""), "jwt": jwt}, ""
        if self.method == "jwt":
            sa_block = block.get("kubernetesServiceAccountToken")
            if isinstance(sa_block, Mapping):
                account = sa_block.get("serviceAccountRef") or {}
                audiences = tuple(str(a) for a in sa_block.get("audiences") or ["vault"])
                seconds = int(sa_block.get("expirationSeconds") or 600)
                jwt = self._ctx.request_token(
                    self._ctx.namespace_of(account), str(account.get("name") or ""), audiences, seconds
                )
            else:
                jwt = self._secret(block.get("secretRef") or {}, "jwt").decode().strip()
            payload = {"jwt": jwt, **({"role": str(block["role"])} if block.get("role") else {})}
            return str(block.get("path") or "jwt"), payload, ""
        username = str(block.get("username") or "")
        if not username:
            raise ProviderError("vault: userPass needs a username", kind="invalid")
        password = self._secret(block.get("secretRef") or {}, "password").decode()
        return str(block.get("path") or "userpass"), {"password": password}, f"/{username}"

    def _kubernetes_jwt(self, block: Mapping[str, Any]) -> str:
        account = block.get("serviceAccountRef")
        if isinstance(account, Mapping) and account.get("name"):
            audiences = tuple(str(a) for a in account.get("audiences") or [])
            return self._ctx.request_token(self._ctx.namespace_of(account), str(account["name"]), audiences, 600)
        if isinstance(block.get("secretRef"), Mapping):
            ref = dict(block["secretRef"])
            ref.setdefault("key", "token")
            return self._secret(ref, "token").decode().strip()
        try:
            return SERVICE_ACCOUNT_TOKEN.read_text().strip()
        except OSError:
            raise ProviderError(
                "vault: kubernetes auth without a service account or Secret, and no pod token", kind="auth"
            ) from None

    def _secret(self, ref: Mapping[str, Any], what: str) -> bytes:
        name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
        if not name or not key:
            raise ProviderError(f"vault: {self.method} needs a Secret name and key for the {what}", kind="invalid")
        return self._ctx.read_secret(self._ctx.namespace_of(ref), name, key)
