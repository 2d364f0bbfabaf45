"""A stand-in Kubernetes API server with a sealed-secrets controller behind its service proxy.

``gitsecure seal`` reaches the controller the way kubeseal does (reference
sections 5 and 6): ``GET /api/v1/namespaces/<ns>/services/<name>`` to learn the
first port's name, then ``/api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy/v1/...``.
This module serves exactly that contract on 127.0.0.1 so the CLI can be tested
as a subprocess with the real ``kubernetes`` client, without a cluster:

* ``/api/...`` paths behave like the API server: a bearer token is required
  (401 ``Status`` otherwise), Services are looked up by namespace and name
  (404 ``Status`` when absent), and the proxy resolves the port by name like
  Kubernetes does (503 when no port matches, e.g. ``http:sealed-secrets:`` for
  the Helm chart's named port).
* ``/v1/cert.pem``, ``/v1/verify``, ``/v1/rotate`` and ``/healthz`` behave like
  the controller (also reachable directly, unauthenticated, as through an
  Ingress, for ``--cert http://...``). Verify and rotate are real: they unseal
  with every key held and re-seal with the newest one, using gitsecure's own
  sealing code, which is what kubeseal compatibility is tested against elsewhere.

Every request is recorded (method, decoded path, headers, body, status) so
tests can assert what the CLI asked for.
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from gitsecure.crypto.keyring import KeyRing
from gitsecure.crypto.keys import KeyPair, PrivateKey, dump_certificate
from gitsecure.errors import GitsecureError
from gitsecure.seal import sealedsecret
from gitsecure.seal.manifest import Manifest, load_objects

PEM_CONTENT_TYPE = "application/x-pem-file"
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_MAX_BODY = 4 << 20


@dataclass(frozen=True)
class ControllerService:
    """The controller's Service as the API server knows it: where it lives and its first port."""

    namespace: str = "kube-system"
    name: str = "sealed-secrets-controller"
    port_name: str = ""
    port: int = 8080

    @classmethod
    def static_manifest(cls, *, namespace: str = "kube-system") -> ControllerService:
        """The upstream static manifest: ``sealed-secrets-controller`` with an unnamed port."""
        return cls(namespace=namespace, name="sealed-secrets-controller", port_name="")

    @classmethod
    def helm(cls, *, release: str = "sealed-secrets", namespace: str = "kube-system") -> ControllerService:
        """The Helm chart: the Service is named after the release and its port is named ``http``."""
        return cls(namespace=namespace, name=release, port_name="http")

    @property
    def service_path(self) -> str:
        """The API path of the Service object."""
        return f"/api/v1/namespaces/{self.namespace}/services/{self.name}"

    @property
    def proxy_path(self) -> str:
        """The decoded API path prefix that proxies to this Service's controller, as kubeseal builds it."""
        return f"/api/v1/namespaces/{self.namespace}/services/http:{self.name}:{self.port_name}/proxy"

    def manifest(self) -> Manifest:
        """The ``v1/Service`` object the API server returns."""
        port: dict[str, Any] = {"protocol": "TCP", "port": self.port, "targetPort": self.port}
        if self.port_name:
            port = {"name": self.port_name, **port}
        return {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": "00000000-0000-4000-8000-000000000001",
                "resourceVersion": "1",
                "labels": {"name": self.name},
            },
            "spec": {
                "ports": [port],
                "selector": {"name": self.name},
                "clusterIP": "10.96.0.42",
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        }


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in answered."""

    method: str
    path: str
    """Percent-decoded path, without the query string."""
    raw_path: str
    """The request target exactly as sent."""
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: bytes
    status: int

    @property
    def call(self) -> tuple[str, str]:
        """``(method, path)``: what most assertions need."""
        return (self.method, self.path)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = _TEXT


def _status_object(code: int, reason: str, message: str, details: Mapping[str, str] | None = None) -> _Reply:
    """A ``meta/v1`` Status, as the API server answers failures."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        status["details"] = dict(details)
    status["code"] = code
    return _Reply(code, json.dumps(status).encode(), _JSON)


def decode_sealed_secret(body: bytes) -> Manifest | None:
    """One SealedSecret from a request body (JSON or YAML), or None where the controller answers 500.

    Like the controller's ``runtime.Decode`` with the SealedSecret scheme:
    multi-document bodies, other kinds and a missing ``apiVersion``/``kind``
    are decode errors.
    """
    try:
        objects = load_objects(body.decode("utf-8"))
    except (UnicodeDecodeError, GitsecureError):
        return None
    if len(objects) != 1:
        return None
    obj = objects[0]
    if obj.get("apiVersion") != sealedsecret.API_VERSION or obj.get("kind") != sealedsecret.KIND:
        return None
    return obj


