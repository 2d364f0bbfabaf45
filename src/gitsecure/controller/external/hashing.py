"""ESO's object hashes, byte for byte (reference §3.5), so ESO and gitsecure can hand Secrets over.

ESO hashes ``fmt.Sprintf("%+v", x)`` with SHA3-224. Only three shapes are ever hashed: a map of byte slices
(the ``data-hash`` annotation), a string (the ``created-by`` label) and a struct of two string maps
(``syncedResourceVersion``). Go prints maps with sorted keys and byte slices as decimal lists. hashlib's
SHA3 is a digest, not a cryptographic key operation, so it does not belong in the crypto core.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def _digest(text: str) -> str:
    return hashlib.sha3_224(text.encode()).hexdigest()


def _go_string_map(values: Mapping[str, str]) -> str:
    return "map[" + " ".join(f"{key}:{values[key]}" for key in sorted(values)) + "]"


def object_hash_bytes_map(data: Mapping[str, bytes]) -> str:
    """The ``data-hash`` of a Secret's data: Go's ``%+v`` of ``map[string][]byte``."""
    body = " ".join(f"{key}:[{' '.join(str(b) for b in data[key])}]" for key in sorted(data))
    return _digest(f"map[{body}]")


def object_hash_str(value: str) -> str:
    """The hash of a string (``created-by`` hashes ``"<namespace>/<name>"``)."""
    return _digest(value)


def synced_resource_version(generation: int, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    """``status.syncedResourceVersion``: ``<generation>-`` and the hash of the metadata a force-sync changes."""
    shown = f"{{annotations:{_go_string_map(annotations)} labels:{_go_string_map(labels)}}}"
    return f"{generation}-{_digest(shown)}"
