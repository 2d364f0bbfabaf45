"""Literal credentials in Helm values files (``values.yaml``, ``values-prod.yaml``, ``values/*.yaml``)."""

from __future__ import annotations

import re

from gitsecure.scan.gitops.emit import Emitter
from gitsecure.scan.gitops.rules import HELM_VALUES_PASSWORD
from gitsecure.scan.gitops.tree import Mapping, Node, Scalar, walk
from gitsecure.scan.gitops.values import is_literal, names_secret

# A sentence, not a credential: "set this to the admin password".
_PROSE = re.compile(r"^[A-Za-z,.'()]+(?: [A-Za-z,.'()]+){2,}$")


def analyze(root: Node, emit: Emitter) -> None:
    """Report literal values under credential-named keys, and ``{name: DB_PASSWORD, value: ...}`` env entries."""
    for path, key, node in walk(root):
        if isinstance(node, Mapping):
            _env_entry(path, node, emit)
        elif isinstance(node, Scalar) and key is not None and names_secret(key.value):
            _check(node, key, ".".join(path), emit)


def _env_entry(path: tuple[str, ...], node: Mapping, emit: Emitter) -> None:
    name = node.text("name")
    pair = node.entry("value")
    if name and pair is not None and isinstance(pair[1], Scalar) and names_secret(name):
        _check(pair[1], pair[0], f"{'.'.join(path)}.value ({name})" if path else f"value ({name})", emit)


def _check(node: Scalar, key: Scalar, where: str, emit: Emitter) -> None:
    value = node.text
    if value is None or not is_literal(value):
        return
    secret = value.strip()
    if _PROSE.match(secret) or secret.startswith(("/", "./", "~/")):
        return
    emit.report(
        HELM_VALUES_PASSWORD,
        secret,
        at=node,
        key=key,
        what=f'Helm value "{where}"',
        hint=HELM_VALUES_PASSWORD.hint,
        raw=secret.encode("utf-8", "surrogatepass"),
    )
