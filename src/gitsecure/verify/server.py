"""``gitsecure verify serve``: the signature gate over HTTP, for a reconciler on the same host or pod.

Endpoints:

* ``POST /v1/verify`` with a JSON object ``{"repo": PATH, "revision": REV}`` and optionally
  ``"mode"``, ``"branch"``, ``"repo_url"`` and ``"anchor"`` (strings). ``repo`` is a path under one of
  the ``--repo-root`` directories (absolute, or relative to a root); symlinks are resolved before
  the check, so nothing outside the roots can be named. Answers **200** with the verdict JSON when
  the revision is trusted, **403** with the verdict JSON when it is rejected, **400** with
  ``{"error": ..., "reference": ...}`` for a bad request or a configuration error (unknown
  revision, no rule matching), **413** for a body over the limit, **411** without a length;
* ``GET /healthz``: 200 ``{"status": "ok"}``.

Verifications run one at a time (they share the result cache); the policy and its keys are loaded
once at start (restart to reload). There is no authentication: the server binds to 127.0.0.1
unless told otherwise, and should stay reachable only by the reconciler.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from gitsecure.errors import GitsecureError, UsageError
from gitsecure.verify.cache import VerifyCache
from gitsecure.verify.engine import SignatureGate
from gitsecure.verify.policy import MODES, Mode

__all__ = ["MAX_BODY", "ServerConfig", "VerifyServer", "make_server", "parse_listen", "resolve_repo"]

log = logging.getLogger("gitsecure.verify")

MAX_BODY = 64 * 1024
_REQUIRED = ("repo", "revision")
_OPTIONAL = ("mode", "branch", "repo_url", "anchor")


class BadRequest(Exception):
    """A request the server refuses with 400 (or ``status``)."""

    def __init__(self, message: str, *, status: int = 400, reference: str = "bad-request") -> None:
        super().__init__(message)
        self.message, self.status, self.reference = message, status, reference


@dataclass(frozen=True)
class ServerConfig:
    """Where repositories may be, where results are cached, and how large a request may be."""

    repo_roots: tuple[Path, ...]
    cache: VerifyCache | None = None
    max_body: int = MAX_BODY
    mode: Mode | None = None  # the server's --mode: overrides the rule's mode when a request names none


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8090`` for IPv6) as an address; UsageError when it is not one."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen: expected HOST:PORT such as 127.0.0.1:8090, got {text!r}")
    return host, int(port)


def resolve_repo(text: str, roots: Sequence[Path]) -> Path:
    """The repository directory ``text`` names, inside one of ``roots`` (symlinks resolved); BadRequest otherwise."""
    if not text or "\x00" in text:
        raise BadRequest("repo must be a non-empty path", reference="invalid-repo-path")
    path = Path(text)
    candidates = [path] if path.is_absolute() else [root / path for root in roots]
    resolved_roots = [root.resolve() for root in roots]
    for candidate in candidates:
        real = candidate.resolve()
        if any(real == root or real.is_relative_to(root) for root in resolved_roots) and real.is_dir():
            return real
    raise BadRequest(f"repo {text!r} is not a directory under a --repo-root", reference="repo-outside-roots")


class VerifyServer(ThreadingHTTPServer):
    """The HTTP server holding the gate, the configuration and the lock that serialises verifications."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], gate: SignatureGate, config: ServerConfig) -> None:
        self.gate = gate
        self.config = config
        self.lock = threading.Lock()
        super().__init__(address, _Handler)


class _VerifyServer6(VerifyServer):
    address_family = socket.AF_INET6


def make_server(gate: SignatureGate, address: tuple[str, int], config: ServerConfig) -> VerifyServer:
    """A bound (not yet serving) server; ``serve_forever()`` it and ``server_close()`` when done."""
    if not config.repo_roots:
        raise UsageError("verify serve needs at least one --repo-root")
    for root in config.repo_roots:
        if not root.is_dir():
            raise UsageError(f"--repo-root {root} is not a directory")
    kind = _VerifyServer6 if ":" in address[0] else VerifyServer
    try:
        return kind(address, gate, config)
    except OSError as exc:
        raise UsageError(f"cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}") from None


class _Handler(BaseHTTPRequestHandler):
    server: VerifyServer
    server_version = "gitsecure-verify"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"status": "ok"})
        elif self.path == "/v1/verify":
            self._send(405, {"error": "use POST", "reference": "method-not-allowed"})
        else:
            self._send(404, {"error": "not found", "reference": "not-found"})

    def do_POST(self) -> None:
        if self.path != "/v1/verify":
            self._send(404, {"error": "not found", "reference": "not-found"})
            return
        try:
            request = self._request()
            repo = resolve_repo(request["repo"], self.server.config.repo_roots)
            with self.server.lock:
                cache = self.server.config.cache
                try:
                    verdict = self.server.gate.verify(
                        repo,
                        request["revision"],
                        mode=cast(Mode | None, request.get("mode")) or self.server.config.mode,
                        repo_name=request.get("repo_url"),
                        branch=request.get("branch"),
                        anchor=request.get("anchor"),
                        cache=cache,
                    )
                finally:
                    if cache is not None:
                        cache.save()
        except BadRequest as exc:
            self._send(exc.status, {"error": exc.message, "reference": exc.reference})
            return
        except GitsecureError as exc:
            self._send(400, {"error": exc.message, "reference": exc.reference})
            return
        except Exception:  # a bug: no detail to the client, the traceback to the log
            log.exception("verify request failed")
            self._send(500, {"error": "internal error", "reference": "internal-error"})
            return
        log.info("verify %s %s: %s", repo, request["revision"], "trusted" if verdict.trusted else "rejected")
        self._send(200 if verdict.trusted else 403, verdict.to_dict())

    def _request(self) -> dict[str, str]:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise BadRequest("Content-Length required", status=411, reference="length-required")
        if not length_header.strip().isdigit():
            raise BadRequest("invalid Content-Length", reference="bad-request")
        length = int(length_header)
        if length > self.server.config.max_body:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise BadRequest(
                f"request body over {self.server.config.max_body} bytes", status=413, reference="body-too-large"
            )
        try:
            document: Any = json.loads(self.rfile.read(length))
        except (ValueError, RecursionError):
            raise BadRequest("body is not JSON", reference="invalid-json") from None
        if not isinstance(document, dict):
            raise BadRequest("body must be a JSON object", reference="invalid-request")
        unknown = sorted(set(document) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise BadRequest(f"unknown field {unknown[0]!r}", reference="invalid-request")
        for key in _REQUIRED:
            if not isinstance(document.get(key), str) or not document[key]:
                raise BadRequest(f"{key} is required (a non-empty string)", reference="invalid-request")
        for key in _OPTIONAL:
            if key in document and not isinstance(document[key], str):
                raise BadRequest(f"{key} must be a string", reference="invalid-request")
        if "mode" in document and document["mode"] not in MODES:
            raise BadRequest(f"mode must be one of {', '.join(MODES)}", reference="invalid-request")
        return cast(dict[str, str], document)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)
