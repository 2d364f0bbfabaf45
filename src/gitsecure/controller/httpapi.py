"""The controller's HTTP servers: the API on :8080 and the metrics on :8081 (reference section 5).

Both run inside the controller's asyncio loop. Decoding a body and every RSA
operation run in an executor, so a slow unseal never stalls the loop (probes,
scrapes and other requests keep being answered). There is no authentication
and no method check, as upstream: access is controlled by Kubernetes RBAC on
the API server's service proxy.

Responses never carry a secret value, except ``/v1/rotate``'s new ciphertext;
logs carry names and error references only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from aiohttp import ClientError, web
from aiohttp.http_exceptions import HttpProcessingError

from gitsecure.controller.config import parse_listen_addr
from gitsecure.controller.keyregistry import KeyRegistry
from gitsecure.controller.metrics import Metrics
from gitsecure.controller.ratelimit import GcraLimiter
from gitsecure.controller.sealedbody import decode_sealed_secret, go_json, rotate_manifest, verify_manifest
from gitsecure.crypto.keys import PrivateKey, dump_certificate
from gitsecure.errors import GitsecureError

log = logging.getLogger("gitsecure.controller.http")

PEM_CONTENT_TYPE = "application/x-pem-file"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
MAX_BODY = 4 << 20
"""Largest request body read (a Secret is at most 1 MiB; its SealedSecret about 1.4 MiB)."""
SHUTDOWN_TIMEOUT = 5.0
"""Seconds in-flight requests get to finish when a site stops."""
LINGERING_TIME = 1.0
"""Seconds the server keeps discarding an unread body (refused or rate-limited) before closing (aiohttp: 10)."""

__all__ = ["MAX_BODY", "controller_app", "metrics_app", "parse_listen_addr", "start_site"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _text(status: int, message: str) -> web.Response:
    # Go's http.Error: the message plus a newline, text/plain, and nosniff.
    response = web.Response(status=status, text=message + "\n", content_type="text/plain", charset="utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def _read_body(request: web.Request) -> bytes | None:
    """The whole body, or None when it cannot be read (too large, truncated, broken connection)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None  # refused before a byte of it is buffered
    try:
        return await request.read()
    except (web.HTTPException, ClientError, HttpProcessingError, OSError, ValueError):
        return None


def _unreadable(headers: dict[str, str]) -> web.Response:
    # The rest of the body may still be on its way: close the connection rather than drain it.
    response = web.Response(status=400, headers=headers)
    response.force_close()
    return response


class _Endpoints:
    def __init__(
        self,
        keys: KeyRegistry,
        *,
        limiter: GcraLimiter,
        accept_deprecated_v1_data: bool,
        executor: Executor | None,
    ) -> None:
        self._keys = keys
        self._limiter = limiter
        self._accept_v1 = accept_deprecated_v1_data
        self._executor = executor

    async def _off_loop(self, fn: Callable[[bytes], Any], body: bytes) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, body)

    def _private_keys(self) -> list[PrivateKey]:
        return [key for _, key in self._keys.ordered_keys()]

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n", content_type="text/plain", charset="utf-8")

    async def cert(self, request: web.Request) -> web.Response:
        active = self._keys.active()
        if active is None:
            log.error("cannot get certificate: no sealing key is held yet")
            return _text(500, "cannot get certificate")
        return web.Response(body=dump_certificate(active.certificate), headers={"Content-Type": PEM_CONTENT_TYPE})

    async def verify(self, request: web.Request) -> web.Response:
        # throttled varies by the lower-cased X-Forwarded-For value and the path, in that order.
        key = f"{request.headers.get('X-Forwarded-For', '').lower()}\n{request.path}\n"
        decision = self._limiter.check(key)
        if not decision.allowed:
            response = _text(429, "limit exceeded")
            response.headers.update(decision.headers())
            return response
        body = await _read_body(request)
        if body is None:
            return _unreadable(decision.headers())
        status = await self._off_loop(self._verify, body)
        return web.Response(status=status, headers=decision.headers())

    def _verify(self, body: bytes) -> int:
        obj = decode_sealed_secret(body)
        if obj is None:
            return 500
        return 200 if verify_manifest(obj, self._keys, accept_deprecated_v1_data=self._accept_v1) else 409

    async def rotate(self, request: web.Request) -> web.Response:
        body = await _read_body(request)
        if body is None:
            return _unreadable({})
        rotated: bytes | None = await self._off_loop(self._rotate, body)
        if rotated is None:
            return web.Response(status=500)
        # Upstream sets its content type after the status line, so Go sends the sniffed text/plain.
        return web.Response(body=rotated, headers={"Content-Type": TEXT_CONTENT_TYPE})

    def _rotate(self, body: bytes) -> bytes | None:
        obj = decode_sealed_secret(body)
        active = self._keys.active()
        if obj is None:
            return None
        if active is None:
            log.error("cannot re-encrypt: no sealing key is held yet")
            return None
        try:
            rotated = rotate_manifest(obj, self._private_keys(), active.private_key.public_key())
        except GitsecureError as exc:
            # The reference only: item-level messages of template errors are not worth the risk.
            log.warning("cannot re-encrypt a SealedSecret: %s", exc.reference)
            return None
        return go_json(rotated)


