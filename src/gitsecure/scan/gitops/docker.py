"""Registry credentials in Docker config: ``~/.docker/config.json``, ``.dockerconfigjson``, ``.dockercfg``."""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from dataclasses import dataclass

from gitsecure.scan.gitops.emit import Emitter
from gitsecure.scan.gitops.rules import DOCKERCONFIG_AUTH
from gitsecure.scan.gitops.tree import Mapping, Node, Scalar
from gitsecure.scan.gitops.values import is_literal, secret_text

_TOKEN_FIELDS = ("password", "identitytoken", "registrytoken")


@dataclass(frozen=True, slots=True)
class RegistryCredential:
    """One credential for one registry; ``key``/``node`` locate it in the document it came from."""

    registry: str
    field: str
    secret: str
    key: Scalar
    node: Scalar


def is_docker_config(root: Node) -> bool:
    """A Docker client config: a top-level ``auths`` mapping."""
    return isinstance(root, Mapping) and isinstance(root.get("auths"), Mapping)


def credentials(root: Node) -> Iterator[RegistryCredential]:
    """The credentials in a config (``{"auths": {...}}``) or a legacy ``.dockercfg`` (the registry map itself)."""
    if not isinstance(root, Mapping):
        return
    registries = root.get("auths")
    if not isinstance(registries, Mapping):
        registries = root
    for registry_key, entry in registries.items:
        if not isinstance(entry, Mapping):
            continue
        for field_key, value in entry.items:
            if not isinstance(value, Scalar) or value.text is None:
                continue
            name = field_key.value.lower()
            if name == "auth":
                secret = _auth_password(value.value)
            elif name in _TOKEN_FIELDS:
                secret = value.value.strip()
            else:
                continue
            if secret and is_literal(secret):
                yield RegistryCredential(registry_key.value, field_key.value, secret, field_key, value)


def _auth_password(auth: str) -> str:
    """The password in ``base64(user:password)``; the whole value when it is not that shape."""
    try:
        decoded = binascii.a2b_base64(auth.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        return auth.strip()
    _user, colon, password = decoded.partition(b":")
    if not colon:
        return auth.strip()
    return secret_text(password)


def analyze_config_file(root: Node, emit: Emitter) -> None:
    """Report each credential of a standalone Docker config file on its own line."""
    for cred in credentials(root):
        emit.report(
            DOCKERCONFIG_AUTH,
            cred.secret,
            at=cred.node,
            key=cred.key,
            what=f'registry "{cred.registry}" field "{cred.field}"',
            hint=DOCKERCONFIG_AUTH.hint,
            raw=cred.secret.encode("utf-8", "surrogatepass"),
        )
