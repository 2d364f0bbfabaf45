"""The target Secret an ExternalSecret wants (reference §3.3 step 7), computed as a whole new body.

The caller compares the result with the Secret as it is and writes only when they differ, so an unchanged
refresh costs no write and no Event. Ownership follows ``creationPolicy``: ``Owner`` sets a controller
ownerReference and the ``created-by`` label, the other policies remove ours. Keys this ExternalSecret
wrote into a Secret it merges into (``Merge``/``CreateOrMerge``) are listed in an annotation, so they can
be removed again when their source goes (ESO reads its field manager's managedFields for that; gitsecure
does not use server-side apply).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitsecure.controller.external.cluster import secret_data
from gitsecure.controller.external.hashing import object_hash_bytes_map, object_hash_str
from gitsecure.controller.external.model import (
    API_VERSION,
    CREATED_BY_LABEL,
    DATA_HASH_ANNOTATION,
    ES_KIND,
    MANAGED_LABEL,
    ExternalSecretSpec,
)
from gitsecure.errors import GitsecureError

MERGED_KEYS_ANNOTATION = "externalsecrets.gitsecure.dev/merged-keys"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MERGING = ("Merge", "CreateOrMerge")


class TargetError(GitsecureError):
    """The Secret cannot be written as asked; ``message`` is ESO's condition message."""

    reference = "external-secret-target"


@dataclass(frozen=True)
class Rendered:
    """The Secret content: data after templating, metadata to apply."""

    data: dict[str, bytes]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    type: str = ""
    finalizers: tuple[str, ...] = ()


def created_by(namespace: str, name: str) -> str:
    """The ``created-by`` label value of ``namespace/name``."""
    return object_hash_str(f"{namespace}/{name}")


def _controller(meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return ref
    return None


def controlled_by(secret: Mapping[str, Any] | None, uid: str) -> bool:
    """Whether ``secret``'s controller ownerReference is the object with ``uid``."""
    ref = _controller((secret or {}).get("metadata") or {})
    return ref is not None and bool(uid) and ref.get("uid") == uid


def data_hash(secret: Mapping[str, Any] | None) -> str:
    """The hash of a Secret's current data, as the ``data-hash`` annotation holds it when untouched."""
    return object_hash_bytes_map(secret_data(secret))


def desired_secret(
    es: Mapping[str, Any], spec: ExternalSecretSpec, rendered: Rendered, existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The Secret ``es`` wants, built on a copy of ``existing``; raises :class:`TargetError`."""
    meta = es.get("metadata") or {}
    namespace, name, uid = str(meta.get("namespace") or ""), str(meta.get("name") or ""), str(meta.get("uid") or "")
    policy = spec.target.creation_policy or "Owner"
    body: dict[str, Any] = copy.deepcopy(dict(existing)) if existing else {"apiVersion": "v1", "kind": "Secret"}
    body.pop("stringData", None)
    smeta: dict[str, Any] = body.setdefault("metadata", {})
    smeta.setdefault("name", spec.target.name or name)
    smeta.setdefault("namespace", namespace)
    owner = _controller(smeta)
    if owner is not None and owner.get("uid") != uid:
        if owner.get("kind") == ES_KIND and str(owner.get("apiVersion", "")).startswith("external-secrets.io/"):
            raise TargetError("target is owned by another ExternalSecret")
        if policy == "Owner":
            raise TargetError("failed to take ownership of target secret")

    data: dict[str, bytes] = {}
    annotations = dict(smeta.get("annotations") or {})
    if policy in MERGING and existing:
        previous = set(filter(None, annotations.get(MERGED_KEYS_ANNOTATION, "").split(",")))
        data = {k: v for k, v in secret_data(existing).items() if k not in previous}
    data.update(rendered.data)
    if policy in MERGING:
        annotations[MERGED_KEYS_ANNOTATION] = ",".join(sorted(rendered.data))
    annotations.update(rendered.annotations)
    annotations[DATA_HASH_ANNOTATION] = object_hash_bytes_map(data)
    labels = dict(smeta.get("labels") or {})
    labels.update(rendered.labels)
    labels[MANAGED_LABEL] = "true"

    refs = [r for r in smeta.get("ownerReferences") or [] if not (isinstance(r, Mapping) and r.get("uid") == uid)]
    mine = created_by(namespace, name)
    if policy == "Owner":
        labels[CREATED_BY_LABEL] = mine
        refs.append(
            {"apiVersion": API_VERSION, "kind": ES_KIND, "name": name, "uid": uid,
             "controller": True, "blockOwnerDeletion": True}
        )  # fmt: skip
    elif labels.get(CREATED_BY_LABEL) == mine:
        del labels[CREATED_BY_LABEL]
    if refs:
        smeta["ownerReferences"] = refs
    else:
        smeta.pop("ownerReferences", None)
    smeta["labels"] = labels
    smeta["annotations"] = annotations
    if rendered.finalizers:
        smeta["finalizers"] = list(dict.fromkeys([*(smeta.get("finalizers") or []), *rendered.finalizers]))
    body["type"] = rendered.type or body.get("type") or "Opaque"
    body["data"] = {key: base64.b64encode(value).decode() for key, value in sorted(data.items())}
    if spec.target.immutable:
        body["immutable"] = True
    if existing and existing.get("immutable") and secret_data(existing) != data:
        raise TargetError("could not update secret, target is immutable")
    return body


def comparable(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` minus server-managed metadata, for an "is a write needed" comparison."""
    compared = copy.deepcopy(dict(body))
    meta = compared.get("metadata") or {}
    for key in ("resourceVersion", "managedFields", "generation", "creationTimestamp", "uid", "selfLink"):
        meta.pop(key, None)
    if not compared.get("data"):
        compared.pop("data", None)
    return compared


def plain_metadata(es: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The ExternalSecret's labels and annotations as copied onto a Secret without a template."""
    meta = es.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    return labels, annotations
