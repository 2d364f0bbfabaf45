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
from dataclasses import dataclass
from pathlib import Path

from gitsecure.errors import InputError

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


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
