"""Kubernetes manifests: plaintext ``Secret`` values, and the encrypted or referenced kinds that are never findings."""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from dataclasses import dataclass

from gitsecure.scan.gitops import docker
from gitsecure.scan.gitops.emit import Emitter
from gitsecure.scan.gitops.rules import (
    DOCKERCONFIG_AUTH,
    KUBERNETES_SECRET_DATA,
    KUBERNETES_SECRET_STRINGDATA,
    seal_hint,
)
from gitsecure.scan.gitops.tree import Mapping, Node, Scalar, Sequence
from gitsecure.scan.gitops.values import is_literal, is_public_material, names_identity, secret_text
from gitsecure.scan.rule import Rule

_DOCKER_TYPES = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}
# Kinds whose content is ciphertext or a pointer to a secret store: quiet from top to bottom.
_ENCRYPTED_OR_REFERENCE_GROUPS = ("external-secrets.io/", "isindir.github.com/", "bitnami.com/")
_REFERENCE_KINDS = {"ExternalSecret", "ClusterExternalSecret", "SecretStore", "ClusterSecretStore", "PushSecret"}
_MAX_LIST_NESTING = 4


def objects(root: Node) -> Iterator[Mapping]:
    """The Kubernetes objects in a document: itself, or the items of a ``kind: List`` (and ``*List``)."""
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, nesting = stack.pop()
        if not isinstance(node, Mapping):
            continue
        items = node.get("items")
        kind = node.text("kind") or ""
        if isinstance(items, Sequence) and kind.endswith("List") and nesting < _MAX_LIST_NESTING:
            stack.extend((item, nesting + 1) for item in reversed(items.items))
        elif kind:
            yield node


def analyze_object(obj: Mapping, emit: Emitter) -> None:
    """Check one object: report a plaintext Secret's values, quiet an encrypted or reference kind."""
    kind = obj.text("kind") or ""
    api = obj.text("apiVersion") or ""
    if kind == "Secret" and api in {"v1", ""}:
        _secret(obj, emit)
    elif api.startswith(_ENCRYPTED_OR_REFERENCE_GROUPS) or kind in _REFERENCE_KINDS or kind == "SopsSecret":
        # SealedSecret encryptedData/template, SOPS envelopes, secret-store references: never a finding.
        emit.hush_node(obj)


def _name(obj: Mapping) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return "(unnamed)"
    name = meta.text("name") or meta.text("generateName") or "(unnamed)"
    namespace = meta.text("namespace")
    return f"{namespace}/{name}" if namespace else name


@dataclass(frozen=True, slots=True)
class _SecretContext:
    """What every finding of one Secret shares."""

    name: str
    docker_key: str | None
    hint: str
    tags: tuple[str, ...]


def _secret(obj: Mapping, emit: Emitter) -> None:
    name = _name(obj)
    docker_type_key = _DOCKER_TYPES.get(obj.text("type") or "")
    ctx = _SecretContext(name, docker_type_key, seal_hint(emit.path), ("kubernetes-secret", name))
    for field, rule in (("data", KUBERNETES_SECRET_DATA), ("stringData", KUBERNETES_SECRET_STRINGDATA)):
        pair = obj.entry(field)
        if pair is None or not isinstance(pair[1], Mapping):
            continue
        # Every value here is judged by this check; the regex pass must not judge it again.
        emit.hush_node(pair[1], pair[0])
        for key, node in pair[1].items:
            if isinstance(node, Scalar) and node.text is not None and is_literal(node.value):
                _secret_value(rule, key, node, ctx, emit)


def _secret_value(rule: Rule, key: Scalar, node: Scalar, ctx: _SecretContext, emit: Emitter) -> None:
    if rule is KUBERNETES_SECRET_DATA:
        raw, note = _decode(node.value)
    else:
        raw, note = node.value.encode("utf-8", "surrogatepass"), ""
    raw = raw.strip()
    what = f'Secret {ctx.name} key "{key.value}"{note}'
    if not raw or is_public_material(raw) or names_identity(key.value):
        return
    is_docker = key.value == ctx.docker_key if ctx.docker_key else key.value in _DOCKER_TYPES.values()
    if is_docker and _docker_credentials(raw, key, node, what=what, ctx=ctx, emit=emit):
        return
    text = secret_text(raw)
    if is_literal(text):
        emit.report(rule, text, at=node, key=key, what=what, hint=ctx.hint, tags=ctx.tags, raw=raw)


def _decode(value: str) -> tuple[bytes, str]:
    """The bytes of a ``data`` value; a value that is not base64 is reported as written, with a note."""
    compact = "".join(value.split())
    try:
        return binascii.a2b_base64(compact.encode("ascii"), strict_mode=True), ""
    except (binascii.Error, UnicodeEncodeError):
        return value.encode("utf-8", "surrogatepass"), " (not valid base64, reported as written)"


def _docker_credentials(
    raw: bytes, key: Scalar, node: Scalar, *, what: str, ctx: _SecretContext, emit: Emitter
) -> bool:
    """Report the registry passwords inside a Secret's Docker config; ``False`` if it is not JSON."""
    # json loads only for the rare Secret holding a Docker config, not for every manifest.
    from gitsecure.scan.gitops.jsontree import parse_json  # noqa: PLC0415

    root = parse_json(raw)
    if root is None:
        return False
    for cred in docker.credentials(root):
        emit.report(
            DOCKERCONFIG_AUTH,
            cred.secret,
            at=node,
            key=key,
            what=f'{what}, registry "{cred.registry}" field "{cred.field}"',
            hint=ctx.hint,
            tags=ctx.tags,
            raw=cred.secret.encode("utf-8", "surrogatepass"),
        )
    return True
