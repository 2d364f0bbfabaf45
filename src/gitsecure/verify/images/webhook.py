"""The admission webhook: a ValidatingAdmissionWebhook that admits a workload only if its images are signed.

A small HTTPS server (stdlib, one thread per request) answers ``admission.k8s.io/v1`` AdmissionReviews for Pods
and the kinds that template Pods. Every container, init container and ephemeral container image goes through
the same :class:`~gitsecure.verify.images.gate.ImageGate` as ``gitsecure verify image``; one blocking verdict
denies the request, naming the image and the reason. Warn-mode rejections admit with ``warnings``. Anything
unexpected while deciding denies (fail closed); only a request that is not an AdmissionReview gets a 400.

Accepted verdicts of digest-pinned references are remembered for the life of the process (content under a
digest cannot change and the policy is loaded once); tags are resolved again on every request.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gitsecure.errors import GitsecureError
from gitsecure.verify.images.manifests import pod_images
from gitsecure.verify.images.verdict import ImageVerdict

log = logging.getLogger("gitsecure.webhook")

MAX_REQUEST = 3 * 1024 * 1024  # the API server caps objects at about 1.5 MiB; requests carry old and new
REQUEST_TIMEOUT = 10.0
_MEMO_LIMIT = 10_000

Verify = Callable[[str], ImageVerdict]


class AdmissionDecider:
    """Turns an AdmissionReview request into its response; safe to call from many threads."""

    def __init__(self, verify: Verify) -> None:
        self._verify = verify
        self._memo: dict[str, ImageVerdict] = {}
        self._lock = threading.Lock()

    def review(self, review: Mapping[str, Any]) -> dict[str, Any]:
        """The AdmissionReview to send back; raises ValueError when ``review`` is not an AdmissionReview v1."""
        request = review.get("request") if review.get("kind") == "AdmissionReview" else None
        if not isinstance(request, Mapping) or not isinstance(request.get("uid"), str):
            raise ValueError("not an admission.k8s.io/v1 AdmissionReview with a request uid")
        response: dict[str, Any] = {"uid": request["uid"], "allowed": False}
        try:
            allowed, message, warnings = self._decide(request)
        except Exception:  # fail closed: any surprise while deciding denies the request
            log.exception("admission request %s could not be decided; denying", request["uid"])
            allowed, message, warnings = False, "gitsecure could not decide (internal error); denied", []
        response["allowed"] = allowed
        if not allowed:
            response["status"] = {"code": 403, "reason": "Forbidden", "message": message}
        if warnings:
            response["warnings"] = warnings
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}

    def _decide(self, request: Mapping[str, Any]) -> tuple[bool, str, list[str]]:
        if request.get("operation") == "DELETE":
            return True, "", []
        obj = request.get("object")
        if not isinstance(obj, Mapping):
            return False, "the request carries no object to check", []
        images = sorted({image for _, image in pod_images(obj)})
        denied: list[str] = []
        warnings: list[str] = []
        for image in images:
            verdict = self._verdict(image)
            if verdict.accepted:
                continue
            line = f"{image}: {'; '.join(verdict.reasons)}"
            if verdict.blocking:
                denied.append(line)
            else:
                warnings.append(f"image not verified (warn mode): {line}")
        if denied:
            return False, "gitsecure: unverified image(s): " + " | ".join(denied), warnings
        return True, "", warnings

    def _verdict(self, image: str) -> ImageVerdict:
        with self._lock:
            memo = self._memo.get(image)
        if memo is not None:
            return memo
        try:
            verdict = self._verify(image)
        except GitsecureError as exc:  # a policy error (two rules tie) denies; the operator sees it in the log
            log.error("image %s: %s", image, exc.message)
            return ImageVerdict(image=image, accepted=False, policy_hash="", reasons=(exc.message,))
        if verdict.accepted and "@sha256:" in image:
            with self._lock:
                if len(self._memo) >= _MEMO_LIMIT:
                    self._memo.clear()
                self._memo[image] = verdict
        return verdict


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_REQUEST:
            self._send(413 if length.isdigit() else 411, b"request body missing or too large\n", "text/plain")
            return
        try:
            review = json.loads(self.rfile.read(int(length)))
            if not isinstance(review, Mapping):
                raise ValueError("not an object")
            answer = self.server.decider.review(review)
        except ValueError as exc:
            self._send(400, f"bad request: {exc}\n".encode(), "text/plain")
            return
        self._send(200, json.dumps(answer).encode(), "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], decider: AdmissionDecider, context: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.decider = decider
        self.socket = context.wrap_socket(self.socket, server_side=True)


def make_server(
    decider: AdmissionDecider, *, host: str, port: int, cert_file: str, key_file: str
) -> ThreadingHTTPServer:
    """An HTTPS server bound to ``host:port`` (TLS 1.2+), not yet serving; raises OSError/ssl.SSLError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return _Server((host, port), decider, context)
