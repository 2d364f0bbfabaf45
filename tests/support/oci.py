"""Push small random images, indexes and tags to a test registry through the OCI distribution API.

Built on :class:`RegistryClient` (real HTTP), so pushing also exercises the client's write path. Every image has a
random layer, hence its own digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Literal

from gitsecure.verify.images.reference import ImageRef, parse_image_ref
from gitsecure.verify.images.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
)

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


@dataclass(frozen=True)
class Pushed:
    """What was pushed: ``ref`` (tag reference), its manifest ``digest``, the manifest bytes and media type."""

    ref: ImageRef
    digest: str
    manifest: bytes
    media_type: str

    @property
    def pinned(self) -> str:
        """``host/repo@sha256:...``."""
        return f"{self.ref.name}@{self.digest}"


def sha256(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _ref(ref: ImageRef | str) -> ImageRef:
    return parse_image_ref(ref) if isinstance(ref, str) else ref


def push_image(
    client: RegistryClient,
    ref: ImageRef | str,
    *,
    flavour: Literal["oci", "docker"] = "oci",
    arch: str = "amd64",
    tag: str | None = None,
) -> Pushed:
    """Push config + one random layer + manifest; tag it with ``tag`` or the reference's tag (None = digest only)."""
    image = _ref(ref)
    layer = os.urandom(128)
    config = json.dumps(
        {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}},
        sort_keys=True,
    ).encode()
    client.put_blob(image, layer)
    client.put_blob(image, config)
    oci = flavour == "oci"
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                "size": len(config),
                "digest": sha256(config),
            },
            "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER, "size": len(layer), "digest": sha256(layer)}],
        }
    ).encode()
    return _put(client, image, manifest, media_type, tag if tag is not None else image.tag)


def push_index(
    client: RegistryClient,
    ref: ImageRef | str,
    children: list[Pushed],
    *,
    flavour: Literal["oci", "docker"] = "oci",
    tag: str | None = None,
) -> Pushed:
    """Push a multi-arch index (or docker manifest list) over already pushed images of the same repository."""
    image = _ref(ref)
    media_type = OCI_INDEX if flavour == "oci" else DOCKER_LIST
    entries = []
    for number, child in enumerate(children):
        arch = ("amd64", "arm64", "s390x", "ppc64le")[number % 4]
        entries.append(
            {
                "mediaType": child.media_type,
                "size": len(child.manifest),
                "digest": child.digest,
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    manifest = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}).encode()
    return _put(client, image, manifest, media_type, tag if tag is not None else image.tag)


def move_tag(client: RegistryClient, ref: ImageRef | str, tag: str, digest: str) -> None:
    """Point ``tag`` at the manifest ``digest`` (already in the repository)."""
    image = _ref(ref)
    raw, descriptor = client.get_manifest(image, digest)
    client.put_manifest(image, tag, raw, descriptor.media_type)


def _put(client: RegistryClient, image: ImageRef, manifest: bytes, media_type: str, tag: str | None) -> Pushed:
    descriptor = client.put_manifest(image, tag or sha256(manifest), manifest, media_type)
    assert descriptor.digest == sha256(manifest)
    pushed_ref = ImageRef(image.registry, image.repository, tag, None)
    return Pushed(ref=pushed_ref, digest=descriptor.digest, manifest=manifest, media_type=media_type)
