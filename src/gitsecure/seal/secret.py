"""Input Secrets: parsing and the kubeseal preparation rules (name, scope, namespace)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gitsecure.errors import InputError
from gitsecure.seal import objectmeta
from gitsecure.seal.manifest import Manifest, decode_base64, describe, string_map
from gitsecure.seal.scope import CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope, scope_from_annotations


@dataclass(frozen=True)
class Secret:
    """A ``v1/Secret`` as far as sealing cares: metadata, items, type, immutability.

    ``items`` holds ``data`` (decoded) then ``stringData`` (UTF-8), so a
    ``stringData`` entry wins over a ``data`` entry of the same key, as the
    API server does.
    """

    metadata: dict[str, Any]
    items: dict[str, bytes]
    type: str | None = None
    immutable: bool | None = None

    @property
    def name(self) -> str:
        """``metadata.name`` or the empty string."""
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        """``metadata.namespace`` or the empty string."""
        return str(self.metadata.get("namespace", ""))

    @property
    def annotations(self) -> dict[str, str]:
        """``metadata.annotations`` (a copy)."""
        return dict(self.metadata.get("annotations", {}))

    @property
    def scope(self) -> Scope:
        """The scope declared by the annotations."""
        return scope_from_annotations(self.metadata.get("annotations"))


def parse_secret(obj: Manifest, *, index: int) -> Secret | None:
    """Read one decoded document as a Secret; None for an empty document (kubeseal skips those)."""
    if not obj:
        return None
    where = f"document {index} ({describe(obj)})"
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind is not None and kind != "Secret":
        raise InputError(
            f"{where} is a {kind}, not a Secret",
            reference="not-a-secret",
            hint="gitsecure seal reads v1/Secret manifests, e.g. 'kubectl create secret ... --dry-run=client -o yaml'",
        )
    if api_version is not None and api_version != "v1":
        raise InputError(f"{where} has apiVersion {api_version}, expected v1", reference="not-a-secret")
    items = {
        key: decode_base64(value, what=f'data["{key}"] of {where}')
        for key, value in string_map(obj, "data", where=where).items()
    }
    items.update({key: value.encode() for key, value in string_map(obj, "stringData", where=where).items()})
    secret_type = obj.get("type")
    if secret_type is not None and not isinstance(secret_type, str):
        raise InputError(f"{where}.type must be a string", reference="bad-manifest")
    immutable = obj.get("immutable")
    if immutable is not None and not isinstance(immutable, bool):
        raise InputError(f"{where}.immutable must be true or false", reference="bad-manifest")
    metadata = objectmeta.normalize(obj.get("metadata"), where=where)
    return Secret(metadata, items, secret_type or None, immutable)


def prepare_for_sealing(
    secret: Secret,
    *,
    name: str | None,
    scope: Scope | None,
    namespace_flag: str | None,
    default_namespace: Callable[[], str],
    allow_empty_data: bool,
) -> Secret:
    """Apply kubeseal's per-Secret rules, in kubeseal's order.

    ``namespace_flag`` is ``-n`` when given explicitly; ``default_namespace``
    is called only when a namespace is needed and the Secret has none
    (kubeconfig context, else ``default``).
    """
    if not secret.items and not allow_empty_data:
        raise InputError(
            "secret.data is empty in input Secret, assuming this is an error and aborting",
            reference="empty-secret",
            hint="to seal a Secret without data, pass --allow-empty-data",
        )
    metadata = dict(secret.metadata)
    if name:
        metadata["name"] = name
    if not metadata.get("name"):
        raise InputError(
            "missing metadata.name in input Secret", reference="missing-name", hint="set it or pass --name"
        )
    if scope is not None and scope is not Scope.STRICT:
        annotations = {
            k: v
            for k, v in metadata.get("annotations", {}).items()
            if k not in (CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION)
        }
        annotations[str(scope.annotation)] = "true"
        metadata["annotations"] = dict(sorted(annotations.items()))
    effective_scope = scope_from_annotations(metadata.get("annotations"))
    if effective_scope is not Scope.CLUSTER_WIDE:
        current = metadata.get("namespace", "")
        if namespace_flag is not None and current and namespace_flag and current != namespace_flag:
            raise InputError(
                f'namespace mismatch: input secret is in namespace "{current}" but "{namespace_flag}" was specified',
                reference="namespace-mismatch",
            )
        if not current:
            metadata["namespace"] = namespace_flag if namespace_flag is not None else default_namespace()
        if not metadata.get("namespace"):
            raise InputError(
                "secret must declare a namespace",
                reference="missing-namespace",
                hint="set metadata.namespace, pass -n/--namespace, or use --scope cluster-wide",
            )
    for field in objectmeta.SERVER_SIDE_FIELDS:
        metadata.pop(field, None)
    return replace(secret, metadata=objectmeta.normalize(metadata, where="secret"))
