"""Shaping a written object the way the API server does before it stores it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tests.support.kube import apistatus as st
from tests.support.kube.kinds import Kind
from tests.support.kube.store import meta
from tests.support.kube.validation import Cause, check_metadata, normalize_secret, update_causes

SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def typed(kind: Kind, body: Any) -> dict[str, Any]:
    """A fresh copy of a request body with ``apiVersion``/``kind`` filled in from the URL (or a 400 on a mismatch)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("metadata", {}), Mapping):
        raise st.bad_request("the body of the request is not a Kubernetes object")
    obj = copy.deepcopy(dict(body))
    api_version, kind_name = obj.pop("apiVersion", None) or kind.api_version, obj.pop("kind", None) or kind.kind
    if api_version != kind.api_version:
        raise st.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({kind.api_version})"
        )
    if kind_name != kind.kind:
        raise st.bad_request(f"the kind in the data ({kind_name}) does not match the expected kind ({kind.kind})")
    return {"apiVersion": api_version, "kind": kind_name, "metadata": dict(obj.pop("metadata", None) or {}), **obj}


def kind_rules(kind: Kind, obj: dict[str, Any]) -> list[Cause]:
    """Per-kind normalisation and validation (Secrets: ``stringData``, ``type``, base64, size)."""
    return normalize_secret(obj) if (kind.group, kind.plural) == ("", "secrets") else []


def merge_server_fields(kind: Kind, current: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """An update candidate with the server-owned fields of ``current`` restored, validated, generation bumped.

    Server-owned: uid, creationTimestamp, deletion fields, generation, and ``status`` where the kind has a
    status subresource. ``generation`` grows when anything but metadata (and status) changed.
    """
    new, cur = candidate, meta(current)
    m = new["metadata"] = dict(meta(new))
    for field in SERVER_FIELDS:
        m.pop(field, None)
        if field in cur:
            m[field] = cur[field]
    if kind.status:
        new.pop("status", None)
        if "status" in current:
            new["status"] = current["status"]
    causes = check_metadata(m) + kind_rules(kind, new)
    causes += update_causes(kind.plural if not kind.group else "", current, new)
    if cur.get("deletionTimestamp") and set(m.get("finalizers") or []) - set(cur.get("finalizers") or []):
        causes.append(
            (
                "metadata.finalizers",
                "FieldValueForbidden",
                "Forbidden: no new finalizers can be added if the object is being deleted",
            )
        )
    if causes:
        raise st.invalid(kind.kind, kind.group, str(m.get("name")), causes)
    if kind.tracks_generation:
        skip = ("metadata", "status") if kind.status else ("metadata",)
        spec_new = {k: v for k, v in new.items() if k not in skip}
        spec_old = {k: v for k, v in current.items() if k not in skip}
        if spec_new != spec_old:
            m["generation"] = int(cur.get("generation") or 0) + 1
    return new
