"""Kubernetes ObjectMeta as Go serializes it: known fields, in struct order."""

from __future__ import annotations

from typing import Any

from gitsecure.errors import InputError

# Field order of metav1.ObjectMeta; unknown fields are dropped, as Go's decoder does.
_FIELDS = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)
_OWNER_REFERENCE_FIELDS = ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion")
_MANAGED_FIELDS_FIELDS = ("manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource")

SERVER_SIDE_FIELDS = frozenset(
    {
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)

# Annotations that hold a copy of the whole applied object, plaintext Secret included.
LAST_APPLIED_ANNOTATIONS = frozenset(
    {"kubectl.kubernetes.io/last-applied-configuration", "kubecfg.ksonnet.io/last-applied-configuration"}
)


def _ordered(entry: object, fields: tuple[str, ...]) -> object:
    if not isinstance(entry, dict):
        return entry
    return {key: entry[key] for key in fields if key in entry and entry[key] is not None}


def normalize(meta: object, *, where: str) -> dict[str, Any]:
    """Validate ``meta`` and return it with Go's field order, empty fields omitted."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InputError(f"{where}.metadata must be a mapping", reference="bad-manifest")
    out: dict[str, Any] = {}
    for key in _FIELDS:
        value = meta.get(key)
        if value is None or value in ("", {}, []):
            continue
        if key in ("labels", "annotations"):
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise InputError(f"{where}.metadata.{key} must map strings to strings", reference="bad-manifest")
            value = dict(sorted(value.items()))
        elif key in ("name", "namespace", "generateName") and not isinstance(value, str):
            raise InputError(f"{where}.metadata.{key} must be a string", reference="bad-manifest")
        elif key == "ownerReferences" and isinstance(value, list):
            value = [_ordered(ref, _OWNER_REFERENCE_FIELDS) for ref in value]
        elif key == "managedFields" and isinstance(value, list):
            value = [_ordered(entry, _MANAGED_FIELDS_FIELDS) for entry in value]
        out[key] = value
    return out


def with_identity(meta: dict[str, Any], *, name: str, namespace: str | None) -> dict[str, Any]:
    """``meta`` with name and namespace forced, keeping Go's field order."""
    merged = dict(meta)
    merged["name"] = name
    if namespace:
        merged["namespace"] = namespace
    else:
        merged.pop("namespace", None)
    return normalize(merged, where="object")
