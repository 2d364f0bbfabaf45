"""What ``/v1/verify`` and ``/v1/rotate`` do with a request body, without HTTP (reference section 5).

Decoding follows the controller's ``runtime.Decode`` with the SealedSecret
scheme: exactly one document, ``apiVersion: bitnami.com/v1alpha1`` and
``kind: SealedSecret``, and fields of the right types; anything else is a
decode error (the endpoints answer 500). A body that decodes but cannot be
opened is an unseal failure (``/v1/verify`` answers 409).

Nothing here logs or returns a secret value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.controller.unseal import build_secret
from gitsecure.crypto.keys import PrivateKey, PublicKey
from gitsecure.errors import GitsecureError, InputError
from gitsecure.seal import objectmeta, sealedsecret
from gitsecure.seal.manifest import Manifest, decode_text, load_objects

log = logging.getLogger("gitsecure.controller.http")

MULTISTREAM_MESSAGE = (
    "Multistream YAML not supported yet (see https://github.com/bitnami-labs/sealed-secrets/issues/114)"
)

# Go's encoding/json escapes these inside strings (HTML safety and JavaScript line terminators).
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def decode_sealed_secret(body: bytes) -> Manifest | None:
    """One SealedSecret from a request body (JSON or YAML), or None for a decode error (logged, input unquoted)."""
    try:
        objects = load_objects(decode_text(body))
    except InputError as exc:
        # Manifest errors never quote the input (it may hold secret values).
        log.warning("cannot decode the request body: %s", exc.message)
        return None
    if len(objects) != 1:
        log.warning("cannot decode the request body: %s", MULTISTREAM_MESSAGE if objects else "no object")
        return None
    obj = objects[0]
    if obj.get("apiVersion") != sealedsecret.API_VERSION or obj.get("kind") != sealedsecret.KIND:
        log.warning("cannot decode the request body: not a %s %s", sealedsecret.API_VERSION, sealedsecret.KIND)
        return None
    try:
        sealedsecret.parse(obj, where="request body")
    except InputError as exc:
        # Fields of the wrong type fail Go's decoder; a missing name does not (it fails to unseal instead).
        if exc.reference == "bad-manifest":
            log.warning("cannot decode the request body: %s", exc.message)
            return None
    return obj


def _describe(obj: Manifest) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "<unnamed>"
    return f"{meta.get('namespace') or ''}/{meta.get('name') or '<unnamed>'}"


def verify_manifest(obj: Manifest, registry: KeyRegistry, *, accept_deprecated_v1_data: bool) -> bool:
    """Whether ``obj`` opens with the keys held (every item, templates rendered): ``/v1/verify``.

    The same unseal as the reconcile loop's, most likely key first.
    """
    try:
        build_secret(obj, registry, accept_deprecated_v1_data=accept_deprecated_v1_data)
    except GitsecureError as exc:
        log.info("verify: %s cannot be unsealed (%s)", _describe(obj), exc.reference)
        return False
    return True


def rotate_manifest(
    obj: Manifest,
    private_keys: Sequence[PrivateKey],
    public_key: PublicKey,
) -> Manifest:
    """``obj`` re-sealed for ``public_key``, without kind/apiVersion, as ``/v1/rotate`` answers it.

    Raises :class:`GitsecureError` when it cannot be opened or re-sealed. The
    deprecated single-blob ``spec.data`` format cannot be re-sealed here
    (:func:`sealedsecret.reseal` refuses it).
    """
    parsed = sealedsecret.parse(obj, where="request body")
    top = objectmeta.normalize(parsed["metadata"], where="request body")
    template_meta = objectmeta.normalize(parsed["spec"]["template"].get("metadata"), where="request body template")
    if top != template_meta:
        # Upstream (v0.36+) makes the top-level metadata win so that the scope cannot drift; it says so.
        log.warning("rotate: %s: the top-level metadata replaces spec.template.metadata", _describe(obj))
    resealed = sealedsecret.reseal(obj, private_keys, public_key)
    return {k: v for k, v in resealed.items() if k not in ("kind", "apiVersion")}


def go_json(obj: Any) -> bytes:
    """Compact JSON as Go's ``encoding/json`` writes it: UTF-8, ``<``, ``>``, ``&`` escaped, no newline."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _GO_ESCAPES.items():
        text = text.replace(char, escaped)
    return text.encode("utf-8")
