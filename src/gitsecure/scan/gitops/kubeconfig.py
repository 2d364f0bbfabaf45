"""Credentials embedded in a kubeconfig (``kind: Config`` with ``users``)."""

from __future__ import annotations

import binascii

from gitsecure.scan.gitops.emit import Emitter
from gitsecure.scan.gitops.rules import KUBECONFIG_CLIENT_KEY, KUBECONFIG_TOKEN
from gitsecure.scan.gitops.tree import Mapping, Node, Scalar, Sequence
from gitsecure.scan.gitops.values import is_literal, secret_text

# client-key (a file path), tokenFile, exec and the like point elsewhere: not findings.
_TOKEN_FIELDS = ("token", "password")
_AUTH_PROVIDER_FIELDS = ("id-token", "refresh-token", "client-secret", "access-token")


def is_kubeconfig(root: Node) -> bool:
    """``kind: Config`` with a ``users`` list, or a kind-less document with ``users`` and ``clusters``."""
    if not isinstance(root, Mapping) or not isinstance(root.get("users"), Sequence):
        return False
    kind = root.text("kind")
    return kind == "Config" or (kind is None and root.get("clusters") is not None)


def analyze(root: Mapping, emit: Emitter) -> None:
    """Report each user's embedded client key, token, password and auth-provider secrets."""
    users = root.get("users")
    if not isinstance(users, Sequence):
        return
    for entry in users.items:
        if not isinstance(entry, Mapping):
            continue
        user = entry.get("user")
        if not isinstance(user, Mapping):
            continue
        who = f'kubeconfig user "{entry.text("name") or "(unnamed)"}"'
        pair = user.entry("client-key-data")
        if pair is not None:
            _client_key(pair[0], pair[1], who, emit)
        for field in _TOKEN_FIELDS:
            _literal(user.entry(field), f'{who} field "{field}"', emit)
        provider = user.get("auth-provider")
        config = provider.get("config") if isinstance(provider, Mapping) else None
        if isinstance(config, Mapping):
            for field in _AUTH_PROVIDER_FIELDS:
                _literal(config.entry(field), f'{who} auth-provider "{field}"', emit)


def _client_key(key: Scalar, node: Node, who: str, emit: Emitter) -> None:
    if not isinstance(node, Scalar) or node.text is None or not is_literal(node.value):
        return
    try:
        pem = binascii.a2b_base64("".join(node.value.split()).encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        pem = node.value.encode("utf-8", "surrogatepass")
    if pem.strip():
        emit.report(
            KUBECONFIG_CLIENT_KEY,
            secret_text(pem),
            at=node,
            key=key,
            what=f'{who} field "client-key-data"',
            hint=KUBECONFIG_CLIENT_KEY.hint,
        )


def _literal(pair: tuple[Scalar, Node] | None, what: str, emit: Emitter) -> None:
    if pair is None:
        return
    key, node = pair
    if isinstance(node, Scalar) and node.text is not None and is_literal(node.value):
        secret = node.value.strip()
        emit.report(
            KUBECONFIG_TOKEN,
            secret,
            at=node,
            key=key,
            what=what,
            hint=KUBECONFIG_TOKEN.hint,
            raw=secret.encode("utf-8", "surrogatepass"),
        )
