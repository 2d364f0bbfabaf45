"""List responses: the ``<Kind>List`` envelope, ``limit``/``continue`` pagination, item shape."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from tests.support.kube.apistatus import ApiError, bad_request
from tests.support.kube.kinds import Kind
from tests.support.kube.store import ObjectStore, meta


def _position(obj: Mapping[str, Any]) -> list[str]:
    m = meta(obj)
    return [m.get("namespace") or "", str(m.get("name"))]


def _int(text: str | None, name: str) -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise bad_request(f"invalid {name} {text!r}") from None


def list_body(kind: Kind, items: list[dict[str, Any]], params: Mapping[str, str], store: ObjectStore) -> dict[str, Any]:
    """The list answer for ``items`` (already selected and in key order).

    A ``continue`` token resumes after the last key of the previous page; unlike etcd, later pages
    show the current state rather than a snapshot at the first page's resourceVersion.
    Built-in kinds' items carry no ``apiVersion``/``kind``, custom resources' items do.
    """
    metadata: dict[str, Any] = {"resourceVersion": str(store.rv)}
    token = params.get("continue")
    if token:
        try:
            list_rv, after = json.loads(base64.urlsafe_b64decode(token.encode()))
        except (ValueError, TypeError, binascii.Error):
            raise bad_request("continue key is not valid") from None
        if int(list_rv) < store.compacted:
            raise ApiError(
                410,
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter.",
                reason="Expired",
            )
        items = [obj for obj in items if _position(obj) > list(after)]
        metadata["resourceVersion"] = str(list_rv)
    limit = _int(params.get("limit"), "limit")
    if limit > 0 and len(items) > limit:
        last = _position(items[limit - 1])
        metadata["continue"] = base64.urlsafe_b64encode(
            json.dumps([int(metadata["resourceVersion"]), last]).encode()
        ).decode()
        metadata["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    if not kind.custom:
        items = [{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} for obj in items]
    return {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": metadata, "items": items}
