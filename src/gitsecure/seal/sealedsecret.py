"""The SealedSecret resource: building one from a Secret, reading one, opening one.

Shapes follow sealed-secrets' Go types so that output matches kubeseal's
field for field: top-level metadata carries only name, namespace and the scope
annotation; ``spec.template.metadata`` carries the Secret's metadata.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import PrivateKey, PublicKey
from gitsecure.errors import InputError
from gitsecure.seal import objectmeta
from gitsecure.seal.manifest import Manifest, mapping_field, string_map
from gitsecure.seal.scope import Scope, label_for, scope_from_annotations
from gitsecure.seal.secret import Secret

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"
SKIP_OWNER_REFERENCES_ANNOTATION = "sealedsecrets.bitnami.com/skip-set-owner-references"


def seal_items(public_key: PublicKey, items: dict[str, bytes], *, label: bytes) -> dict[str, str]:
    """Encrypt every item; base64 values sorted by key, as kubeseal prints them."""
    return {key: base64.b64encode(hybrid.seal(public_key, items[key], label=label)).decode() for key in sorted(items)}


def build(secret: Secret, public_key: PublicKey) -> Manifest:
    """A SealedSecret for a prepared Secret (see :func:`secret.prepare_for_sealing`)."""
    scope = secret.scope
    if scope is not Scope.CLUSTER_WIDE and not secret.namespace:
        raise InputError("secret must declare a namespace", reference="missing-namespace")
    label = label_for(scope, namespace=secret.namespace, name=secret.name)
    top: dict[str, Any] = {"name": secret.name}
    if secret.namespace:
        top["namespace"] = secret.namespace
    if scope.annotation is not None:
        top["annotations"] = {scope.annotation: "true"}
    template_meta = copy.deepcopy(secret.metadata)
    template_meta.pop("ownerReferences", None)
    annotations = {
        k: v for k, v in template_meta.get("annotations", {}).items() if k not in objectmeta.LAST_APPLIED_ANNOTATIONS
    }
    if annotations:
        template_meta["annotations"] = annotations
    else:
        template_meta.pop("annotations", None)
    template: dict[str, Any] = {"metadata": objectmeta.normalize(template_meta, where="template")}
    if secret.type:
        template["type"] = secret.type
    if secret.immutable is not None:
        template["immutable"] = secret.immutable
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": top,
        "spec": {"template": template, "encryptedData": seal_items(public_key, secret.items, label=label)},
    }


def parse(obj: Manifest, *, where: str = "input") -> Manifest:
    """Check that ``obj`` is a SealedSecret; return a copy with metadata, spec and its maps filled in."""
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") != KIND:
        found = f"{obj.get('apiVersion') or '<no apiVersion>'} {obj.get('kind') or '<no kind>'}"
        raise InputError(
            f"{where} is not a SealedSecret (found {found}); expected apiVersion {API_VERSION}, kind {KIND}",
            reference="not-a-sealed-secret",
        )
    metadata = mapping_field(obj, "metadata", where=where)
    objectmeta.normalize(metadata, where=where)  # validates name, namespace, labels and annotations
    if not metadata.get("name"):
        raise InputError(f"{where} has no metadata.name", reference="missing-name")
    spec = mapping_field(obj, "spec", where=where)
    encrypted = string_map(spec, "encryptedData", where=f"{where}.spec")
    template = mapping_field(spec, "template", where=f"{where}.spec")
    objectmeta.normalize(template.get("metadata"), where=f"{where}.spec.template")
    string_map(template, "data", where=f"{where}.spec.template")
    # A copy whose containers are all present, so readers need no None checks.
    return {
        **obj,
        "metadata": metadata,
        "spec": {**spec, "encryptedData": encrypted, "template": template},
    }


def label_of(obj: Manifest) -> bytes:
    """The OAEP label of a SealedSecret, from its own top-level metadata (never the template's)."""
    meta = obj.get("metadata") or {}
    scope = scope_from_annotations(meta.get("annotations"))
    return label_for(scope, namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or ""))


Opener = Callable[[bytes, bytes], bytes]
"""``opener(ciphertext, label) -> plaintext`` or :class:`hybrid.DecryptionError`: which keys, in which order.

:func:`keys_opener` tries a fixed list; the controller tries the likeliest key first.
"""


