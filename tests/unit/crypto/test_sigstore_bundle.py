"""Managed-key bundle checks (our own code: sigstore-python cannot verify public-key bundles) against the
sigstore-conformance managed-key bundle, each tampering rejected for its own reason."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitsecure.crypto.cosign import load_public_key
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.merkle import root_from_proof
from gitsecure.crypto.rekor import TlogRejected
from gitsecure.crypto.sigstore_bundle import dsse_pae, parse_tlog_entry, verify_digest_signature, verify_key_entry
from gitsecure.crypto.sigstore_root import load_trusted_root

CASES = Path(__file__).parents[2] / "fixtures" / "sigstore" / "conformance"
CASE = CASES / "managed-key-happy-path"
ROOT = load_trusted_root((CASES.parent / "sigstore_python" / "production_trusted_root.json").read_bytes())
KEY = load_public_key((CASE / "key.pub").read_bytes())
DIGEST = hashlib.sha256((CASES / "a.txt").read_bytes()).digest()


def _bundle() -> dict[str, Any]:
    return dict(json.loads((CASE / "bundle.sigstore.json").read_bytes()))


def _check(edit: Callable[[dict[str, Any]], None] = lambda e: None, *, digest: bytes = DIGEST) -> None:
    doc = _bundle()
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    edit(entry)
    signature = base64.b64decode(doc["messageSignature"]["signature"])
    verify_digest_signature(KEY, signature, digest)
    verify_key_entry(ROOT, parse_tlog_entry(entry), KEY, signature=signature, digest=digest)


def test_happy_path() -> None:
    _check()


def _flip_b64(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda e: e["inclusionProof"]["hashes"].__setitem__(0, _flip_b64(e["inclusionProof"]["hashes"][0])),
            "bad-inclusion-proof",
        ),
        (
            lambda e: e["inclusionProof"].update(
                checkpoint={
                    "envelope": e["inclusionProof"]["checkpoint"]["envelope"].replace(
                        "\u2014 rekor.sigstore.dev wNI9", "\u2014 rekor.sigstore.dev wNI8"
                    )
                }
            ),
            "bad-checkpoint",
        ),
        (
            lambda e: e["inclusionPromise"].update(
                signedEntryTimestamp=_flip_b64(e["inclusionPromise"]["signedEntryTimestamp"])
            ),
            "bad-tlog-entry",
        ),
        (lambda e: e.update(logId={"keyId": base64.b64encode(b"\0" * 32).decode()}), "unknown-transparency-log"),
        (lambda e: e.update(kindVersion={"kind": "intoto", "version": "0.0.2"}), "unsupported-tlog-entry"),
        (lambda e: e.pop("inclusionPromise") and e.pop("inclusionProof"), "tlog-missing"),
        (lambda e: e.update(logIndex="-1"), "malformed-tlog-entry"),
    ],
)
def test_tampered_entry(edit: Callable[[dict[str, Any]], None], reason: str) -> None:
    with pytest.raises(TlogRejected) as exc:
        _check(edit)
    assert exc.value.reference == reason


def test_entry_for_another_artifact() -> None:
    doc = _bundle()
    entry = parse_tlog_entry(doc["verificationMaterial"]["tlogEntries"][0])
    signature = base64.b64decode(doc["messageSignature"]["signature"])
    with pytest.raises(TlogRejected) as exc:
        verify_key_entry(ROOT, entry, KEY, signature=signature, digest=b"\0" * 32)
    assert exc.value.reference == "tlog-entry-mismatch"


def test_signature_over_other_digest() -> None:
    signature = base64.b64decode(_bundle()["messageSignature"]["signature"])
    with pytest.raises(BadSignature):
        verify_digest_signature(KEY, signature, b"\0" * 32)


def test_merkle_path_shape() -> None:
    leaf = hashlib.sha256(b"\0x").digest()
    assert root_from_proof(leaf, 0, 1, []) == leaf
    with pytest.raises(TlogRejected):
        root_from_proof(leaf, 1, 1, [])
    with pytest.raises(TlogRejected):
        root_from_proof(leaf, 0, 2, [])


def test_dsse_pae() -> None:
    assert dsse_pae("t", b"ab") == b"DSSEv1 1 t 2 ab"
