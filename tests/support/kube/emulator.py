"""StrictEmulator: kmock's KubernetesEmulator held to the Kubernetes API conventions a controller relies on.

Plain kmock 0.8 merges every write into a dict (see docs/dev/kmock-spike.md). This subclass serves
every resource request itself, on top of kmock's request parsing, discovery and ``objects`` view:

* create: uid, resourceVersion, creationTimestamp, generation (kinds that have one), ``generateName``,
  namespace from the URL (and the namespace must exist), name/label/ownerReference validation,
  ``status`` dropped where the kind has a status subresource, Secret ``stringData`` folded into ``data``;
* PUT replaces (server fields kept), a stale ``resourceVersion`` is a 409, custom resources need one;
  PATCH as merge, JSON or strategic-merge patch (``patches.py``), then the same rules; a write that
  changes nothing is not stored (no new resourceVersion, no event);
* ``/status`` changes only status, the main endpoint ignores status; immutable Secrets/ConfigMaps
  and Secret ``type`` reject changes with 422;
* delete honours finalizers, preconditions and ``propagationPolicy``; dependents are collected by
  ownerReference uid when their owner goes, and so are objects whose owners do not exist;
* list and watch apply label and field selectors; lists paginate; watches resume from a
  resourceVersion (``watch.py``); Services proxy to registered local ports (``proxy.py``);
* a bearer token is required when one is set; ``fail_next`` injects API errors.

Not emulated (the full list belongs in docs/controller.md): server-side apply, admission, RBAC and
CRD schema validation, BOOKMARK events, asynchronous GC and Foreground deletion, ``dryRun`` (refused
with 400), one storage for core and events.k8s.io Events. It is not thread-safe: use it from its
event loop (``KubeCluster.call``).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from importlib.metadata import version
from typing import Any

import aiohttp.web
import attrs
import kmock

from tests.support.kube import apistatus as st
from tests.support.kube.apistatus import ApiError
from tests.support.kube.faults import Fault, RequestRecord
from tests.support.kube.kinds import NAMESPACES, Kind, Target, parse_target
from tests.support.kube.listing import list_body
from tests.support.kube.patches import apply_patch
from tests.support.kube.proxy import ServiceProxy, split_target
from tests.support.kube.selectors import FieldSelector, LabelSelector
from tests.support.kube.store import Key, ObjectStore, Watcher, meta
from tests.support.kube.validation import (
    MAX_GENERATED_PREFIX,
    check_metadata,
    check_name,
)
from tests.support.kube.watch import serve_watch
from tests.support.kube.writes import SERVER_FIELDS, kind_rules, merge_server_fields, typed

if version("kmock") != "0.8":  # the subclass relies on kmock internals (_handle, _requests, _objects)
    raise ImportError(f"tests.support.kube needs kmock==0.8, found {version('kmock')}")

_GENERATED = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_VERBS = {("GET", False): "get", ("GET", True): "list", ("POST", True): "create", ("PUT", False): "update"}
_VERBS |= {("PATCH", False): "patch", ("DELETE", False): "delete", ("DELETE", True): "deletecollection"}


def _b64url(part: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _header(request: kmock.Request, name: str) -> str | None:
    raw = request._raw_request
    if raw is not None:
        return raw.headers.get(name)
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), None)


def _json(body: Mapping[str, Any], status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(body, status=status)


@attrs.define(kw_only=True)
class StrictEmulator(kmock.KubernetesEmulator):
    """A stateful Kubernetes API emulator following the API conventions listed in the module docstring."""

    token: str | None = None
    """The bearer token every request must carry (None: no authentication)."""
    clock: Callable[[], dt.datetime] = _utcnow
    require_namespaces: bool = True
    gc_dangling: bool = True
    """Collect objects whose ownerReferences all point at objects that do not exist, like the GC does."""
    watch_history: int = 50_000
    log_size: int = 20_000
    _store: ObjectStore = attrs.field(init=False)
    _proxy: ServiceProxy = attrs.field(init=False, factory=ServiceProxy)
    _faults: list[Fault] = attrs.field(init=False, factory=list)
    _log: collections.deque[RequestRecord] = attrs.field(init=False)
    issued_tokens: list[tuple[str, str, tuple[str, ...]]] = attrs.field(init=False, factory=list)
    """Every TokenRequest answered: (namespace, service account, audiences)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._store = ObjectStore(self._objects, history=self.watch_history)
        self._log = collections.deque(maxlen=self.log_size)

    async def __aexit__(self, *exc: Any) -> None:
        self._store.close_watchers()
        await self._proxy.close()
        await super().__aexit__(*exc)

    # -- the request entry point ------------------------------------------------------------------
    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # kmock's routing scans the whole request history for every request: keep it at one entry.
        del self._requests[:-1]
        record = RequestRecord(request.method.value, request.url.path, dict(request.params), request.data)
        self._log.append(record)
        try:
            response = await self._serve(request)
        except ApiError as exc:
            response = _json(exc.body(), exc.code)
        record.status = response.status
        return response

    async def _serve(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if self.token is not None and _header(request, "Authorization") != f"Bearer {self.token}":
            raise ApiError(401, "Unauthorized")
        target = parse_target(request.url.path)
        if target is None:  # discovery (/api, /apis/G/V, /version): kmock's own answers
            return await super()._handle(request)
        method = request.method.value
        watch = method == "GET" and request.params.get("watch") in _TRUE
        if "dryRun" in request.params:  # refused rather than silently written
            raise st.bad_request("dryRun is not supported by the emulator")
        for fault in self._faults:
            if fault.matches(method, watch, target):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise fault.error(target)
        kind = Kind.of(self._resources, target.resource)
        verb = "watch" if watch else _VERBS.get((method, target.name is None))
        if target.subresource is None and kind.verbs and verb not in kind.verbs:
            raise st.method_not_allowed()
        if kind.namespaced and target.name is not None and target.namespace is None:
            raise st.endpoint_not_found()
        if not kind.namespaced and target.namespace is not None:
            raise st.endpoint_not_found()
        return await self._dispatch(kind, target, request, method, watch)

    async def _dispatch(
        self, kind: Kind, target: Target, request: kmock.Request, method: str, watch: bool
    ) -> aiohttp.web.StreamResponse:
        params = request.params
        if watch:
            watcher = Watcher(kind.resource, target.namespace, target.name, *self._selectors(kind, params))
            assert request._raw_request is not None
            return await serve_watch(self._store, watcher, params, request._raw_request)
        if target.name is None:
            if method == "GET":
                items = self._select(kind, target.namespace, params)
                return _json(list_body(kind, items, params, self._store))
            if method == "POST" and (target.namespace is not None or not kind.namespaced):
                return _json(self.create_object(kind, target.namespace, request.data), 201)
            if method == "DELETE":
                for obj in self._select(kind, target.namespace, params):
                    self.delete_object(self._key(kind, meta(obj).get("namespace"), meta(obj)["name"]), "Background")
                return _json({"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": {}, "items": []})
            raise st.method_not_allowed()
        sub = target.subresource
        if sub is not None and kind.plural == "services" and not kind.group and (sub + "/").startswith("proxy/"):
            return await self._forward(kind, target, request, sub[len("proxy") :] or "/")
        if sub == "token" and kind.plural == "serviceaccounts" and not kind.group and method == "POST":
            return _json(self._token_request(kind, target, request.data), 201)
        if sub is not None and (sub != "status" or not kind.status):
            raise st.endpoint_not_found()
        key = self._key(kind, target.namespace, target.name)
        current = self._store.get(key)
        if current is None:
            raise st.not_found(kind.group, kind.plural, target.name)
        if method == "GET":
            return _json(current)
        if method == "PUT":
            return _json(self._replace(kind, key, current, request.data, status_only=sub == "status"))
        if method == "PATCH":
            patched = apply_patch(current, request.data, _header(request, "Content-Type") or "", custom=kind.custom)
            return _json(self._update(kind, key, current, patched, status_only=sub == "status"))
        if method == "DELETE" and sub is None:
            return self._delete_request(kind, key, current, request)
        raise st.method_not_allowed()

    # -- reading ------------------------------------------------------------------------------------
    def _selectors(self, kind: Kind, params: Mapping[str, str]) -> tuple[LabelSelector, FieldSelector]:
        return LabelSelector.parse(params.get("labelSelector")), FieldSelector.parse(
            params.get("fieldSelector"), kind.plural
        )

    def _select(self, kind: Kind, namespace: str | None, params: Mapping[str, str]) -> list[dict[str, Any]]:
        labels, fields = self._selectors(kind, params)
        return [o for o in self._store.items(kind.resource, namespace) if labels.matches(o) and fields.matches(o)]

    def _key(self, kind: Kind, namespace: str | None, name: str) -> Key:
        return (kind.resource, namespace if kind.namespaced else None, name)

    def _timestamp(self) -> str:
        return self.clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- create -----------------------------------------------------------------------------------------
    def _require_namespace(self, namespace: str) -> None:
        if not self.require_namespaces or NAMESPACES not in self._resources:
            return
        ns = self._store.get((NAMESPACES, None, namespace))
        if ns is None:
            raise st.not_found("", "namespaces", namespace)
        if meta(ns).get("deletionTimestamp"):
            raise ApiError(403, f"unable to create new content in namespace {namespace} because it is being terminated")

    def create_object(self, kind: Kind, namespace: str | None, body: Any) -> dict[str, Any]:
        """Create as ``POST`` does (also for seeding from tests); returns the stored object."""
        obj = typed(kind, body)
        m = obj["metadata"]
        if kind.namespaced:
            if namespace is None or m.get("namespace") not in (None, "", namespace):
                raise st.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            m["namespace"] = namespace
            self._require_namespace(namespace)
        else:
            m.pop("namespace", None)
        if m.get("resourceVersion"):
            raise ApiError(500, "resourceVersion should not be set on objects to be created")
        name = m.get("name") or self._generate(kind, namespace, m.get("generateName"))
        is_namespace = (kind.group, kind.plural) == ("", "namespaces")
        if causes := check_name(name, dns_label=is_namespace):
            raise st.invalid(kind.kind, kind.group, str(name or ""), causes)
        key = self._key(kind, namespace, str(name))
        if self._store.get(key) is not None:
            raise st.already_exists(kind.group, kind.plural, str(name))
        for field in (*SERVER_FIELDS, "selfLink", "managedFields"):
            m.pop(field, None)
        m.update(name=name, uid=str(uuid.uuid4()), creationTimestamp=self._timestamp())
        if kind.tracks_generation:
            m["generation"] = 1
        if kind.status:
            obj.pop("status", None)
        if is_namespace:
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        if causes := check_metadata(m) + kind_rules(kind, obj):
            raise st.invalid(kind.kind, kind.group, str(name), causes)
        stored = self._store.put(key, obj, "ADDED")
        self._schedule_gc(key, stored)
        return stored

    def _generate(self, kind: Kind, namespace: str | None, prefix: Any) -> str | None:
        if not isinstance(prefix, str) or not prefix:
            return None
        while True:
            name = prefix[:MAX_GENERATED_PREFIX] + "".join(secrets.choice(_GENERATED) for _ in range(5))
            if self._store.get(self._key(kind, namespace, name)) is None:
                return name

    # -- update -----------------------------------------------------------------------------------------
    def _replace(
        self, kind: Kind, key: Key, current: dict[str, Any], body: Any, *, status_only: bool
    ) -> dict[str, Any]:
        obj = typed(kind, body)
        if kind.custom and not obj["metadata"].get("resourceVersion"):
            cause = (
                "metadata.resourceVersion",
                "FieldValueInvalid",
                "Invalid value: 0x0: must be specified for an update",
            )
            raise st.invalid(kind.kind, kind.group, key[2], [cause])
        if kind.namespaced and obj["metadata"].get("namespace") in (None, ""):
            obj["metadata"]["namespace"] = key[1]
        return self._update(kind, key, current, obj, status_only=status_only)

    def _update(
        self, kind: Kind, key: Key, current: dict[str, Any], candidate: dict[str, Any], *, status_only: bool
    ) -> dict[str, Any]:
        """The common tail of PUT and PATCH: identity and precondition checks, then the write."""
        m, cur = meta(candidate), meta(current)
        if m.get("name") != key[2]:
            raise st.bad_request(
                f"the name of the object ({m.get('name')}) does not match the name on the URL ({key[2]})"
            )
        if kind.namespaced and m.get("namespace") != key[1]:
            raise st.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if m.get("uid") and m["uid"] != cur.get("uid"):
            why = f"Precondition failed: UID in precondition: {m['uid']}, UID in object meta: {cur.get('uid')}"
            raise st.conflict(kind.group, kind.plural, key[2], why)
        if m.get("resourceVersion") and m["resourceVersion"] != cur.get("resourceVersion"):
            raise st.conflict(kind.group, kind.plural, key[2])
        if status_only:
            new = copy.deepcopy(current)
            new.pop("status", None)
            if "status" in candidate:
                new["status"] = candidate["status"]
        else:
            new = merge_server_fields(kind, current, candidate)
        new["metadata"]["resourceVersion"] = cur.get("resourceVersion")
        if new == current:
            return current  # the API server does not store a write that changes nothing
        if cur.get("deletionTimestamp") and not meta(new).get("finalizers"):
            return self._finish_delete(key, new, "Background")
        stored = self._store.put(key, new, "MODIFIED")
        self._schedule_gc(key, stored)
        return stored

    # -- TokenRequest --------------------------------------------------------------------------------------
    def _token_request(self, kind: Kind, target: Target, body: Any) -> dict[str, Any]:
        """``POST serviceaccounts/<sa>/token``: a JWT-shaped token (unsigned) with the claims Vault reads."""
        assert target.name is not None and target.namespace is not None
        account = self._store.get(self._key(kind, target.namespace, target.name))
        if account is None:
            raise st.not_found("", "serviceaccounts", target.name)
        spec = (body or {}).get("spec") or {} if isinstance(body, Mapping) else {}
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            why = "may not specify a duration less than 10 minutes"
            raise st.invalid(
                "TokenRequest",
                "authentication.k8s.io",
                target.name,
                [("spec.expirationSeconds", "FieldValueInvalid", why)],
            )
        now = self.clock().astimezone(dt.UTC)
        expires = now + dt.timedelta(seconds=seconds)
        uid = str(meta(account).get("uid"))
        audiences = [str(a) for a in spec.get("audiences") or ["https://kubernetes.default.svc"]]
        claims: dict[str, Any] = {
            "aud": audiences,
            "exp": int(expires.timestamp()),
            "iat": int(now.timestamp()),
            "iss": "https://kubernetes.default.svc",
            "sub": f"system:serviceaccount:{target.namespace}:{target.name}",
            "kubernetes.io": {"namespace": target.namespace, "serviceaccount": {"name": target.name, "uid": uid}},
            "kubernetes.io/serviceaccount/namespace": target.namespace,
            "kubernetes.io/serviceaccount/service-account.name": target.name,
            "kubernetes.io/serviceaccount/service-account.uid": uid,
        }
        self.issued_tokens.append((target.namespace, target.name, tuple(audiences)))
        # Shaped like the API server's RS256 tokens, with a placeholder signature (nothing here can verify one).
        token = ".".join(_b64url(part) for part in ({"alg": "RS256", "typ": "JWT"}, claims, {"unsigned": True}))
        return {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": target.name, "namespace": target.namespace},
            "spec": {**spec, "expirationSeconds": seconds},
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }

    # -- delete and garbage collection --------------------------------------------------------------------
    def _delete_request(
        self, kind: Kind, key: Key, current: dict[str, Any], request: kmock.Request
    ) -> aiohttp.web.Response:
        options = request.data if isinstance(request.data, Mapping) else {}
        params = request.params
        orphan = options.get("orphanDependents") is True or params.get("orphanDependents") in _TRUE
        policy = (
            options.get("propagationPolicy")
            or params.get("propagationPolicy")
            or ("Orphan" if orphan else "Background")
        )
        if policy not in ("Background", "Foreground", "Orphan"):
            raise st.bad_request(f"propagationPolicy: Unsupported value: {policy!r}")
        cur, pre = meta(current), options.get("preconditions") or {}
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if pre.get(field) and pre[field] != cur.get(field):
                why = f"Precondition failed: {label} in precondition: {pre[field]}, "
                why += f"{label} in object meta: {cur.get(field)}"
                raise st.conflict(kind.group, kind.plural, key[2], why)
        final = self.delete_object(key, policy)
        if kind.custom or self._store.get(key) is not None:
            return _json(final)
        details = {"name": key[2], "group": kind.group, "kind": kind.plural, "uid": cur.get("uid")}
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})

    def delete_object(self, key: Key, policy: str = "Background") -> dict[str, Any]:
        """Delete as ``DELETE`` does: mark it while finalizers remain, else remove it and collect dependents."""
        current = self._store.get(key)
        if current is None:
            raise st.not_found(key[0].group or "", str(key[0].plural), key[2])
        cur = meta(current)
        if cur.get("deletionTimestamp"):
            return current
        if cur.get("finalizers"):
            marked = copy.deepcopy(current)
            marked["metadata"].update(deletionTimestamp=self._timestamp(), deletionGracePeriodSeconds=0)
            return self._store.put(key, marked, "MODIFIED")
        if key[0] == NAMESPACES:  # the namespace controller empties it first
            for resource in self._store.resources():
                for obj in list(self._store.items(resource, key[2])):
                    if self._store.get((resource, key[2], meta(obj)["name"])) is not None:
                        self.delete_object((resource, key[2], meta(obj)["name"]))
        return self._finish_delete(key, current, policy)

    def _finish_delete(self, key: Key, state: dict[str, Any], policy: str) -> dict[str, Any]:
        final = self._store.remove(key, state)
        uid = meta(final).get("uid")
        for dependent in self._store.dependents(str(uid)) if uid else []:
            self._collect(dependent, orphan_from=str(uid) if policy == "Orphan" else None)
        return final

    def _owner_alive(self, ref: Mapping[str, Any], key: Key) -> bool:
        found = self._store.by_uid(str(ref.get("uid")))
        if found is None:
            return False
        (_, namespace, name), _ = found
        return name == ref.get("name") and namespace in (None, key[1])

    def _collect(self, key: Key, *, orphan_from: str | None = None) -> None:
        """Garbage-collect one dependent: drop references to gone owners, delete it when none is left."""
        obj = self._store.get(key)
        if obj is None:
            return
        refs = meta(obj).get("ownerReferences") or []
        if orphan_from is not None:
            kept = [ref for ref in refs if ref.get("uid") != orphan_from]
        else:
            kept = [ref for ref in refs if self._owner_alive(ref, key)]
            if not kept:
                self.delete_object(key)
                return
        if len(kept) != len(refs):
            new = copy.deepcopy(obj)
            new["metadata"]["ownerReferences"] = kept
            if not kept:
                del new["metadata"]["ownerReferences"]
            self._store.put(key, new, "MODIFIED")

    def _schedule_gc(self, key: Key, obj: Mapping[str, Any]) -> None:
        refs = meta(obj).get("ownerReferences") or []
        if self.gc_dangling and not all(self._owner_alive(ref, key) for ref in refs):
            # The real GC acts after the write returns; so does this.
            asyncio.get_running_loop().call_soon(self._collect, key)

    # -- service proxy -----------------------------------------------------------------------------------
    async def _forward(self, kind: Kind, target: Target, request: kmock.Request, path: str) -> aiohttp.web.Response:
        assert target.name is not None and target.namespace is not None and request._raw_request is not None
        scheme, name, port = split_target(target.name)
        service = self._store.get(self._key(kind, target.namespace, name))
        if service is None:
            raise st.not_found("", "services", name)
        return await self._proxy.forward(
            target.namespace, service, scheme, port, path, request._raw_request, request.body
        )

    # -- the harness API (call these in the server's loop) -------------------------------------------------
    def kind(self, resource: str | kmock.resource) -> Kind:
        """The declared resource, e.g. ``kind("v1/secrets")``."""
        return Kind.of(self._resources, kmock.resource(resource))

    def get_object(self, resource: str | kmock.resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The live object (a deep copy), or None."""
        kind = self.kind(resource)
        obj = self._store.get(self._key(kind, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def live_objects(self, resource: str | kmock.resource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Live objects of a resource (deep copies), sorted by namespace and name."""
        kind = self.kind(resource)
        return [copy.deepcopy(obj) for obj in self._store.items(kind.resource, namespace)]

    def seed(self, resource: str | kmock.resource, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create an object without HTTP, with exactly the rules of ``POST`` (namespace from its metadata)."""
        kind = self.kind(resource)
        return copy.deepcopy(self.create_object(kind, (body.get("metadata") or {}).get("namespace"), body))

    def fail_next(
        self,
        method: str,
        resource_plural: str,
        status: int,
        count: int = 1,
        subresource: str | None = None,
        *,
        name: str | None = None,
        namespace: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with a Status of ``status`` and change nothing.

        ``method`` is an HTTP method, or ``LIST``/``WATCH`` for those GETs only. ``subresource=None``
        matches the main endpoint only (pass ``"status"`` for ``/status``).
        """
        self._faults.append(
            Fault(method.upper(), resource_plural, status, count, subresource, name, namespace, message)
        )

    def pending_faults(self) -> int:
        """How many injected failures have not fired yet."""
        return sum(fault.remaining for fault in self._faults)

    def expose_service(self, namespace: str, name: str, port_name: str, target_port: int, *, port: int = 8080) -> None:
        """Create (or update) Service ``namespace/name`` with one port and proxy it to ``127.0.0.1:target_port``."""
        entry: dict[str, Any] = {"protocol": "TCP", "port": port, "targetPort": port}
        if port_name:
            entry = {"name": port_name, **entry}
        key = (kmock.resource("", "v1", "services"), namespace, name)
        if self._store.get(key) is None:
            body: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace, "labels": {"name": name}}}
            body["spec"] = {"ports": [entry], "selector": {"name": name}, "type": "ClusterIP"}
            self.seed("v1/services", body)
        self._proxy.expose(namespace, name, port, target_port)

    def ensure_namespace(self, name: str) -> None:
        """Create the Namespace unless it exists."""
        if self._store.get((NAMESPACES, None, name)) is None:
            self.seed(NAMESPACES, {"metadata": {"name": name}})

    def compact(self) -> None:
        """Drop the watch history: a watch from any older resourceVersion then gets 410 Gone."""
        self._store.compact()

    def close_watches(self) -> None:
        """End every open watch stream."""
        self._store.close_watchers()

    @property
    def watch_count(self) -> int:
        """Open watch streams."""
        return self._store.watcher_count()

    @property
    def request_log(self) -> list[RequestRecord]:
        """The last ``log_size`` requests, oldest first."""
        return list(self._log)

    def clear_request_log(self) -> None:
        """Forget the requests logged so far."""
        self._log.clear()

    @property
    def internal_errors(self) -> list[str]:
        """Failures of the emulator itself (500 answers that are not API errors): should stay empty."""
        return [repr(error) for level in self._errors for error in level]