class UnsealError(InputError):
    """Items of a SealedSecret could not be opened or rendered; names the items, never a value."""

    reference = "unseal-failed"

    def __init__(self, message: str, *, no_key: bool) -> None:
        super().__init__(message)
        # True when a value opened with none of the keys tried: wrong key, wrong label, or corruption.
        self.no_key = no_key


def keys_opener(private_keys: Sequence[PrivateKey]) -> Opener:
    """An :data:`Opener` that tries ``private_keys`` in the order given."""

    def open_value(ciphertext: bytes, label: bytes) -> bytes:
        return hybrid.unseal(private_keys, ciphertext, label=label)

    return open_value


def _group_item_errors(errors: dict[str, str]) -> str:
    # Same message for several items -> one line listing them, like upstream's
    # "no key could decrypt secret (foo, bar)"; different messages joined with "; ".
    grouped: dict[str, list[str]] = {}
    for key in sorted(errors):
        grouped.setdefault(errors[key], []).append(key)
    return "; ".join(f"{message} ({', '.join(keys)})" for message, keys in grouped.items())


def _decrypt_items(obj: Manifest, opener: Opener) -> tuple[dict[str, bytes], dict[str, str], bool]:
    label = label_of(obj)
    data: dict[str, bytes] = {}
    errors: dict[str, str] = {}
    no_key = False
    for key, value in obj["spec"].get("encryptedData", {}).items():
        try:
            ciphertext = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            errors[key] = "illegal base64 data"
            continue
        try:
            data[key] = opener(ciphertext, label)
        except hybrid.DecryptionError as exc:
            errors[key], no_key = exc.message, True
    return data, errors, no_key


def _legacy_items(obj: Manifest, opener: Opener) -> dict[str, bytes]:
    # Pre-0.7 SealedSecrets: one sealed blob holding a whole v1/Secret as JSON.
    try:
        blob = opener(base64.b64decode(obj["spec"]["data"], validate=True), label_of(obj))
        inner = json.loads(blob)
        return {k: base64.b64decode(v) for k, v in (inner.get("data") or {}).items()}
    except (hybrid.DecryptionError, binascii.Error, ValueError, TypeError, AttributeError, RecursionError):
        # Anyone with the public certificate can seal a blob, so a hostile one fails like a wrong key.
        raise hybrid.DecryptionError() from None


def unseal(obj: Manifest, private_keys: Sequence[PrivateKey], *, accept_deprecated_v1_data: bool = False) -> Manifest:
    """The ``v1/Secret`` a controller would create from ``obj``; all or nothing.

    Raises :class:`InputError` (an :class:`UnsealError` when items fail)
    naming the items that failed; never returns a partial Secret.
    """
    return unseal_with(obj, keys_opener(private_keys), accept_deprecated_v1_data=accept_deprecated_v1_data)


def unseal_with(obj: Manifest, opener: Opener, *, accept_deprecated_v1_data: bool = False) -> Manifest:
    """:func:`unseal` with the values opened by ``opener``: the one code path for the CLI and the controller."""
    obj = parse(obj)
    spec = obj["spec"]
    if spec.get("data"):
        if spec.get("encryptedData"):
            raise InputError(
                "cannot use the field 'encryptedData' and the deprecated field 'data' at the same time",
                reference="bad-manifest",
            )
        if not accept_deprecated_v1_data:
            raise InputError(
                "using deprecated 'data' field, use 'encryptedData' or flip the feature flag",
                reference="deprecated-data",
            )
        try:
            data, errors, no_key = _legacy_items(obj, opener), dict[str, str](), False
        except hybrid.DecryptionError as exc:
            raise UnsealError(exc.message, no_key=True) from None
    else:
        data, errors, no_key = _decrypt_items(obj, opener)
    template = spec.get("template") or {}
    templates = template.get("data") or {}
    if templates and not errors:
        from gitsecure.seal import gotemplate  # noqa: PLC0415 - only SealedSecrets with templates pay for it

        values = {k: v.decode("utf-8", "surrogateescape") for k, v in data.items()}
        for key in sorted(templates):
            try:
                rendered = gotemplate.render(str(templates[key]), values, name=key)
            except gotemplate.TemplateError as exc:
                errors[key] = exc.message
                continue
            data[key] = rendered.encode("utf-8", "surrogateescape")
    if errors:
        raise UnsealError(_group_item_errors(errors), no_key=no_key)
    return _secret_manifest(obj, template, data)


