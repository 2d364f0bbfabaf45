"""The real Debian docker-registry (distribution 2.8) on a free loopback port, for the image-gate tests.

``start_registry(tmp)`` serves filesystem storage under ``tmp``; ``token_auth=TokenAuth(...)`` puts the registry
behind ``auth: token`` with a small loopback token server (:class:`TokenServer`) that checks Basic credentials and
signs registry JWTs (ES256) with a key whose self-signed certificate is the registry's ``rootcertbundle``. The
registry finds the signing key by its libtrust key id (``kid``), which is computed here exactly as libtrust does.

Use the pytest fixtures ``registry`` / ``auth_registry`` (tests/integration/images/conftest.py) or the context
managers directly. Every test gets its own port, storage and token key, so ``pytest -n`` workers share nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
SERVICE = "gitsecure-test-registry"
ISSUER = "gitsecure-test-token-issuer"


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the kernel picks it, so parallel workers do not collide)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalRegistry:
    """A running registry: ``host`` is ``127.0.0.1:PORT`` (use with ``allow_http=True``)."""

    host: str
    storage: Path
    log: Path

    def ref(self, repository: str, tag: str = "latest") -> str:
        """``host/repository:tag`` as text."""
        return f"{self.host}/{repository}:{tag}"


@dataclass
class TokenAuth:
    """Who may do what: ``users`` maps user -> password; ``grants`` maps user (``""`` = anonymous) -> repository
    name prefix -> allowed actions. A user or repository not granted gets a token without access (the registry
    then answers 401), wrong credentials get 401 from the token server itself."""

    users: dict[str, str] = field(default_factory=lambda: {"alice": "s3cret"})
    grants: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=lambda: {"alice": {"": ("pull", "push")}})
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # identity token -> user (docker's OAuth2 POST)
    requests: list[str] = field(default_factory=list)


def _libtrust_kid(key: ec.EllipticCurvePublicKey) -> str:
    """libtrust's key id: base32 of the first 30 bytes of sha256(DER SPKI), in colon-separated groups of four."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(text[i : i + 4] for i in range(0, len(text), 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class TokenServer:
    """A loopback token endpoint (``GET /token?service=&scope=``) that signs registry JWTs."""

    def __init__(self, auth: TokenAuth, directory: Path) -> None:
        self.auth = auth
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitsecure test token signer")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = directory / "token-root.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._kid = _libtrust_kid(self._key.public_key())
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = server.answer(self.path, self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, body = server.answer_refresh(self.rfile.read(length).decode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self._httpd.server_address[1]}/token"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer_refresh(self, form: str) -> tuple[int, bytes]:
        """OAuth2 ``grant_type=refresh_token``: the identity token names the user."""
        query = parse_qs(form)
        user = self.auth.refresh_tokens.get(query.get("refresh_token", [""])[0])
        if query.get("grant_type") != ["refresh_token"] or user is None:
            self.auth.requests.append("denied refresh token")
            return 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}'
        return self._grant(user, query)

    def answer(self, path: str, authorization: str | None) -> tuple[int, bytes]:
        """The token server's logic: authenticate, then grant the requested actions the user is allowed."""
        query = parse_qs(urlsplit(path).query)
        user = ""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            name, _, password = base64.b64decode(value).decode().partition(":") if scheme == "Basic" else ("", "", "")
            if self.auth.users.get(name) != password or not name:
                self.auth.requests.append(f"denied {name}")
                return 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}'
            user = name
        return self._grant(user, query)

    def _grant(self, user: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
        self.auth.requests.append(f"{user or 'anonymous'} {' '.join(query.get('scope', []))}")
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            repository, _, actions = rest.rpartition(":")
            allowed = {
                action
                for prefix, granted in self.auth.grants.get(user, {}).items()
                if repository.startswith(prefix)
                for action in granted
            }
            wanted = [a for a in actions.split(",") if a in allowed]
            if kind == "repository" and wanted:
                access.append({"type": "repository", "name": repository, "actions": wanted})
        token = self._sign({"access": access, "sub": user, "aud": query.get("service", [""])[0]})
        return 200, json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()

    def _sign(self, claims: dict[str, object]) -> str:
        now = int(time.time())
        full = {"iss": ISSUER, "iat": now, "nbf": now - 60, "exp": now + 300, "jti": os.urandom(8).hex(), **claims}
        header = {"typ": "JWT", "alg": "ES256", "kid": self._kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(full).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _config(storage: Path, port: int, token: TokenServer | None) -> str:
    text = (
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    if token is not None:
        text += (
            f"auth:\n  token:\n    realm: {token.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {token.cert_path}\n"
        )
    return text


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    # /v2/ answers 200 (open) or 401 (token auth) once the registry serves requests.
    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text(errors='replace')[-2000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/v2/")
            if conn.getresponse().status in (200, 401):
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.025)
    raise RuntimeError(f"docker-registry did not become ready: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def start_registry(directory: Path, *, token_auth: TokenAuth | None = None) -> Iterator[LocalRegistry]:
    """Run ``docker-registry serve`` with storage under ``directory``; stop it on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    storage = directory / "storage"
    log = directory / "registry.log"
    token = TokenServer(token_auth, directory) if token_auth is not None else None
    if token is not None:
        token.start()
    port = free_port()
    config = directory / "registry.yml"
    config.write_text(_config(storage, port, token))
    with log.open("wb") as sink:
        proc = subprocess.Popen([str(REGISTRY_BINARY), "serve", str(config)], stdout=sink, stderr=sink)
    try:
        _wait_ready(port, proc, log)
        yield LocalRegistry(host=f"127.0.0.1:{port}", storage=storage, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if token is not None:
            token.stop()


def docker_config(directory: Path, host: str, user: str, password: str, *, identity_token: str | None = None) -> Path:
    """Write a docker ``config.json`` with ``auths.<host>.auth`` for ``user`` (and an ``identitytoken``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    entry = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    if identity_token is not None:
        entry["identitytoken"] = identity_token
    path.write_text(json.dumps({"auths": {host: entry}}))
    return path
