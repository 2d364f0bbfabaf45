"""The API server's service proxy: ``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH``.

kubeseal and ``gitsecure seal`` reach the controller this way. The Service object itself lives in the
emulator's store; this module maps a Service port to a local TCP port (``expose``) and forwards
the request there over HTTP, as the API server forwards to a pod: the caller's bearer token is not
passed on, ``X-Forwarded-For`` carries the caller's address, and an unreachable target is a 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import aiohttp.web

from tests.support.kube.apistatus import ApiError, bad_request

_FORWARDED_HEADERS = ("Content-Type", "Accept", "User-Agent", "X-Forwarded-For")
_TIMEOUT = aiohttp.ClientTimeout(total=60)


def split_target(target: str) -> tuple[str, str, str]:
    """Kubernetes' SplitSchemeNamePort: ``name``, ``name:port`` or ``scheme:name:port``."""
    parts = target.split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise bad_request(f"invalid service request {target!r}")


def service_port(service: Mapping[str, Any], port: str) -> int:
    """The Service port (its number) that a proxy request's port part names, by name or number."""
    for entry in (service.get("spec") or {}).get("ports") or []:
        if entry.get("name", "") == port or str(entry.get("port")) == port:
            return int(entry["port"])
    name = (service.get("metadata") or {}).get("name")
    raise ApiError(503, f'no service port "{port}" found for service "{name}"', reason="ServiceUnavailable")


class ServiceProxy:
    """Forwarding targets by (namespace, service, service port) and the HTTP client that forwards."""

    def __init__(self) -> None:
        self._targets: dict[tuple[str, str, int], int] = {}
        self._session: aiohttp.ClientSession | None = None

    def expose(self, namespace: str, name: str, port: int, target_port: int) -> None:
        """Send proxy requests for that Service port to ``127.0.0.1:target_port``."""
        self._targets[(namespace, name, port)] = target_port

    async def forward(
        self,
        namespace: str,
        service: Mapping[str, Any],
        scheme: str,
        port: str,
        path: str,
        raw: aiohttp.web.BaseRequest,
        body: bytes,
    ) -> aiohttp.web.Response:
        """Forward one request and answer with the target's status, body and content type."""
        name = str((service.get("metadata") or {}).get("name"))
        if scheme not in ("", "http"):
            raise ApiError(503, f"error trying to reach service: {scheme} is not served by the emulator")
        target = self._targets.get((namespace, name, service_port(service, port)))
        if target is None:
            raise ApiError(503, f'no endpoints available for service "{name}"', reason="ServiceUnavailable")
        headers = {key: raw.headers[key] for key in _FORWARDED_HEADERS if key in raw.headers}
        client = raw.remote or "127.0.0.1"
        headers["X-Forwarded-For"] = (
            f"{headers['X-Forwarded-For']}, {client}" if "X-Forwarded-For" in headers else client
        )
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT, trust_env=False, auto_decompress=False)
        url = f"http://127.0.0.1:{target}{path}" + (f"?{raw.query_string}" if raw.query_string else "")
        try:
            async with self._session.request(
                raw.method, url, data=body, headers=headers, allow_redirects=False
            ) as reply:
                content = await reply.read()
                kept = {key: reply.headers[key] for key in ("Content-Type", "Retry-After") if key in reply.headers}
                return aiohttp.web.Response(status=reply.status, body=content, headers=kept)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiError(
                503, f"error trying to reach service: dial tcp 127.0.0.1:{target}: {type(exc).__name__}"
            ) from None

    async def close(self) -> None:
        """Close the forwarding client."""
        if self._session is not None:
            await self._session.close()
            self._session = None
