"""Legacy cosign signatures: the ``sha256-<hex>.sig`` tag next to an image, one simple-signing layer per signer.

For every layer (verify.md §3.a): the media type must be simple-signing; the blob is fetched by the layer digest and
its sha256 and size re-checked; the ``dev.cosignproject.cosign/signature`` annotation must verify over the exact
blob bytes for some authority (:mod:`legacy_signer`); then the payload must be a cosign image signature whose
``docker-manifest-digest`` is the digest being admitted. Anything unknown rejects the layer. One
:class:`SignatureCheck` per layer; a missing tag or an empty manifest is one ``no-signature`` check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from gitsecure.crypto.sigstore_root import TrustedRoot
from gitsecure.errors import InputError
from gitsecure.verify.images.authority import Authority, SignatureCheck, TrustedRootBytes, public_good_trusted_root
from gitsecure.verify.images.legacy_signer import LayerMaterial, best_result, check_authority, trusted_root
from gitsecure.verify.images.reference import ImageRef
from gitsecure.verify.images.registry import RegistryClient, RegistryError
from gitsecure.verify.images.simplesigning import MEDIA_TYPE, PayloadRejected, parse_payload

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
MANIFEST_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)
MAX_LAYERS = 1000  # cosign's own limit on signatures per manifest
MAX_PAYLOAD = 1 << 20  # simple-signing payloads are a few hundred bytes


def signature_tag(digest: str) -> str:
    """The legacy signature tag of an image digest: ``sha256:<hex>`` -> ``sha256-<hex>.sig``."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}-{hexpart}.sig"


def verify_legacy(
    client: RegistryClient,
    ref: ImageRef,
    digest: str,
    authorities: Sequence[Authority],
    *,
    require_tlog: bool,
    trusted_root: TrustedRootBytes | None,
) -> list[SignatureCheck]:
    """Check every legacy signature of ``ref`` at ``digest`` against ``authorities``.

    ``trusted_root`` supplies the Rekor keys for key-based signatures (default: the public-good root); keyless
    authorities bring their own. Registry failures other than a missing tag propagate as ``RegistryError``.
    """
    if not authorities:
        raise InputError("no signing authority to verify against", reference="no-authority")
    found = client.get_manifest_or_none(ref, signature_tag(digest))
    if found is None:
        return [_reject("no-signature")]
    raw, _descriptor = found
    try:
        layers = _layers(raw)
    except (ValueError, TypeError, KeyError):
        return [_reject("malformed-signature-manifest")]
    if not layers:
        return [_reject("no-signature")]
    # Rekor keys are only needed for key-based authorities (keyless ones carry their own trusted root).
    needs_root = any(a.keys for a in authorities)
    tlog_root = _tlog_root(trusted_root) if needs_root else TrustedRoot(tlogs=(), ctlogs=(), cas=())
    return [
        _check_layer(
            client, ref, layer, digest=digest, authorities=authorities, require_tlog=require_tlog, tlog_root=tlog_root
        )
        for layer in layers
    ]


def _tlog_root(data: TrustedRootBytes | None) -> TrustedRoot:
    return trusted_root(bytes(data) if data is not None else bytes(public_good_trusted_root()))


def _layers(raw: bytes) -> list[dict[str, Any]]:
    doc = json.loads(raw)
    if doc.get("schemaVersion") != 2 or doc.get("mediaType", "application/vnd.oci.image.manifest.v1+json") not in (
        MANIFEST_MEDIA_TYPES
    ):
        raise ValueError("not an image manifest")
    layers = doc["layers"]
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS or not all(isinstance(x, dict) for x in layers):
        raise ValueError("bad layers")
    return layers


def _check_layer(
    client: RegistryClient,
    ref: ImageRef,
    layer: dict[str, Any],
    *,
    digest: str,
    authorities: Sequence[Authority],
    require_tlog: bool,
    tlog_root: TrustedRoot,
) -> SignatureCheck:
    annotations = layer.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        return _reject("malformed-signature-manifest")
    if layer.get("mediaType") != MEDIA_TYPE:
        return _reject("unknown-media-type")
    layer_digest, size = layer.get("digest"), layer.get("size")
    if not isinstance(layer_digest, str) or not layer_digest.startswith("sha256:") or not isinstance(size, int):
        return _reject("malformed-signature-manifest")
    if size > MAX_PAYLOAD:
        return _reject("payload-too-large")
    try:
        signature = base64.b64decode(annotations.get(SIGNATURE_ANNOTATION, ""), validate=True)
    except (binascii.Error, ValueError):
        return _reject("malformed-signature")
    if not signature:
        return _reject("malformed-signature")
    try:
        blob = client.get_blob(ref, layer_digest, max_size=MAX_PAYLOAD)
    except RegistryError as exc:
        if exc.reference == "blob-digest-mismatch":
            return _reject("blob-digest-mismatch")
        raise
    # Checked again here: the gate must not depend on a transport detail for the content binding.
    if "sha256:" + hashlib.sha256(blob).hexdigest() != layer_digest or len(blob) != size:
        return _reject("blob-digest-mismatch")
    cert = annotations.get(CERTIFICATE_ANNOTATION)
    material = LayerMaterial(
        payload=blob,
        signature=signature,
        certificate_pem=cert.encode() if cert else None,
        bundle_json=annotations.get(BUNDLE_ANNOTATION),
    )
    results = [
        r for a in authorities for r in check_authority(material, a, require_tlog=require_tlog, tlog_root=tlog_root)
    ]
    best = best_result(results)
    if not best.ok:
        return SignatureCheck(ok=False, reason=best.reason, signer=best.signer, source="legacy", tlog=best.tlog)
    try:
        claim = parse_payload(blob)
    except PayloadRejected as exc:
        return SignatureCheck(ok=False, reason=exc.reference, signer=best.signer, source="legacy", tlog=best.tlog)
    if claim.digest != digest:
        return SignatureCheck(
            ok=False,
            reason="digest-mismatch",
            signer=best.signer,
            source="legacy",
            tlog=best.tlog,
            annotations=claim.annotations,
        )
    return SignatureCheck(
        ok=True, reason="ok", signer=best.signer, source="legacy", tlog=best.tlog, annotations=claim.annotations
    )


def _reject(reason: str) -> SignatureCheck:
    return SignatureCheck(ok=False, reason=reason, signer="", source="legacy", tlog=False)
