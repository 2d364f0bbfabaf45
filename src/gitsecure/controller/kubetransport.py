"""HTTP to the Kubernetes API server: credentials, timeouts, retries and errors.

:class:`Transport` sends every request through the ``kubernetes`` client's
``ApiClient.call_api`` with ``_preload_content=False`` and decodes the JSON
itself, so callers get plain dicts exactly as the API server sent them (and
the client's debug logging of response bodies, Secrets included, never runs).
Every request has a timeout. Failures become :class:`ApiError`; 429, 5xx and
connection failures are retried with jittered exponential backoff, other
4xx never are. Error messages name the operation and the object, plus the
API server's own one-line Status message; request bodies never appear.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from gitsecure.errors import GitsecureError

log = logging.getLogger("gitsecure.controller.kube")

CONNECT_TIMEOUT = 10.0
STOP_POLL = 0.2  # how often an open watch checks its stop flag (the check shuts the socket down)
_IDEMPOTENT = frozenset({"GET", "HEAD"})


class ApiError(GitsecureError):
    """A Kubernetes API request failed: ``status`` is the HTTP code (0 when nothing was answered)."""

    reference = "kube-api-error"

    def __init__(self, message: str, *, status: int, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.reason = reason


class Conflict(ApiError):
    """HTTP 409: a stale resourceVersion, or the object already exists."""

    reference = "kube-conflict"


class NotFound(ApiError):
    """HTTP 404: the object (or its namespace, or the resource) does not exist."""

    reference = "kube-not-found"


class Gone(ApiError):
    """HTTP 410: a watch's resourceVersion is too old; list again."""

    reference = "kube-gone"


def error_for(status: int, reason: str, message: str) -> ApiError:
    """The :class:`ApiError` subclass for an HTTP status."""
    cls = {409: Conflict, 404: NotFound, 410: Gone}.get(status, ApiError)
    return cls(message, status=status, reason=reason)


def status_error(what: str, status_obj: Mapping[str, Any] | None, *, http_status: int, http_reason: str) -> ApiError:
    """An error from a Kubernetes ``Status`` object (an error body or a watch ERROR event)."""
    status_obj = status_obj or {}
    code = int(status_obj.get("code") or http_status or 0)
    reason = str(status_obj.get("reason") or http_reason or "")
    detail = " ".join(str(status_obj.get("message") or "").split())[:300]
    text = f"cannot {what}: HTTP {code}" + (f" {reason}" if reason else "") + (f": {detail}" if detail else "")
    return error_for(code, reason, text)


