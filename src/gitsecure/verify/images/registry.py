"""A small OCI distribution client: resolve tags, read manifests and blobs, find referrers, push.

Everything fetched by digest is re-hashed before use, and sizes are capped, because a registry is not trusted
to serve what it was asked for. Plain HTTP is used only when the caller allows it (loopback registries in tests
and demos); otherwise HTTPS with the system roots. Errors name the registry, repository and HTTP status, never
credentials or tokens.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitsecure.errors import RemoteError
from gitsecure.verify.images.reference import ImageRef
from gitsecure.verify.images.registry_auth import Credentials, load_docker_config, parse_challenge

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
MAX_MANIFEST = 4 * 1024 * 1024
_MAX_REDIRECTS = 5


class RegistryError(RemoteError):
    """A registry request failed; ``reference`` is ``registry-error`` unless a more specific one applies."""

    reference = "registry-error"


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """One client per process or request; thread-safe (tokens are cached under a lock)."""

    def __init__(self, *, allow_http: bool = False, docker_config: Path | None = None, timeout: float = 10.0) -> None:
        self._scheme = "http" if allow_http else "https"
        self._config = load_docker_config(docker_config)
        self._timeout = timeout
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._ssl = ssl.create_default_context()

    # -- reading -----------------------------------------------------------------------------------------

    def resolve(self, ref: ImageRef) -> Descriptor:
        """The manifest descriptor ``ref`` names now (a tag is resolved; a digest is checked to exist)."""
        reference = ref.digest or ref.tag or "latest"
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
        response = self._request("GET", ref, f"blobs/{digest}", limit=max_size)
        if _sha256(response.body) != digest:
            raise RegistryError(
                f"{ref.name}: blob {digest} does not match its digest", reference="blob-digest-mismatch"
            )
        return response.body

    def referrers(self, ref: ImageRef, digest: str, *, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``digest``: the OCI 1.1 API, else the ``sha256-<hex>`` referrers tag."""
        path = f"referrers/{digest}"
        if artifact_type:
            path += "?artifactType=" + urllib.parse.quote(artifact_type, safe="")
        response = self._request("GET", ref, path, accept=OCI_INDEX, limit=MAX_MANIFEST, ok_404=True)
        body: bytes | None = None
        if response.status == 200 and response.headers.get("content-type", "").startswith(OCI_INDEX):
            body = response.body
        else:
            fallback = self.get_manifest_or_none(ref, digest.replace(":", "-", 1))
            body = fallback[0] if fallback else None
        if body is None:
            return []
        return [d for d in _index_entries(ref, body) if artifact_type is None or d.artifact_type == artifact_type]

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
    ) -> _Response:
        scope = f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"
        url = path if path.startswith(("http://", "https://", "/")) else f"/v2/{ref.repository}/{path}"
        if url.startswith("/"):
            url = f"{self._scheme}://{ref.api_host}{url}"
        headers = {"User-Agent": "gitsecure"}
        if accept:
            headers["Accept"] = accept
        if content_type:
            headers["Content-Type"] = content_type
        token = self._tokens.get((ref.api_host, scope))
        for attempt in range(2):
            sent = dict(headers)
            if token:
                sent["Authorization"] = token
            response = self._send(method, url, sent, body, limit, ref=ref)
            if response.status != 401 or attempt == 1:
                break
            token = self._authorize(ref, scope, response.headers.get("www-authenticate"))
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

    def _authorize(self, ref: ImageRef, scope: str, header: str | None) -> str:
        challenge = parse_challenge(header)
        creds = self._config.credentials(ref.registry) or self._config.credentials(ref.api_host)
        if creds is None and self._config.helper(ref.registry):
            raise RegistryError(
                f"{ref.api_host} needs credentials from the docker credential helper "
                f"{self._config.helper(ref.registry)!r}, which gitsecure does not run; put them in config.json auths",
                reference="registry-denied",
            )
        if challenge is None:
            raise RegistryError(
                f"{ref.name}: {ref.api_host} refused access without a challenge", reference="registry-denied"
            )
        if challenge.scheme == "basic":
            basic = creds.basic() if creds else None
            if basic is None:
                raise RegistryError(f"{ref.name}: {ref.api_host} needs credentials", reference="registry-denied")
            token = basic
        elif challenge.scheme == "bearer":
            token = "Bearer " + self._bearer(ref, challenge.params, scope, creds)
        else:
            raise RegistryError(
                f"{ref.name}: unsupported auth scheme {challenge.scheme!r}", reference="registry-denied"
            )
        with self._lock:
            self._tokens[(ref.api_host, scope)] = token
        return token

    def _bearer(self, ref: ImageRef, params: Mapping[str, str], scope: str, creds: Credentials | None) -> str:
        realm = params.get("realm")
        if not realm or not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{ref.name}: {ref.api_host} sent no usable token realm", reference="registry-denied")
        if realm.startswith("http://") and self._scheme != "http":
            raise RegistryError(f"{ref.name}: refusing a plain-HTTP token realm", reference="registry-denied")
        query = {"scope": params.get("scope") or scope}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"User-Agent": "gitsecure"}
        if creds is not None and creds.basic():
            headers["Authorization"] = creds.basic() or ""
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        response = self._send("GET", url, headers, None, 64 * 1024, ref=ref)
        if response.status != 200:
            raise RegistryError(
                f"{ref.name}: the token service refused access (HTTP {response.status})", reference="registry-denied"
            )
        try:
            doc: Any = json.loads(response.body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{ref.name}: the token service answered without a token", reference="registry-denied")
        return token

    def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, limit: int, *, ref: ImageRef
    ) -> _Response:
        for _ in range(_MAX_REDIRECTS):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme == "http" and self._scheme != "http":
                raise RegistryError(f"{ref.name}: refusing a redirect to plain HTTP", reference="registry-error")
            conn: http.client.HTTPConnection
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.netloc, timeout=self._timeout, context=self._ssl)
            else:
                conn = http.client.HTTPConnection(parts.netloc, timeout=self._timeout)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            try:
                conn.request(method, target, body=body, headers=headers)
                raw = conn.getresponse()
                length = raw.getheader("content-length")
                if length is not None and length.isdigit() and int(length) > limit:
                    raise RegistryError(
                        f"{ref.name}: the registry answered with more than {limit} bytes",
                        reference="registry-too-large",
                    )
                data = raw.read(limit + 1) if method != "HEAD" else b""
                if len(data) > limit:
                    raise RegistryError(
                        f"{ref.name}: the registry answered with more than {limit} bytes",
                        reference="registry-too-large",
                    )
                response = _Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
            except (OSError, http.client.HTTPException) as exc:
                raise RegistryError(
                    f"{ref.name}: cannot reach {parts.netloc}: {type(exc).__name__}", reference="registry-unreachable"
                ) from None
            finally:
                conn.close()
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                location = urllib.parse.urljoin(url, response.headers["location"])
                if urllib.parse.urlsplit(location).netloc != parts.netloc:
                    headers = {k: v for k, v in headers.items() if k != "Authorization"}
                if response.status == 303:
                    method, body = "GET", None
                url = location
                continue
            return response
        raise RegistryError(f"{ref.name}: too many redirects", reference="registry-error")


def _index_entries(ref: ImageRef, body: bytes) -> list[Descriptor]:
    try:
        doc = json.loads(body)
        entries = [
            Descriptor(
                media_type=str(m["mediaType"]),
                digest=str(m["digest"]),
                size=int(m["size"]),
                annotations={str(k): str(v) for k, v in (m.get("annotations") or {}).items()},
                artifact_type=m.get("artifactType"),
            )
            for m in doc.get("manifests") or []
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RegistryError(f"{ref.name}: the referrers index is malformed", reference="malformed-manifest") from None
    return entries