def _instrumented(path: str, metrics: Metrics, handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        start = time.perf_counter()
        code = 500
        try:
            response = await handler(request)
            code = response.status
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        finally:
            metrics.observe_http(path, request.method, code, time.perf_counter() - start)

    return wrapped


async def _not_found(request: web.Request) -> web.Response:
    return _text(404, "404 page not found")


def controller_app(
    registry: KeyRegistry,
    metrics: Metrics,
    *,
    rate_limit: float,
    burst: int,
    accept_deprecated_v1_data: bool,
    executor: Executor | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The :8080 API: ``/healthz``, ``/v1/cert.pem``, ``/v1/verify`` (rate-limited), ``/v1/rotate``.

    ``executor`` runs decoding and RSA work (None: the loop's default);
    ``clock`` drives the rate limiter (monotonic seconds).
    """
    endpoints = _Endpoints(
        registry,
        limiter=GcraLimiter(rate=rate_limit, burst=burst, clock=clock),
        accept_deprecated_v1_data=accept_deprecated_v1_data,
        executor=executor,
    )
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_route("*", "/healthz", endpoints.healthz)
    app.router.add_route("*", "/v1/cert.pem", _instrumented("/v1/cert.pem", metrics, endpoints.cert))
    app.router.add_route("*", "/v1/verify", _instrumented("/v1/verify", metrics, endpoints.verify))
    app.router.add_route("*", "/v1/rotate", _instrumented("/v1/rotate", metrics, endpoints.rotate))
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


def metrics_app(metrics: Metrics) -> web.Application:
    """The :8081 server: ``GET /metrics`` in the Prometheus text format (or OpenMetrics when asked)."""

    async def scrape(request: web.Request) -> web.Response:
        accept = ",".join(request.headers.getall("Accept", []))
        body, content_type = await asyncio.to_thread(metrics.exposition, accept)
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app


def _listen_socket(host: str, port: int) -> socket.socket:
    if not host:
        # One socket for IPv4 and IPv6, so that port 0 yields a single port for both.
        if socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        return socket.create_server(("", port))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


async def start_site(app: web.Application, addr: str) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``addr`` (port 0 picks a free one); return the runner and the bound port.

    Raises :class:`UsageError` for a malformed address and :class:`GitsecureError`
    when the address cannot be bound.
    """
    host, port = parse_listen_addr(addr)
    try:
        sock = _listen_socket(host, port)
    except OSError as exc:
        raise GitsecureError(f"cannot listen on {addr}: {exc.strerror or exc}", reference="listen-failed") from None
    bound = int(sock.getsockname()[1])
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT, lingering_time=LINGERING_TIME)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return runner, bound
