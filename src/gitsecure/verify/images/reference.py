"""Image references, normalised as docker and cosign normalise them.

``nginx`` is ``index.docker.io/library/nginx:latest``; ``localhost:5000/a/b@sha256:...`` keeps its registry and
digest. A reference carries a tag, a digest or both; verification always happens on the digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gitsecure.errors import InputError

DOCKER_HUB = "index.docker.io"
# The host docker's CLI actually talks to for Docker Hub.
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_NAME = 255


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: registry host, repository path, optional tag and digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, what image rules match on."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """The host to send distribution API requests to."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def with_digest(self, digest: str) -> ImageRef:
        """The same image pinned to ``digest`` (the tag is kept for display)."""
        if not _DIGEST.fullmatch(digest):
            raise InputError(f"not a sha256 digest: {digest!r}", reference="invalid-image-reference")
        return replace(self, digest=digest)

    def pinned(self) -> str:
        """``registry/repository@sha256:...``: what a reconciler should deploy after verification."""
        if self.digest is None:
            raise InputError(f"{self} is not pinned to a digest", reference="invalid-image-reference")
        return f"{self.name}@{self.digest}"

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str, *, default_tag: str | None = "latest") -> ImageRef:
    """Parse ``text``; raise ``InputError("invalid-image-reference")`` for anything docker would refuse."""
    original = text
    text = text.strip()
    if not text or any(c.isspace() for c in text) or len(text) > 1024:
        raise InputError(f"invalid image reference: {original!r}", reference="invalid-image-reference")
    digest: str | None = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise InputError(
                f"invalid image reference {original!r}: the digest must be sha256:<64 hex>",
                reference="invalid-image-reference",
            )
    registry, _, rest = text.partition("/")
    if rest and ("." in registry or ":" in registry or registry == "localhost"):
        path = rest
    else:
        registry, path = DOCKER_HUB, text
    if registry.lower() in _HUB_ALIASES:
        registry = DOCKER_HUB
    tag: str | None = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise InputError(f"invalid image reference {original!r}: bad tag", reference="invalid-image-reference")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path or len(path) > _MAX_NAME or not all(_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise InputError(
            f"invalid image reference {original!r}: repository names are lowercase letters, digits and separators",
            reference="invalid-image-reference",
        )
    if tag is None and digest is None:
        tag = default_tag
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest)
