"""Registry credentials and token exchange, as docker does it.

Credentials come from docker's ``config.json`` (``auths.<host>.auth``, ``username``/``password`` or
``identitytoken``). A ``401`` with a ``Bearer`` challenge is answered by asking the realm for a token scoped to
the repository; a ``Basic`` challenge by sending the credentials directly. Credential helpers (``credsStore``,
``credHelpers``) run external programs and are not supported: a registry that needs one gets a clear error.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitsecure.errors import InputError
from gitsecure.verify.images.registry_http import RegistryError, Transport

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_MAX_TOKEN_ANSWER = 64 * 1024


@dataclass(frozen=True)
class Credentials:
    """What docker's config holds for one registry host; never printed."""

    username: str | None = None
    password: str | None = None
    identity_token: str | None = None

    def basic(self) -> str | None:
        """The ``Authorization`` value for Basic auth, or None without a username and password."""
        if self.username is None or self.password is None:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass(frozen=True)
class DockerConfig:
    """The parts of docker's ``config.json`` a registry client uses."""

    auths: dict[str, Credentials]
    helpers: dict[str, str]

    def credentials(self, host: str) -> Credentials | None:
        """The credentials stored for ``host`` (docker's Hub key spellings included)."""
        for key in _keys_for(host):
            if key in self.auths:
                return self.auths[key]
        return None

    def helper(self, host: str) -> str | None:
        """The credential helper docker would run for ``host``, if any."""
        for key in _keys_for(host):
            if key in self.helpers:
                return self.helpers[key]
        return self.helpers.get("*")


def _keys_for(host: str) -> tuple[str, ...]:
    if host in {"index.docker.io", "registry-1.docker.io", "docker.io"}:
        return ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
    return (host, f"https://{host}", f"http://{host}")


def default_docker_config() -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def load_docker_config(path: Path | None) -> DockerConfig:
    """Read docker's config; a missing file means no credentials, a malformed one is an error."""
    path = path or default_docker_config()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return DockerConfig({}, {})
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", reference="invalid-docker-config") from None
    try:
        doc = json.loads(raw)
        auths: dict[str, Credentials] = {}
        for host, entry in (doc.get("auths") or {}).items():
            auths[host] = _credentials(entry)
        helpers = {host: str(name) for host, name in (doc.get("credHelpers") or {}).items()}
        if doc.get("credsStore"):
            helpers.setdefault("*", str(doc["credsStore"]))
    except (ValueError, AttributeError, TypeError):
        raise InputError(f"{path} is not a valid docker config.json", reference="invalid-docker-config") from None
    return DockerConfig(auths, helpers)


def _credentials(entry: dict[str, object]) -> Credentials:
    if entry.get("auth"):
        user, sep, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
        if not sep:
            raise ValueError("auth without a colon")
        return Credentials(user, password, _opt(entry.get("identitytoken")))
    return Credentials(_opt(entry.get("username")), _opt(entry.get("password")), _opt(entry.get("identitytoken")))


def _opt(value: object) -> str | None:
    return str(value) if value else None


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """``Bearer realm="...",service="...",scope="..."`` -> Challenge; None when absent or unparseable."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return Challenge(scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest)))


class Authenticator:
    """Answers ``401`` challenges and caches the resulting ``Authorization`` values per (host, scope)."""

    def __init__(self, config: DockerConfig, transport: Transport) -> None:
        self._config = config
        self._transport = transport
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def cached(self, host: str, scope: str) -> str | None:
        """The ``Authorization`` value obtained earlier for ``host`` and ``scope``, if any."""
        with self._lock:
            return self._tokens.get((host, scope))

    def authorize(self, *, what: str, registry: str, host: str, scope: str, header: str | None) -> str:
        """The ``Authorization`` value answering the challenge in ``header`` (``WWW-Authenticate``)."""
        creds = self._config.credentials(registry) or self._config.credentials(host)
        helper = self._config.helper(registry)
        if creds is None and helper:
            raise RegistryError(
                f"{host} needs credentials from the docker credential helper {helper!r}, which gitsecure does not "
                "run; put them in config.json auths",
                reference="registry-denied",
            )
        challenge = parse_challenge(header)
        if challenge is None:
            raise RegistryError(f"{what}: {host} refused access without a challenge", reference="registry-denied")
        if challenge.scheme == "basic":
            basic = creds.basic() if creds else None
            if basic is None:
                raise RegistryError(f"{what}: {host} needs credentials", reference="registry-denied")
            token = basic
        elif challenge.scheme == "bearer":
            token = "Bearer " + self._bearer(what, challenge.params, scope, creds)
        else:
            raise RegistryError(f"{what}: unsupported auth scheme {challenge.scheme!r}", reference="registry-denied")
        with self._lock:
            self._tokens[(host, scope)] = token
        return token

    def _bearer(self, what: str, params: Mapping[str, str], scope: str, creds: Credentials | None) -> str:
        realm = params.get("realm") or ""
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{what}: the registry sent no usable token realm", reference="registry-denied")
        # Ask for what this client needs (push included when pushing) and for what the challenge names, so one
        # token serves the whole operation.
        query = [("scope", scope)]
        if params.get("scope") and params["scope"] != scope:
            query.append(("scope", params["scope"]))
        if params.get("service"):
            query.append(("service", params["service"]))
        headers = {"User-Agent": "gitsecure"}
        if creds is not None and creds.identity_token:
            # docker's OAuth2 path: the identity token is a refresh token, exchanged by POST.
            form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", creds.identity_token),
                ("client_id", "gitsecure"),
            ]
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form + query).encode()
            response = self._transport.send("POST", realm, headers, body, _MAX_TOKEN_ANSWER, what=what)
        else:
            basic = creds.basic() if creds is not None else None
            if basic:
                headers["Authorization"] = basic
            url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
            response = self._transport.send("GET", url, headers, None, _MAX_TOKEN_ANSWER, what=what)
        if response.status != 200:
            raise RegistryError(
                f"{what}: the token service refused access (HTTP {response.status})", reference="registry-denied"
            )
        try:
            doc: Any = json.loads(response.body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{what}: the token service answered without a token", reference="registry-denied")
        return token
