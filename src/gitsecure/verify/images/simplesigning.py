"""cosign's simple-signing payload: built byte-for-byte as cosign writes it, parsed strictly.

cosign (sigstore/sigstore ``payload.Cosign.MarshalJSON``) marshals with Go's ``encoding/json``: struct field order
``critical`` {``identity`` {``docker-reference``}, ``image`` {``docker-manifest-digest``}, ``type``}, ``optional``
(``null`` without annotations, else a map with sorted keys), no whitespace, and Go's HTML-safe string escaping.
``docker-reference`` is the repository name (``index.docker.io/library/nginx`` for Docker Hub, no tag).

Parsing rejects what cosign would accept loosely: Go matches field names case-insensitively and ignores unknown
fields; here the keys must be exactly cosign's, duplicates are refused and the digest must be ``sha256:<64 hex>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitsecure.errors import EXIT_FINDINGS, GitsecureError

MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_TYPE = "cosign container image signature"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Go's encoding/json escapes: the JSON mandatory ones plus <, >, & and the two JS line separators.
_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_GO_UNICODE = {"<", ">", "&", "\u2028", "\u2029"}


class PayloadRejected(GitsecureError):
    """A simple-signing payload is malformed or not a cosign image signature; ``reference`` says which."""

    exit_code = EXIT_FINDINGS

    def __init__(self, reference: str, message: str) -> None:
        super().__init__(message, reference=reference)


@dataclass(frozen=True)
class SimpleSigning:
    """What a payload claims: the image digest it signs, the signer's claimed reference, ``-a`` annotations."""

    docker_reference: str
    digest: str
    annotations: Mapping[str, str] = field(default_factory=dict)


def go_json_string(text: str) -> str:
    """``text`` as Go's ``encoding/json`` writes a string (HTML-safe escaping, UTF-8 kept)."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch < " " or ch in _GO_UNICODE:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def build_payload(docker_reference: str, digest: str, annotations: Mapping[str, str] | None = None) -> bytes:
    """The payload bytes ``cosign sign`` produces for ``docker_reference`` at ``digest`` with ``-a`` annotations."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    s = go_json_string
    if annotations:
        optional = "{" + ",".join(f"{s(k)}:{s(annotations[k])}" for k in sorted(annotations)) + "}"
    else:
        optional = "null"
    text = (
        f'{{"critical":{{"identity":{{"docker-reference":{s(docker_reference)}}},'
        f'"image":{{"docker-manifest-digest":{s(digest)}}},"type":{s(SIGNATURE_TYPE)}}},"optional":{optional}}}'
    )
    return text.encode()


def parse_payload(data: bytes) -> SimpleSigning:
    """Parse and check a payload; raise :class:`PayloadRejected` (``malformed-payload``, ``wrong-payload-type``)."""
    try:
        doc = json.loads(data, object_pairs_hook=_no_duplicates)
        _keys(doc, {"critical"}, {"optional"})
        critical = doc["critical"]
        _keys(critical, {"identity", "image", "type"})
        if critical["type"] != SIGNATURE_TYPE:
            raise PayloadRejected("wrong-payload-type", "the payload is not a cosign container image signature")
        _keys(critical["identity"], {"docker-reference"})
        _keys(critical["image"], {"docker-manifest-digest"})
        reference = critical["identity"]["docker-reference"]
        digest = critical["image"]["docker-manifest-digest"]
        if not isinstance(reference, str) or not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ValueError("bad critical fields")
        annotations = _annotations(doc.get("optional"))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise PayloadRejected(
            "malformed-payload", "the signature payload is not a valid simple-signing payload"
        ) from None
    return SimpleSigning(docker_reference=reference, digest=digest, annotations=annotations)


def _annotations(optional: object) -> dict[str, str]:
    if optional is None:
        return {}
    if not isinstance(optional, dict):
        raise TypeError("optional is not an object")
    # cosign writes strings (-a k=v); other JSON values (allowed by the spec) are exposed in compact JSON.
    return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in optional.items()}


def _keys(obj: object, required: set[str], optional: set[str] | None = None) -> None:
    if not isinstance(obj, dict):
        raise TypeError("expected an object")
    keys = set(obj)
    if not required <= keys or keys - required - (optional or set()):
        raise ValueError("unexpected keys")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result