class StandinController:
    """The stand-in: a key ring, some controller Services, an HTTP server and a request log.

    Use as a context manager (or call :meth:`start` and :meth:`stop`). The
    newest key (by certificate NotBefore) is the active one, as in the
    controller's key registry.
    """

    def __init__(
        self,
        keys: Iterable[KeyPair],
        *,
        services: Iterable[ControllerService] = (ControllerService.static_manifest(),),
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` (a server-side context with its certificate loaded) serves HTTPS instead of HTTP."""
        self.token = (
            token if token is not None else secrets.token_hex(24)
        )  # hex: never starts with "-", which argparse would take for a flag
        self._ssl_context = ssl_context
        self._services = {(s.namespace, s.name): s for s in services}
        self._ring = KeyRing()
        for pair in keys:
            self._ring.add(pair)
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._internal_errors: list[str] = []
        self._certificate_override: bytes | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> StandinController:
        """Listen on a free port of 127.0.0.1 and serve from a background thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        server.ssl_context = self._ssl_context
        self._server = server
        # A short poll interval: shutdown() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="standin-controller", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> StandinController:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port served on."""
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with an ``ssl_context``): the API server address for kubeconfig."""
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- keys --------------------------------------------------------------------------------------

    def add_key(self, pair: KeyPair) -> None:
        """Register another key pair; it becomes active if its NotBefore is the newest (key renewal)."""
        with self._lock:
            self._ring.add(pair)

    @property
    def active_key(self) -> KeyPair:
        """The key the controller seals with and whose certificate it serves."""
        with self._lock:
            active = self._ring.active
        if active is None:
            raise RuntimeError("the stand-in holds no key")
        return active

    @property
    def certificate_pem(self) -> bytes:
        """Exactly the bytes ``/v1/cert.pem`` serves."""
        with self._lock:
            if self._certificate_override is not None:
                return self._certificate_override
            active = self._ring.active
        if active is None:
            raise RuntimeError("the stand-in holds no key")
        return dump_certificate(active.certificate)

    def serve_certificate_bytes(self, body: bytes | None) -> None:
        """Serve ``body`` from ``/v1/cert.pem`` instead of the active certificate (None restores it)."""
        with self._lock:
            self._certificate_override = body

    # -- the request log ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, in order."""
        with self._lock:
            return list(self._log)

    @property
    def calls(self) -> list[tuple[str, str]]:
        """``(method, decoded path)`` of every request so far."""
        return [r.call for r in self.requests]

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of stand-in failures (a bug in the stand-in or in gitsecure's unseal code)."""
        with self._lock:
            return list(self._internal_errors)

    def clear_log(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._log.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._internal_errors.append(text)

    # -- kubeconfig ----------------------------------------------------------------------------------

    def write_kubeconfig(
        self, path: Path, *, namespace: str = "default", token: str | None = None, context: str = "standin"
    ) -> Path:
        """A kubeconfig for this stand-in with the right token (or ``token``) and ``namespace``."""
        return write_kubeconfig(
            path, server=self.url, token=self.token if token is None else token, namespace=namespace, context=context
        )

    # -- the API server ------------------------------------------------------------------------------

    def _api(self, method: str, segments: list[str], headers: Mapping[str, str], body: bytes) -> _Reply:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _status_object(401, "Unauthorized", "Unauthorized")
        # segments of "/api/v1/namespaces/<ns>/services/<svc>[/proxy/...]", each percent-decoded
        if len(segments) >= 6 and segments[:3] == ["api", "v1", "namespaces"] and segments[4] == "services":
            namespace, service = segments[3], segments[5]
            if len(segments) == 6:
                return self._get_service(method, namespace, service)
            if segments[6] == "proxy":
                return self._proxy(method, namespace, service, "/" + "/".join(segments[7:]), body)
        return _status_object(404, "NotFound", "the server could not find the requested resource")

    def _get_service(self, method: str, namespace: str, name: str) -> _Reply:
        if method != "GET":
            return _status_object(405, "MethodNotAllowed", f"the server does not allow this method on {name}")
        service = self._services.get((namespace, name))
        if service is None:
            return _status_object(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
        return _Reply(200, json.dumps(service.manifest()).encode(), _JSON)

    def _proxy(self, method: str, namespace: str, target: str, path: str, body: bytes) -> _Reply:
        # Kubernetes' SplitSchemeNamePort: "name", "name:port" or "scheme:name:port".
        parts = target.split(":")
        if len(parts) == 1:
            scheme, name, port = "", parts[0], ""
        elif len(parts) == 2:
            scheme, (name, port) = "", parts
        elif len(parts) == 3:
            scheme, name, port = parts
        else:
            return _status_object(400, "BadRequest", f"invalid service request {target!r}")
        service = self._services.get((namespace, name))
        if service is None:
            return _status_object(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
        if scheme not in ("", "http"):
            return _status_object(503, "ServiceUnavailable", f"error trying to reach service: {scheme} not served")
        if port != service.port_name and port != str(service.port):
            return _status_object(
                503, "ServiceUnavailable", f'no service port "{port}" found for service "{service.name}"'
            )
        return self._controller(method, path, body)

    # -- the controller ------------------------------------------------------------------------------

    def _controller(self, method: str, path: str, body: bytes) -> _Reply:
        if path == "/healthz":
            return _Reply(200, b"ok\n")
        if path == "/v1/cert.pem":
            try:
                return _Reply(200, self.certificate_pem, PEM_CONTENT_TYPE)
            except RuntimeError:
                return _Reply(500, b"cannot get certificate\n")
        if path == "/v1/verify":
            return _Reply(self.verify(body))
        if path == "/v1/rotate":
            return self._rotate_reply(body)
        return _Reply(404, b"404 page not found\n")

    def _private_keys(self) -> list[PrivateKey]:
        with self._lock:
            return self._ring.private_keys()

    def verify(self, body: bytes) -> int:
        """``/v1/verify``: 200 when some key opens the SealedSecret, 409 when none does, 500 on a bad body."""
        obj = decode_sealed_secret(body)
        if obj is None:
            return 500
        try:
            sealedsecret.unseal(obj, self._private_keys())
        except GitsecureError:
            return 409
        return 200

    def rotate(self, body: bytes) -> Manifest | None:
        """``/v1/rotate``: the SealedSecret re-sealed with the active key, without kind/apiVersion; None on error.

        Follows reference section 5: top-level metadata wins over the
        template's, the unsealed Secret is re-sealed exactly as kubeseal seals
        (templates become ordinary items, the owner reference is dropped, the
        scope comes from the Secret's annotations).
        """
        obj = decode_sealed_secret(body)
        if obj is None:
            return None
        try:
            resealed = sealedsecret.reseal(obj, self._private_keys(), self.active_key.private_key.public_key())
        except GitsecureError:
            return None
        return {k: v for k, v in resealed.items() if k not in ("kind", "apiVersion")}

    def _rotate_reply(self, body: bytes) -> _Reply:
        rotated = self.rotate(body)
        if rotated is None:
            return _Reply(500)
        # The controller sets its content type too late, so Go sniffs text/plain (reference section 5).
        return _Reply(200, json.dumps(rotated, separators=(",", ":")).encode(), _TEXT)

    # -- dispatch --------------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        """Answer one request (also usable without HTTP, from unit tests)."""
        segments = [unquote(s) for s in urlsplit(raw_path).path.split("/")[1:]]
        if segments and segments[0] == "api":
            return self._api(method, segments, headers, body)
        return self._controller(method, "/" + "/".join(segments), body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandinController
    ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs here, in the connection's own thread, so a stalled client blocks nobody.
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError:  # the client rejected the certificate, or sent none where one is required
            return
        with tls:
            super().finish_request(tls, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _read_body(self) -> bytes | None:
        # Clients of the stand-in (urllib3, urllib) send Content-Length; anything else is refused.
        if self.headers.get("Transfer-Encoding"):
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        standin = self.server.standin
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body()
        except (OSError, ValueError):
            body = None
        if body is None:
            reply = _Reply(400, b"cannot read request body\n")
            self.close_connection = True
        else:
            try:
                reply = standin.handle(self.command, self.path, headers, body)
            except Exception:
                standin._record_error(traceback.format_exc())
                reply = _Reply(500, b"stand-in internal error\n")
        standin._record(
            RecordedRequest(
                method=self.command,
                path=unquote(urlsplit(self.path).path),
                raw_path=self.path,
                headers=headers,
                body=body or b"",
                status=reply.status,
            )
        )
        self.send_response(reply.status, HTTPStatus(reply.status).phrase)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet: the request log is the record."""


def write_kubeconfig(
    path: Path, *, server: str, token: str, namespace: str = "default", context: str = "standin"
) -> Path:
    """Write a kubeconfig with one cluster (``server``), one token user and one current context."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{context}-cluster", "cluster": {"server": server}}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": f"{context}-cluster", "user": f"{context}-user", "namespace": namespace},
            }
        ],
        "current-context": context,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def closed_port() -> int:
    """A local TCP port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SilentServer:
    """A TCP listener that completes handshakes and never answers: an API server that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
