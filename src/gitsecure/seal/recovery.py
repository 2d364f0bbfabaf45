"""Controller key backups: loading private keys (and their certificates) from files.

A file may hold PEM private keys (PKCS#1 or PKCS#8, several allowed), a
``v1/List`` of key Secrets (``kubectl get secret -l
sealedsecrets.bitnami.com/sealed-secrets-key -o yaml``), or a stream of key
Secrets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gitsecure.crypto.keys import Certificate, PrivateKey, certificate_for, load_certificates, load_private_key
from gitsecure.errors import InputError
from gitsecure.seal.manifest import decode_base64, decode_text, describe, load_objects, string_map

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z ]{0,32})PRIVATE KEY-----")
_MANIFEST_START = (b"apiVersion", b"kind", b"{", b"items", b"---", b"metadata", b"data")


@dataclass(frozen=True)
class KeyMaterial:
    """One private key and, when the source had one, its certificate."""

    private_key: PrivateKey
    certificate: Certificate | None


def load_key_material(raw: bytes, *, source: str) -> list[KeyMaterial]:
    """Every key in one file's bytes; ``source`` names the file in errors."""
    blocks = _pem_key_blocks(raw)
    if blocks and (raw.lstrip().startswith(b"-----BEGIN") or not raw.lstrip().startswith(_MANIFEST_START)):
        certs = load_certificates(raw)
        keys = [_load_pem(block, source) for block in blocks]
        return [KeyMaterial(key, certificate_for(key, certs)) for key in keys]
    return _from_secrets(raw, source)


def _pem_key_blocks(raw: bytes) -> list[bytes]:
    """Every ``-----BEGIN ... PRIVATE KEY-----`` block, in linear time even on hostile input."""
    blocks: list[bytes] = []
    unterminated: set[bytes] = set()
    pos = 0
    while match := _PEM_BEGIN.search(raw, pos):
        label = match.group(1)
        pos = match.end()
        if label in unterminated:  # no END for this label further on: do not rescan the rest
            continue
        end_marker = b"-----END " + label + b"PRIVATE KEY-----"
        end = raw.find(end_marker, pos)
        if end < 0:
            unterminated.add(label)
            continue
        blocks.append(raw[match.start() : end + len(end_marker)])
        pos = end + len(end_marker)
    return blocks


def load_recovery_keys(paths: list[str]) -> list[PrivateKey]:
    """Every private key in ``paths`` (``--recovery-private-key``)."""
    keys: list[PrivateKey] = []
    for path in paths:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read private key {path}: {exc.strerror}", reference="bad-private-key") from None
        keys.extend(material.private_key for material in load_key_material(raw, source=path))
    return keys


def _load_pem(block: bytes, source: str) -> PrivateKey:
    try:
        return load_private_key(block)
    except InputError as exc:
        raise InputError(f"{source}: {exc.message}", reference=exc.reference) from None


def _from_secrets(raw: bytes, source: str) -> list[KeyMaterial]:
    try:
        objects = load_objects(decode_text(raw))
    except InputError as exc:
        raise InputError(
            f"{source} holds neither a PEM private key nor key Secrets ({exc.message})", reference="bad-private-key"
        ) from None
    secrets: list[dict[str, object]] = []
    for obj in objects:
        if obj.get("kind") == "List" or "items" in obj:
            items = obj.get("items") or []
            if not isinstance(items, list):
                raise InputError(f"{source}: 'items' of a List must be a list", reference="bad-private-key")
            secrets.extend(item for item in items if isinstance(item, dict))
        else:
            secrets.append(obj)
    if not secrets:
        raise InputError(f"{source} holds no private key", reference="bad-private-key")
    material = []
    for secret in secrets:
        where = f"secret {describe(secret)} in {source}"
        data = string_map(secret, "data", where=where)
        if "tls.key" not in data:
            raise InputError(f"{where} must contain a 'tls.key' key", reference="bad-private-key")
        key = _load_pem(decode_base64(data["tls.key"], what=f"tls.key of {where}"), source)
        certs = (
            load_certificates(decode_base64(data["tls.crt"], what=f"tls.crt of {where}")) if "tls.crt" in data else []
        )
        material.append(KeyMaterial(key, certificate_for(key, certs)))
    return material
