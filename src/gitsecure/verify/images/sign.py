"""Write legacy cosign signatures (``cosign sign --key``, no transparency log) to the image's registry.

Layout as cosign v2 writes it (``pkg/oci/mutate`` on go-containerregistry's empty image): the payload blob, an
image config listing each payload as an uncompressed layer, and an OCI manifest at ``sha256-<hex>.sig`` whose layers
are the payloads with the ``dev.cosignproject.cosign/signature`` annotation. An existing signature manifest is
appended to (several signers), skipping an identical signature, as cosign's duplicate detector does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitsecure.crypto.cosign import CosignSigner
from gitsecure.errors import InputError
from gitsecure.verify.images.cosign_legacy import MAX_LAYERS, SIGNATURE_ANNOTATION, signature_tag
from gitsecure.verify.images.reference import ImageRef
from gitsecure.verify.images.registry import RegistryClient
from gitsecure.verify.images.simplesigning import MEDIA_TYPE, build_payload

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, which go-containerregistry writes for "created"


@dataclass(frozen=True)
class SignResult:
    """What was signed and where the signature went."""

    digest: str
    signature_tag: str
    manifest_digest: str
    appended: bool


def docker_reference(ref: ImageRef) -> str:
    """cosign's ``critical.identity.docker-reference``: the repository name without tag or digest."""
    return f"{ref.registry}/{ref.repository}"


def sign_image(
    client: RegistryClient, ref: ImageRef, signer: CosignSigner, *, annotations: Mapping[str, str] | None = None
) -> SignResult:
    """Resolve ``ref`` to its digest, sign it and push the signature next to it."""
    digest = client.resolve(ref).digest
    payload = build_payload(docker_reference(ref), digest, annotations)
    signature = base64.b64encode(signer.sign(payload)).decode()
    tag = signature_tag(digest)
    layers = _existing_layers(client, ref, tag)
    payload_digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    duplicate = any(
        layer.get("digest") == payload_digest
        and (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION) == signature
        for layer in layers
    )
    if not duplicate:
        if len(layers) >= MAX_LAYERS:
            raise InputError(f"{tag} already holds {len(layers)} signatures", reference="too-many-signatures")
        client.put_blob(ref, payload)
        layers.append(
            {
                "mediaType": MEDIA_TYPE,
                "size": len(payload),
                "digest": payload_digest,
                "annotations": {SIGNATURE_ANNOTATION: signature},
            }
        )
    config = _config(layers)
    client.put_blob(ref, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "size": len(config),
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
        },
        "layers": layers,
    }
    raw = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode()
    pushed = client.put_manifest(ref, tag, raw, OCI_MANIFEST)
    return SignResult(digest=digest, signature_tag=tag, manifest_digest=pushed.digest, appended=len(layers) > 1)


def _existing_layers(client: RegistryClient, ref: ImageRef, tag: str) -> list[dict[str, Any]]:
    found = client.get_manifest_or_none(ref, tag)
    if found is None:
        return []
    try:
        doc = json.loads(found[0])
        layers = doc["layers"]
        if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
            raise TypeError("layers")
    except (ValueError, KeyError, TypeError):
        raise InputError(
            f"the existing signature manifest {tag} is malformed; refusing to overwrite it",
            reference="malformed-signature-manifest",
        ) from None
    return layers


def _config(layers: list[dict[str, Any]]) -> bytes:
    # go-containerregistry's ConfigFile field order; payload layers are uncompressed, so diff_id == digest.
    config = {
        "architecture": "",
        "created": _ZERO_TIME,
        "history": [{"created": _ZERO_TIME} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        "config": {},
    }
    return json.dumps(config, separators=(",", ":")).encode()
