"""What to do with the Secret of a SealedSecret: create, update, leave alone, or refuse.

Pure logic for steps 4-7 of the sealed-secrets controller's pass (reference
§4.2): given the Secret built from the SealedSecret and the Secret in the
cluster (or None), :func:`decide` returns the write to make. It reproduces
upstream's ``updateSecret``:

* ownership: the existing Secret must be *controlled by* the SealedSecret
  (its controller ownerReference carries the SealedSecret's uid), or carry
  ``sealedsecrets.bitnami.com/managed: "true"`` or ``.../patch: "true"``;
* patch mode (existing ``patch: "true"``): data items, labels and annotations
  are merged, the built values winning; ownerReferences are replaced only when
  the merged annotations say ``managed: "true"``;
* replace mode: data, labels, annotations and ownerReferences are replaced;
* in both modes ``type`` comes from the template; ``immutable``, finalizers and
  every other field of the existing Secret are kept as they are;
* no write when the result is semantically equal to the existing Secret.

**skip-set-owner-references without managed** behaves as upstream: the Secret
is created without an ownerReference, and the ownership check, which upstream
runs on the Secret it has just created, then finds it unmanaged. Call
:func:`decide` again with the created object to get that verdict (the README
of sealed-secrets tells users to add ``managed: "true"`` alongside).

Type: upstream sends the template's type verbatim and the API server turns an
empty one into ``Opaque``; here the body says ``Opaque`` directly, so an
untyped template does not cause a pointless write on every pass.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

MANAGED_ANNOTATION = "sealedsecrets.bitnami.com/managed"
PATCH_ANNOTATION = "sealedsecrets.bitnami.com/patch"
DEFAULT_TYPE = "Opaque"

DecisionKind = Literal["create", "update", "noop", "unmanaged", "immutable"]


@dataclass(frozen=True)
class Decision:
    """The write to make: ``body`` is the Secret to POST (create) or PUT (update), else None."""

    kind: DecisionKind
    body: dict[str, Any] | None
    message: str


def decide(built: Mapping[str, Any], existing: Mapping[str, Any] | None, *, owner_uid: str) -> Decision:
    """Compare the ``built`` Secret with the ``existing`` one; see the module docstring for the rules."""
    if existing is None:
        return Decision("create", copy.deepcopy(dict(built)), "the Secret does not exist")
    meta = existing.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    name = str(meta.get("name") or (built.get("metadata") or {}).get("name") or "")
    if not (
        _controlled_by(meta, owner_uid)
        or annotations.get(MANAGED_ANNOTATION) == "true"
        or annotations.get(PATCH_ANNOTATION) == "true"
    ):
        # Go's %q of a Kubernetes name (plain ASCII) is a JSON string.
        message = f"Resource {json.dumps(name)} already exists and is not managed by SealedSecret"
        return Decision("unmanaged", None, message)
    desired = _desired(built, existing)
    if _semantically_equal(existing, desired):
        return Decision("noop", None, "the Secret is up to date")
    if existing.get("immutable") is True and _data(existing) != _data(desired):
        return Decision("immutable", None, immutable_message(str(meta.get("namespace") or ""), name))
    return Decision("update", desired, "the Secret differs from the SealedSecret")


def immutable_message(namespace: str, name: str) -> str:
    """Upstream's fixed text for a change to an immutable Secret."""
    return (
        f"Error updating {namespace}/{name}: the target Secret is immutable. Once a Secret is marked as immutable, "
        "it is not possible to revert this change nor to mutate the contents of the data field. "
        "You can only delete and recreate the Secret."
    )


def _controlled_by(meta: Mapping[str, Any], owner_uid: str) -> bool:
    # metav1.IsControlledBy: the first ownerReference with controller=true decides.
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return str(ref.get("uid") or "") == owner_uid
    return False


def _desired(built: Mapping[str, Any], existing: Mapping[str, Any]) -> dict[str, Any]:
    desired = copy.deepcopy(dict(existing))
    meta: dict[str, Any] = desired.setdefault("metadata", {})
    new_meta = built.get("metadata") or {}
    if (meta.get("annotations") or {}).get(PATCH_ANNOTATION) == "true":
        _put(desired, "data", {**(desired.get("data") or {}), **(built.get("data") or {})})
        for field in ("labels", "annotations"):
            _put(meta, field, {**(meta.get(field) or {}), **(new_meta.get(field) or {})})
        # Upstream reads `managed` from the merged annotations, so a template can ask for it.
        if (meta.get("annotations") or {}).get(MANAGED_ANNOTATION) == "true":
            _put(meta, "ownerReferences", copy.deepcopy(new_meta.get("ownerReferences")))
    else:
        _put(desired, "data", copy.deepcopy(built.get("data")))
        for field in ("labels", "annotations", "ownerReferences"):
            _put(meta, field, copy.deepcopy(new_meta.get(field)))
    desired["type"] = built.get("type") or DEFAULT_TYPE
    return desired


def _put(target: dict[str, Any], key: str, value: object) -> None:
    # Go's nil and empty maps serialize alike (omitempty); keep absent fields absent.
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def _semantically_equal(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    # Only these fields can differ: `desired` is a copy of `existing` with them replaced.
    old_meta, new_meta = existing.get("metadata") or {}, desired.get("metadata") or {}
    return (
        _data(existing) == _data(desired)
        and (existing.get("type") or DEFAULT_TYPE) == desired["type"]
        and all((old_meta.get(f) or {}) == (new_meta.get(f) or {}) for f in ("labels", "annotations"))
        and _owner_refs(old_meta) == _owner_refs(new_meta)
    )


def _data(secret: Mapping[str, Any]) -> dict[str, bytes | str]:
    # Compare bytes, not base64 text: an API server may encode the same bytes differently.
    out: dict[str, bytes | str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            out[key] = str(value)
    return out


def _owner_refs(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    refs = meta.get("ownerReferences") or []
    return [{k: v for k, v in ref.items() if v is not None} for ref in refs if isinstance(ref, Mapping)]
