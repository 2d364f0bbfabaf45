"""The HTTP layer of the registry client: one request, redirects followed, bodies capped, HTTPS unless allowed.

Kept apart from the distribution API (registry.py) and the token exchange (registry_auth.py) so both share one
transport with the same rules: plain HTTP only when the caller allows it (also for redirects and token realms),
``Authorization`` dropped on a redirect to another host, answers larger than the caller's limit refused before
they are read in full. Errors name the host and the failure class, never headers (they may carry credentials).
"""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from dataclasses import dataclass

from gitsecure.errors import RemoteError

_MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class RegistryError(RemoteError):
    """A registry request failed; ``reference`` is ``registry-error`` unless a more specific one applies."""

    reference = "registry-error"


@dataclass
class Response:
    """A finished HTTP exchange: status, lower-cased headers, the (capped) body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Transport:
    """Sends requests with http.client; ``allow_http`` permits plain HTTP (loopback registries in tests and demos)."""

    def __init__(self, *, allow_http: bool, timeout: float) -> None:
        self.scheme = "http" if allow_http else "https"
        self._timeout = timeout
        self._ssl = ssl.create_default_context()

    def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, limit: int, *, what: str
    ) -> Response:
        """One request (redirects followed); ``what`` names the image in errors."""
        for _ in range(_MAX_REDIRECTS):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or (parts.scheme == "http" and self.scheme != "http"):
                raise RegistryError(f"{what}: refusing a {parts.scheme or 'relative'} URL without TLS")
            response = self._once(method, parts, headers, body, limit, what=what)
            if response.status in _REDIRECTS and "location" in response.headers:
                location = urllib.parse.urljoin(url, response.headers["location"])
                if urllib.parse.urlsplit(location).netloc != parts.netloc:
                    # Credentials are for the registry, not for the storage backend it redirects to.
                    headers = {k: v for k, v in headers.items() if k != "Authorization"}
                if response.status == 303:
                    method, body = "GET", None
                url = location
                continue
            return response
        raise RegistryError(f"{what}: too many redirects")

    def _once(
        self,
        method: str,
        parts: urllib.parse.SplitResult,
        headers: dict[str, str],
        body: bytes | None,
        limit: int,
        *,
        what: str,
    ) -> Response:
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.netloc, timeout=self._timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(parts.netloc, timeout=self._timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        too_large = RegistryError(f"{what}: {parts.netloc} answered with more than {limit} bytes")
        too_large.reference = "registry-too-large"
        try:
            conn.request(method, target, body=body, headers=headers)
            raw = conn.getresponse()
            length = raw.getheader("content-length")
            # A HEAD's length describes content not sent; only bodies are capped.
            if method != "HEAD" and length is not None and length.isdigit() and int(length) > limit:
                raise too_large
            data = raw.read(limit + 1) if method != "HEAD" else b""
            if len(data) > limit:
                raise too_large
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
        except (OSError, http.client.HTTPException) as exc:
            raise RegistryError(
                f"{what}: cannot reach {parts.netloc}: {type(exc).__name__}", reference="registry-unreachable"
            ) from None
        finally:
            conn.close()
