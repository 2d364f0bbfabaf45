"""A small OCI distribution client: resolve tags, read manifests and blobs, find referrers, push.

Everything fetched by digest is re-hashed before use, and sizes are capped, because a registry is not trusted
to serve what it was asked for. Plain HTTP is used only when the caller allows it (loopback registries in tests
and demos); otherwise HTTPS with the system roots. Errors name the registry, repository and HTTP status, never
credentials or tokens.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitsecure.verify.images.reference import ImageRef
from gitsecure.verify.images.registry_auth import Authenticator, load_docker_config
from gitsecure.verify.images.registry_http import RegistryError, Response, Transport

__all__ = [
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "MANIFEST_TYPES",
    "MAX_MANIFEST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "RegistryClient",
    "RegistryError",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
MAX_MANIFEST = 4 * 1024 * 1024
_MAX_REFERRER_PAGES = 16
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """One client per process or request; thread-safe (tokens are cached under a lock)."""

    def __init__(self, *, allow_http: bool = False, docker_config: Path | None = None, timeout: float = 10.0) -> None:
        self._http = Transport(allow_http=allow_http, timeout=timeout)
        self._auth = Authenticator(load_docker_config(docker_config), self._http)

    # -- reading -----------------------------------------------------------------------------------------

    def resolve(self, ref: ImageRef) -> Descriptor:
        """The manifest descriptor ``ref`` names now (a tag is resolved; a digest is checked to exist).

        A ``HEAD`` answers with ``Docker-Content-Digest`` cheaply; without that header (or with a malformed one) the
        manifest is fetched and hashed. Nothing trusts the HEAD answer beyond naming a digest: every later read of
        that digest is re-hashed.
        """
        reference = ref.digest or ref.tag or "latest"
        _check_reference(ref, reference)
        head = self._request("HEAD", ref, f"manifests/{reference}", accept=", ".join(MANIFEST_TYPES), ok_404=True)
        if head.status == 404:
            raise RegistryError(f"{ref.name}: manifest {reference} not found", reference="manifest-unknown")
        digest = head.headers.get("docker-content-digest", "")
        media_type = head.headers.get("content-type", "").split(";")[0].strip()
        length = head.headers.get("content-length", "")
        if (
            _DIGEST.fullmatch(digest)
            and media_type in MANIFEST_TYPES
            and length.isdigit()
            and (ref.digest is None or digest == ref.digest)
        ):
            return Descriptor(media_type=media_type, digest=digest, size=int(length))
        _, descriptor = self.get_manifest(ref, reference)
        return descriptor

    def get_manifest(self, ref: ImageRef, reference: str) -> tuple[bytes, Descriptor]:
        """The manifest bytes and descriptor; fetched by digest, the bytes are checked against it."""
        result = self.get_manifest_or_none(ref, reference)
        if result is None:
            raise RegistryError(f"{ref.name}: manifest {reference} not found", reference="manifest-unknown")
        return result

    def get_manifest_or_none(self, ref: ImageRef, reference: str) -> tuple[bytes, Descriptor] | None:
        """Like :meth:`get_manifest`, but None when the registry says the manifest does not exist."""
        _check_reference(ref, reference)
        response = self._request(
            "GET", ref, f"manifests/{reference}", accept=", ".join(MANIFEST_TYPES), limit=MAX_MANIFEST, ok_404=True
        )
        if response.status == 404:
            return None
        digest = _sha256(response.body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(
                f"{ref.name}: the registry served other content for {reference}", reference="manifest-digest-mismatch"
            )
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            declared = json.loads(response.body).get("mediaType")
        except (ValueError, AttributeError):
            raise RegistryError(
                f"{ref.name}: manifest {reference} is not JSON", reference="malformed-manifest"
            ) from None
        if isinstance(declared, str) and declared:
            media_type = declared
        return response.body, Descriptor(media_type=media_type, digest=digest, size=len(response.body))

    def get_blob(self, ref: ImageRef, digest: str, *, max_size: int = 16 * 1024 * 1024) -> bytes:
        """A blob, at most ``max_size`` bytes, re-hashed against ``digest``."""
        _check_digest(ref, digest)
        response = self._request("GET", ref, f"blobs/{digest}", limit=max_size)
        if _sha256(response.body) != digest:
            raise RegistryError(
                f"{ref.name}: blob {digest} does not match its digest", reference="blob-digest-mismatch"
            )
        return response.body

    def referrers(self, ref: ImageRef, digest: str, *, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``digest``: the OCI 1.1 API, else the ``sha256-<hex>`` referrers tag."""
        _check_digest(ref, digest)
        path = f"referrers/{digest}"
        if artifact_type:
            path += "?artifactType=" + urllib.parse.quote(artifact_type, safe="")
        response = self._request("GET", ref, path, accept=OCI_INDEX, limit=MAX_MANIFEST, ok_404=True)
        if response.status == 200 and response.headers.get("content-type", "").startswith(OCI_INDEX):
            entries = _index_entries(ref, response.body)
            for _ in range(_MAX_REFERRER_PAGES):
                following = _next_page(ref, response.headers.get("link"))
                if following is None:
                    break
                response = self._request("GET", ref, following, accept=OCI_INDEX, limit=MAX_MANIFEST)
                entries += _index_entries(ref, response.body)
            else:
                raise RegistryError(f"{ref.name}: more than {_MAX_REFERRER_PAGES} pages of referrers")
        else:
            # No referrers API (404, or an answer that is not an index): the referrers tag schema.
            fallback = self.get_manifest_or_none(ref, digest.replace(":", "-", 1))
            entries = _index_entries(ref, fallback[0]) if fallback else []
        return [d for d in entries if artifact_type is None or d.artifact_type == artifact_type]

    # -- writing -----------------------------------------------------------------------------------------

    def put_blob(self, ref: ImageRef, data: bytes) -> Descriptor:
        """Upload ``data`` (monolithic upload), unless the registry already has it."""
        digest = _sha256(data)
        head = self._request("HEAD", ref, f"blobs/{digest}", ok_404=True, push=True)
        if head.status != 200:
            started = self._request("POST", ref, "blobs/uploads/", push=True)
            location = started.headers.get("location")
            if not location:
                raise RegistryError(f"{ref.name}: the registry gave no upload location")
            separator = "&" if "?" in location else "?"
            self._request(
                "PUT",
                ref,
                location + separator + "digest=" + urllib.parse.quote(digest),
                body=data,
                push=True,
                content_type="application/octet-stream",
            )
        return Descriptor(media_type="application/octet-stream", digest=digest, size=len(data))

    def put_manifest(self, ref: ImageRef, reference: str, data: bytes, media_type: str) -> Descriptor:
        """Store a manifest under a tag or its digest."""
        _check_reference(ref, reference)
        self._request("PUT", ref, f"manifests/{reference}", body=data, content_type=media_type, push=True)
        return Descriptor(media_type=media_type, digest=_sha256(data), size=len(data))

    # -- transport ---------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        ref: ImageRef,
        path: str,
        *,
        accept: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        limit: int = MAX_MANIFEST,
        ok_404: bool = False,
        push: bool = False,
    ) -> Response:
        scope = f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"
        url = path if path.startswith(("http://", "https://", "/")) else f"/v2/{ref.repository}/{path}"
        if url.startswith("/"):
            url = f"{self._http.scheme}://{ref.api_host}{url}"
        headers = {"User-Agent": "gitsecure"}
        if accept:
            headers["Accept"] = accept
        if content_type:
            headers["Content-Type"] = content_type
        # A registry's credentials go to the registry only, never to an upload location on another host.
        same_host = urllib.parse.urlsplit(url).netloc == ref.api_host
        token = self._auth.cached(ref.api_host, scope) if same_host else None
        for attempt in range(2 if same_host else 1):
            sent = dict(headers)
            if token:
                sent["Authorization"] = token
            response = self._http.send(method, url, sent, body, limit, what=ref.name)
            if response.status != 401 or attempt == 1:
                break
            token = self._auth.authorize(
                what=ref.name,
                registry=ref.registry,
                host=ref.api_host,
                scope=scope,
                header=response.headers.get("www-authenticate"),
            )
        if response.status == 404 and ok_404:
            return response
        if response.status in (401, 403):
            raise RegistryError(
                f"{ref.name}: access denied by {ref.api_host} (HTTP {response.status})", reference="registry-denied"
            )
        if response.status == 404:
            raise RegistryError(
                f"{ref.name}: {path.split('?', maxsplit=1)[0]} not found on {ref.api_host}",
                reference="manifest-unknown",
            )
        if response.status >= 300:
            raise RegistryError(
                f"{ref.name}: {method} {path.split('?', maxsplit=1)[0]} failed with HTTP {response.status}"
            )
        return response


