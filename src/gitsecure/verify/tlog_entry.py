"""Decode the Rekor ``TransparencyLogEntry`` protobuf that gitsign embeds in offline-mode signatures.

gitsign stores ``dev.sigstore.rekor.v1.TransparencyLogEntry`` (protobuf-specs) in the CMS unsigned
attribute ``1.3.6.1.4.1.57264.3.1``. sigstore-python 4.x reads bundles only as JSON, so this module
decodes the binary wire format and returns the entry in proto3 JSON form, ready for a bundle's
``verificationMaterial.tlogEntries``. The decoder is deliberately strict: only the fields the
message defines, each non-repeated field at most once, no groups. Anything else is rejected,
because the bytes come from an untrusted commit.
"""

from __future__ import annotations

import base64
from typing import Any

from gitsecure.errors import InputError

_VARINT, _LEN = 0, 2

# Field schemas: number -> (json name, kind). Kinds: "int" (int64 varint, JSON string), "bytes"
# (base64 in JSON), "str", "bytes*" (repeated bytes) or a nested schema.
_Schema = dict[int, tuple[str, Any]]
_CHECKPOINT: _Schema = {1: ("envelope", "str")}
_INCLUSION_PROOF: _Schema = {
    1: ("logIndex", "int"),
    2: ("rootHash", "bytes"),
    3: ("treeSize", "int"),
    4: ("hashes", "bytes*"),
    5: ("checkpoint", _CHECKPOINT),
}
_ENTRY: _Schema = {
    1: ("logIndex", "int"),
    2: ("logId", {1: ("keyId", "bytes")}),
    3: ("kindVersion", {1: ("kind", "str"), 2: ("version", "str")}),
    4: ("integratedTime", "int"),
    5: ("inclusionPromise", {1: ("signedEntryTimestamp", "bytes")}),
    6: ("inclusionProof", _INCLUSION_PROOF),
    7: ("canonicalizedBody", "bytes"),
}
_MAX_DEPTH = 4


class MalformedEntry(InputError):
    """The embedded transparency-log entry is not a well-formed ``TransparencyLogEntry``."""

    reference = "malformed-tlog-entry"


def decode_entry(data: bytes) -> dict[str, Any]:
    """Return the proto3 JSON form of a binary ``TransparencyLogEntry``; raise :class:`MalformedEntry`."""
    return _decode(data, _ENTRY, 0)


def _decode(data: bytes, schema: _Schema, depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise MalformedEntry("transparency log entry nests too deeply")
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number not in schema:
            raise MalformedEntry(f"transparency log entry has unknown field {number}")
        name, kind = schema[number]
        if kind == "int":
            if wire != _VARINT:
                raise MalformedEntry(f"transparency log entry field {name} has the wrong wire type")
            value, pos = _varint(data, pos)
            if value >= 1 << 63:
                raise MalformedEntry(f"transparency log entry field {name} is negative")
            _set(out, name, str(value))
            continue
        if wire != _LEN:
            raise MalformedEntry(f"transparency log entry field {name} has the wrong wire type")
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise MalformedEntry("transparency log entry is truncated")
        chunk, pos = data[pos : pos + length], pos + length
        if kind == "bytes*":
            out.setdefault(name, []).append(base64.b64encode(chunk).decode("ascii"))
        elif kind == "bytes":
            _set(out, name, base64.b64encode(chunk).decode("ascii"))
        elif kind == "str":
            try:
                _set(out, name, chunk.decode("utf-8"))
            except UnicodeDecodeError:
                raise MalformedEntry(f"transparency log entry field {name} is not UTF-8") from None
        else:
            _set(out, name, _decode(chunk, kind, depth + 1))
    # Proto3 leaves zero values off the wire, but sigstore's bundle model requires e.g. inclusionProof.logIndex
    # and hashes to be present: fill in the defaults the sender omitted.
    for name, kind in schema.values():
        if kind == "int":
            out.setdefault(name, "0")
        elif kind == "bytes*":
            out.setdefault(name, [])
    return out


def _set(out: dict[str, Any], name: str, value: Any) -> None:
    # Protobuf lets a later duplicate silently win; for signed evidence that is an ambiguity, so refuse it.
    if name in out:
        raise MalformedEntry(f"transparency log entry repeats field {name}")
    out[name] = value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise MalformedEntry("transparency log entry has a malformed varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
