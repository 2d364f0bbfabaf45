"""In-memory stand-ins for the unit level: the small cluster surface ExternalSecrets use, and a provider.

The cluster fake keeps resourceVersions and answers a stale one with :class:`Conflict`, as the API server
does; the provider fake holds remote secrets as JSON documents and counts its calls. Real-stack scenarios
(OpenBao, moto, the kube emulator) live in the integration tests.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import itertools
import json
from collections.abc import Mapping
from typing import Any

from gitsecure.controller.external.model import FindSpec, RemoteRef
from gitsecure.controller.external.providers.base import NoSecretError, ProviderError, StoreContext
from gitsecure.controller.kubetransport import ApiError, Conflict

ES_PLURAL = "externalsecrets"


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def merge_patch(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeCluster:
    """Objects by (plural, namespace, name); writes bump resourceVersion, spec writes bump generation."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[tuple[str, str, str, str]] = []  # (object name, type, reason, message)
        self.calls: list[str] = []
        self.namespaces: dict[str, dict[str, str]] = {}
        self.fail: dict[str, ApiError] = {}  # method name -> error to raise once
        self._versions = itertools.count(1)
        self._uids = itertools.count(1)

    # helpers for tests
    def put(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(self._uids)}")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(next(self._versions))
        self.objects[(plural, meta.get("namespace") or "", meta["name"])] = body
        return copy.deepcopy(body)

    def obj(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((plural, namespace, name))

    def reasons(self) -> list[str]:
        return [reason for _, _, reason, _ in self.events]

    def _call(self, name: str) -> None:
        self.calls.append(name)
        error = self.fail.pop(name, None)
        if error is not None:
            raise error

    def _get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        found = self.objects.get((plural, namespace or "", name))
        return copy.deepcopy(found) if found is not None else None

    def _check_version(self, current: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise Conflict("the object has been modified", status=409, reason="Conflict")

    def _store(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        body["metadata"]["resourceVersion"] = str(next(self._versions))
        self.objects[(plural, namespace, name)] = body
        return copy.deepcopy(body)

    # the ClusterApi surface
    def get_object(
        self, group: str, version: str, plural: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        self._call("get_object")
        return self._get(plural, namespace, name)

    def patch_object(
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        content_type: str = "application/merge-patch+json",
    ) -> dict[str, Any]:
        self._call("patch_object")
        current = self.objects[(plural, namespace or "", name)]
        self._check_version(current, body)
        patched = merge_patch(copy.deepcopy(current), {**body, "metadata": {
            k: v for k, v in (body.get("metadata") or {}).items() if k != "resourceVersion"}})  # fmt: skip
        if patched["metadata"].get("deletionTimestamp") and not patched["metadata"].get("finalizers"):
            del self.objects[(plural, namespace or "", name)]
            return patched
        return self._store(plural, namespace or "", name, patched)

    def replace_object_status(
        self, group: str, version: str, plural: str, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._call("replace_object_status")
        current = self.objects[(plural, namespace or "", name)]
        self._check_version(current, body)
        updated = copy.deepcopy(current)
        updated["status"] = copy.deepcopy(body.get("status"))
        return self._store(plural, namespace or "", name, updated)

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._call("get_secret")
        return self._get("secrets", namespace, name)

    def create_secret(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self._call("create_secret")
        name = body["metadata"]["name"]
        if ("secrets", namespace, name) in self.objects:
            raise Conflict(f'secrets "{name}" already exists', status=409, reason="AlreadyExists")
        created = copy.deepcopy(dict(body))
        created["metadata"]["uid"] = f"uid-{next(self._uids)}"
        return self._store("secrets", namespace, name, created)

    def replace_secret(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self._call("replace_secret")
        current = self.objects[("secrets", namespace, name)]
        self._check_version(current, body)
        if current.get("immutable") and current.get("data") != body.get("data"):
            raise ApiError("field is immutable when `immutable` is set", status=422, reason="Invalid")
        return self._store("secrets", namespace, name, copy.deepcopy(dict(body)))

    def patch_secret(self, namespace: str, name: str, merge_patch_body: Mapping[str, Any]) -> dict[str, Any]:
        self._call("patch_secret")
        current = self.objects[("secrets", namespace, name)]
        return self._store("secrets", namespace, name, merge_patch(copy.deepcopy(current), merge_patch_body))

    def delete_secret(self, namespace: str, name: str, *, uid_precondition: str | None) -> bool:
        self._call("delete_secret")
        current = self.objects.get(("secrets", namespace, name))
        if current is None:
            return False
        if uid_precondition and current["metadata"]["uid"] != uid_precondition:
            raise Conflict("uid precondition failed", status=409, reason="Conflict")
        del self.objects[("secrets", namespace, name)]
        return True

    def list_secrets(self, namespace: str, label_selector: str) -> tuple[list[dict[str, Any]], str]:
        self._call("list_secrets")
        key, _, value = label_selector.partition("=")
        found = [
            copy.deepcopy(body)
            for (plural, ns, _), body in self.objects.items()
            if plural == "secrets" and ns == namespace and (body["metadata"].get("labels") or {}).get(key) == value
        ]
        return found, "1"

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._call("get_config_map")
        return self._get("configmaps", namespace, name)

    def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._call("get_service_account")
        return self._get("serviceaccounts", namespace, name)

    def create_token(
        self, namespace: str, service_account: str, *, audiences: tuple[str, ...], expiration_seconds: int
    ) -> str:
        self._call("create_token")
        return f"token-for-{namespace}-{service_account}"

    def get_namespace(self, name: str) -> dict[str, Any] | None:
        self._call("get_namespace")
        if name not in self.namespaces:
            return None
        return {"metadata": {"name": name, "labels": dict(self.namespaces[name])}}

    def post_event(self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        self._call("post_event")
        self.events.append((str((involved.get("metadata") or {}).get("name")), type_, reason, message))


class FakeProvider:
    """Remote secrets as ``key -> JSON document`` (or raw text); errors by key; counts calls."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.errors: dict[str, ProviderError] = {}
        self.calls = 0
        self.logins = 0
        self.closed = 0
        self.validation = "Valid"
        self.validate_error: ProviderError | None = None
        self.build_error: ProviderError | None = None

    def factory(self, ctx: StoreContext) -> FakeClient:
        if self.build_error is not None:
            raise self.build_error
        self.logins += 1
        return FakeClient(self, ctx)


class FakeClient:
    """One store's client over a :class:`FakeProvider`."""

    thread_safe = True

    def __init__(self, provider: FakeProvider, ctx: StoreContext) -> None:
        self.provider = provider
        self.ctx = ctx

    def _document(self, key: str) -> str:
        self.provider.calls += 1
        if key in self.provider.errors:
            raise self.provider.errors[key]
        if key not in self.provider.secrets:
            raise NoSecretError(f"fake: secret {key} not found")
        return self.provider.secrets[key]

    def get_secret(self, ref: RemoteRef, memo: dict[str, object] | None = None) -> bytes:
        document = self._document(ref.key)
        if not ref.property:
            return document.encode()
        value = json.loads(document)
        if ref.property not in value:
            raise ProviderError(f"key {ref.property} does not exist in secret {ref.key}", kind="invalid")
        return str(value[ref.property]).encode()

    def get_secret_map(self, ref: RemoteRef, memo: dict[str, object] | None = None) -> dict[str, bytes]:
        return {k: str(v).encode() for k, v in json.loads(self._document(ref.key)).items()}

    def get_all_secrets(self, find: FindSpec) -> dict[str, bytes]:
        self.provider.calls += 1
        prefix = find.path or ""
        found = {k: v.encode() for k, v in self.provider.secrets.items() if k.startswith(prefix)}
        if not found:
            raise NoSecretError("fake: nothing found")
        return found

    def validate(self) -> str:
        if self.provider.validate_error is not None:
            raise self.provider.validate_error
        return self.provider.validation

    def close(self) -> None:
        self.provider.closed += 1


class Clock:
    """A settable wall clock."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