def _check_digest(ref: ImageRef, digest: str) -> None:
    # Digests and tags go into URL paths: anything else could address another endpoint.
    if not _DIGEST.fullmatch(digest):
        raise RegistryError(f"{ref.name}: not a sha256 digest: {digest[:80]!r}", reference="invalid-image-reference")


def _check_reference(ref: ImageRef, reference: str) -> None:
    if not (_DIGEST.fullmatch(reference) or _TAG.fullmatch(reference)):
        raise RegistryError(f"{ref.name}: not a tag or digest: {reference[:80]!r}", reference="invalid-image-reference")


def _next_page(ref: ImageRef, link: str | None) -> str | None:
    """The path of the ``rel="next"`` page in a ``Link`` header; only the same registry is followed."""
    if not link or 'rel="next"' not in link:
        return None
    target = link.split(";", 1)[0].strip().strip("<>")
    url = urllib.parse.urlsplit(urllib.parse.urljoin(f"https://{ref.api_host}/", target))
    if url.netloc != ref.api_host or not url.path.startswith(f"/v2/{ref.repository}/referrers/"):
        raise RegistryError(f"{ref.name}: the referrers API sent a next page elsewhere")
    return url.path + (f"?{url.query}" if url.query else "")


def _index_entries(ref: ImageRef, body: bytes) -> list[Descriptor]:
    malformed = RegistryError(f"{ref.name}: the referrers index is malformed", reference="malformed-manifest")
    try:
        doc = json.loads(body)
        manifests = doc.get("manifests")
        if doc.get("schemaVersion") != 2 or not isinstance(manifests, list):
            raise malformed
        entries = []
        for m in manifests:
            annotations = m.get("annotations") or {}
            artifact_type = m.get("artifactType")
            if not (
                isinstance(m["mediaType"], str)
                and isinstance(m["digest"], str)
                and _DIGEST.fullmatch(m["digest"])
                and isinstance(m["size"], int)
                and m["size"] >= 0
                and isinstance(annotations, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())
                and (artifact_type is None or isinstance(artifact_type, str))
            ):
                raise malformed
            entries.append(Descriptor(m["mediaType"], m["digest"], m["size"], annotations, artifact_type))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise malformed from None
    return entries