@dataclass(frozen=True)
class Backoff:
    """Retry policy: ``attempts`` tries in all, waiting ``initial`` doubling up to ``cap`` seconds, jittered."""

    attempts: int = 5
    initial: float = 0.1
    cap: float = 5.0

    def delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0-based): half fixed, half random, so replicas spread out."""
        base = min(self.cap, self.initial * 2.0**retry)
        return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not a secret


class Transport:
    """Thread-safe requests to one API server (urllib3's pool is thread-safe; nothing else is shared state)."""

    def __init__(
        self,
        configuration: client.Configuration,
        *,
        timeout: float,
        backoff: Backoff,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Our own retries replace urllib3's, so that each error is seen (and classified) once.
        configuration.retries = False
        self.configuration = configuration
        self.api_client = client.ApiClient(configuration)
        self.timeout = timeout
        self.backoff = backoff
        self._sleep = sleep

    def close(self) -> None:
        """Close the connection pool."""
        self.api_client.close()

    def json(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        retry: bool = True,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One request; the decoded JSON response (``content_type`` selects a patch type for PATCH)."""
        response = self._send(
            method, path, what=what, query=query, body=body, timeout=timeout, retry=retry, content_type=content_type
        )
        try:
            raw = response.data
        finally:
            response.release_conn()
        try:
            decoded = json.loads(raw)
        except ValueError:
            raise ApiError(
                f"cannot {what}: the API server's answer is not JSON", status=0, reason="BadResponse"
            ) from None
        if not isinstance(decoded, dict):
            raise ApiError(f"cannot {what}: the API server's answer is not an object", status=0, reason="BadResponse")
        return decoded

    def stream(
        self,
        path: str,
        *,
        what: str,
        query: Sequence[tuple[str, str]],
        read_timeout: float,
        stop: threading.Event,
    ) -> Generator[dict[str, Any], None, None]:
        """The JSON lines of a streamed GET (a watch), until the server ends it or ``stop`` is set.

        A helper thread shuts the socket down as soon as ``stop`` is set, so
        a quiet stream does not hold the caller until its timeout. A broken
        stream raises :class:`ApiError` with status 0.
        """
        response = self._send("GET", path, what=what, query=query, body=None, timeout=read_timeout)
        finished = threading.Event()

        def stop_watcher() -> None:
            while not finished.is_set():
                if stop.wait(STOP_POLL):
                    # Already finished or released: then there is nothing to unblock.
                    with contextlib.suppress(RuntimeError, ValueError, OSError):
                        response.shutdown()
                    return

        threading.Thread(target=stop_watcher, name="watch-stop", daemon=True).start()
        buffer = b""
        try:
            for chunk in response.stream(None, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield _decode_line(line, what)
                    if stop.is_set():
                        return
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if stop.is_set():
                return
            raise ApiError(f"cannot {what}: the stream broke: {_short(exc)}", status=0, reason="StreamBroken") from None
        finally:
            finished.set()
            response.close()
            response.release_conn()

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Sequence[tuple[str, str]],
        body: Mapping[str, Any] | None,
        timeout: float | None,
        retry: bool = True,
        content_type: str = "application/json",
    ) -> Any:
        attempts = self.backoff.attempts if retry else 1
        read_timeout = self.timeout if timeout is None else timeout
        for attempt in range(1, attempts + 1):
            try:
                return self.api_client.call_api(
                    path,
                    method,
                    query_params=list(query),
                    header_params={"Accept": "application/json", "Content-Type": content_type},
                    body=dict(body) if body is not None else None,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _return_http_data_only=True,
                    _request_timeout=(min(CONNECT_TIMEOUT, read_timeout), read_timeout),
                )
            except ApiException as exc:
                error, retryable, wait = _classify_http(exc, what)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                error, retryable, wait = _classify_connection(exc, what, method=method)
            if not retryable or attempt == attempts:
                raise error
            delay = self.backoff.delay(attempt - 1) if wait is None else min(self.backoff.cap, wait)
            log.debug("%s (attempt %d of %d); retrying in %.2fs", error.message, attempt, attempts, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _classify_http(exc: ApiException, what: str) -> tuple[ApiError, bool, float | None]:
    status = int(exc.status or 0)
    if status == 0:  # the client's wrapper for TLS failures: nothing was answered
        error = ApiError(
            f"cannot {what}: cannot reach the Kubernetes API server: {_short_text(str(exc.reason or ''))}",
            status=0,
            reason="Unreachable",
        )
        return error, True, None
    status_obj: Mapping[str, Any] | None = None
    try:
        decoded = json.loads(exc.body or b"")
        status_obj = decoded if isinstance(decoded, dict) and decoded.get("kind") == "Status" else None
    except (ValueError, TypeError):
        status_obj = None
    error = status_error(what, status_obj, http_status=status, http_reason=str(exc.reason or ""))
    retryable = status == 429 or status >= 500
    return error, retryable, _retry_after(exc) if retryable else None


def _classify_connection(exc: BaseException, what: str, *, method: str) -> tuple[ApiError, bool, float | None]:
    error = ApiError(
        f"cannot {what}: cannot reach the Kubernetes API server: {_short(exc)}", status=0, reason="Unreachable"
    )
    # A failure to connect means the server saw nothing: safe to repeat anything. A failure after the
    # request went out (timeout, reset) may have taken effect; only reads are repeated then.
    connect_phase = isinstance(exc, urllib3.exceptions.ConnectTimeoutError | ConnectionRefusedError)
    return error, connect_phase or method in _IDEMPOTENT, None


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _decode_line(line: bytes, what: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        raise ApiError(f"cannot {what}: a watch event is not JSON", status=0, reason="StreamBroken") from None
    if not isinstance(event, dict):
        raise ApiError(f"cannot {what}: a watch event is not an object", status=0, reason="StreamBroken")
    return event


_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>: ")


def _short(exc: BaseException) -> str:
    # urllib3 nests the real cause (refused, timed out, DNS) inside its own errors.
    cause = getattr(exc, "reason", None)
    cause = cause if isinstance(cause, BaseException) else exc
    return _short_text(str(cause) or type(cause).__name__)


def _short_text(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "no detail"
    return _OBJECT_REPR.sub("", first)[:300]