def _secret_manifest(obj: Manifest, template: dict[str, Any], data: dict[str, bytes]) -> Manifest:
    meta = obj["metadata"]
    secret_meta = objectmeta.with_identity(
        objectmeta.normalize(copy.deepcopy(template.get("metadata")), where="template"),
        name=str(meta["name"]),
        namespace=str(meta.get("namespace") or ""),
    )
    annotations = secret_meta.get("annotations", {})
    if annotations.get(SKIP_OWNER_REFERENCES_ANNOTATION) != "true":
        secret_meta["ownerReferences"] = [
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": str(meta["name"]),
                "uid": str(meta.get("uid") or ""),
                "controller": True,
            }
        ]
        secret_meta = objectmeta.normalize(secret_meta, where="secret")
    secret: dict[str, Any] = {"kind": "Secret", "apiVersion": "v1", "metadata": secret_meta}
    if template.get("immutable") is not None:
        secret["immutable"] = bool(template["immutable"])
    if data:
        secret["data"] = {k: base64.b64encode(data[k]).decode() for k in sorted(data)}
    if template.get("type"):
        secret["type"] = template["type"]
    return secret


def reseal(obj: Manifest, private_keys: Sequence[PrivateKey], public_key: PublicKey) -> Manifest:
    """Re-encrypt a SealedSecret for ``public_key``: what the controller's ``/v1/rotate`` does.

    As upstream (v0.36+): the top-level metadata replaces the template's, so the
    scope cannot drift; the unsealed Secret is then sealed exactly as kubeseal
    seals it, so rendered templates become ordinary items and the owner
    reference is dropped. Raises :class:`InputError` when it cannot be opened.
    """
    obj = copy.deepcopy(parse(obj))
    obj["spec"]["template"]["metadata"] = copy.deepcopy(obj["metadata"])
    opened = unseal(obj, private_keys)
    data = {k: base64.b64decode(v) for k, v in (opened.get("data") or {}).items()}
    metadata = {
        k: v for k, v in opened["metadata"].items() if k not in ("ownerReferences", *objectmeta.SERVER_SIDE_FIELDS)
    }
    secret = Secret(objectmeta.normalize(metadata, where="secret"), data, opened.get("type"), opened.get("immutable"))
    return build(secret, public_key)


def canonical(obj: Manifest) -> Manifest:
    """``obj`` with Go's field order and sorted maps, as kubeseal would print it after decoding."""
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    out_template: dict[str, Any] = {"metadata": objectmeta.normalize(template.get("metadata"), where="template")}
    for field in ("type", "immutable"):
        if template.get(field) is not None:
            out_template[field] = template[field]
    if template.get("data"):
        out_template["data"] = dict(sorted(template["data"].items()))
    out_spec: dict[str, Any] = {"template": out_template}
    if spec.get("data"):
        out_spec["data"] = spec["data"]
    out_spec["encryptedData"] = dict(sorted((spec.get("encryptedData") or {}).items()))
    out: dict[str, Any] = {
        "kind": obj.get("kind", KIND),
        "apiVersion": obj.get("apiVersion", API_VERSION),
        "metadata": objectmeta.normalize(obj.get("metadata"), where="SealedSecret"),
        "spec": out_spec,
    }
    if obj.get("status"):
        out["status"] = obj["status"]
    return out


def merge(target: Manifest, sealed: Manifest) -> Manifest:
    """``target`` with the items, template labels and annotations of ``sealed`` merged in."""
    merged = copy.deepcopy(parse(target, where="merge target"))
    spec = merged["spec"]
    spec["encryptedData"] = dict(sorted({**spec["encryptedData"], **sealed["spec"]["encryptedData"]}.items()))
    new_meta = sealed["spec"]["template"]["metadata"]
    template = spec["template"]
    meta = objectmeta.normalize(template.get("metadata"), where="merge target template")
    template["metadata"] = meta
    for field in ("labels", "annotations"):
        if new_meta.get(field):
            combined = dict(meta.get(field) or {})
            combined.update(new_meta[field])
            meta[field] = dict(sorted(combined.items()))
    return canonical(merged)
