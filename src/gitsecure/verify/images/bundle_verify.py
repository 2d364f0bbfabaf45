"""Which authority, if any, signed one Sigstore bundle: keyless through sigstore-python, managed keys ourselves.

A certificate bundle is tried against every keyless authority (:mod:`bundle_keyless`); a public-key bundle against
every configured key (:mod:`gitsecure.crypto.sigstore_bundle`: signature, then each log entry's SET, inclusion
proof and body binding; an entry is required only with ``require_tlog``, but any entry present must verify).
A message signature must sign exactly the expected digest. Across candidates the furthest failure is reported.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from gitsecure.crypto.cosign import CosignPublicKey, load_public_key
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.rekor import TlogRejected
from gitsecure.crypto.sigstore_bundle import dsse_pae, verify_digest_signature, verify_key_entry
from gitsecure.crypto.sigstore_root import TrustedRoot
from gitsecure.errors import InputError
from gitsecure.verify.images.authority import Authority
from gitsecure.verify.images.bundle_format import ParsedBundle
from gitsecure.verify.images.bundle_keyless import check_keyless

_RANK = {
    "no-matching-authority": 0,
    "bad-signature": 1,
    "malformed-bundle": 1,
    "digest-mismatch": 2,
    "tlog-missing": 3,
    "malformed-tlog-entry": 3,
    "unsupported-tlog-entry": 3,
    "unknown-transparency-log": 4,
    "bad-tlog-entry": 4,
    "bad-inclusion-proof": 4,
    "bad-checkpoint": 4,
    "tlog-entry-mismatch": 4,
    "no-verified-time": 5,
    "certificate-not-valid-at-signing": 5,
    "untrusted-certificate": 5,
    "bad-sct": 5,
    "certificate-not-code-signing": 5,
    "identity-mismatch": 6,
    "issuer-mismatch": 7,
}


@dataclass(frozen=True)
class BundleOutcome:
    """What one bundle proved: ``payload`` is the verified DSSE payload (None for a message signature)."""

    ok: bool
    reason: str
    signer: str
    tlog: bool
    payload: bytes | None = None


def verify_bundle(
    bundle: ParsedBundle,
    authorities: Sequence[Authority],
    *,
    digest: bytes,
    artifact: bytes | None = None,
    require_tlog: bool,
    tlog_root: TrustedRoot,
) -> BundleOutcome:
    """Check ``bundle`` against ``authorities``; ``digest`` is the SHA-256 of the artifact (image manifest)."""
    if not authorities:
        raise InputError("no signing authority to verify against", reference="no-authority")
    if bundle.content == "message-signature" and bundle.message_digest != digest:
        return BundleOutcome(ok=False, reason="digest-mismatch", signer="", tlog=False)
    results: list[BundleOutcome] = []
    for authority in authorities:
        if not authority.keys and authority.keyless is None:
            raise InputError(
                f"authority {authority.name!r} has neither keys nor a keyless identity", reference="empty-authority"
            )
        if bundle.certificate_der is not None and authority.keyless is not None:
            reason, signer, payload = check_keyless(bundle, authority.keyless, digest=digest, artifact=artifact)
            results.append(BundleOutcome(ok=reason == "ok", reason=reason, signer=signer, tlog=True, payload=payload))
        if bundle.certificate_der is None:
            results.extend(
                _check_key(bundle, _cached_key(pem), digest=digest, require_tlog=require_tlog, root=tlog_root)
                for pem in authority.keys
            )
    accepted = [r for r in results if r.ok]
    if accepted:
        return accepted[0]
    if not results:
        return BundleOutcome(ok=False, reason="no-matching-authority", signer="", tlog=False)
    return max(results, key=lambda r: _RANK.get(r.reason, 0))


@functools.lru_cache(maxsize=256)
def _cached_key(pem: bytes) -> CosignPublicKey:
    return load_public_key(pem)


def _check_key(
    bundle: ParsedBundle, key: CosignPublicKey, *, digest: bytes, require_tlog: bool, root: TrustedRoot
) -> BundleOutcome:
    try:
        if bundle.content == "message-signature":
            verify_digest_signature(key, bundle.signature, digest)
        else:
            assert bundle.payload_type is not None and bundle.payload is not None
            key.verify(bundle.signature, dsse_pae(bundle.payload_type, bundle.payload))
    except BadSignature:
        return BundleOutcome(ok=False, reason="bad-signature", signer="", tlog=False)
    signer = key.fingerprint
    if not bundle.entries:
        if require_tlog:
            return BundleOutcome(ok=False, reason="tlog-missing", signer=signer, tlog=False)
        return BundleOutcome(ok=True, reason="ok", signer=signer, tlog=False, payload=bundle.payload)
    try:
        for entry in bundle.entries:
            verify_key_entry(
                root,
                entry,
                key,
                signature=bundle.signature,
                digest=digest if bundle.content == "message-signature" else None,
                dsse_payload=bundle.payload,
            )
    except TlogRejected as exc:
        return BundleOutcome(ok=False, reason=exc.reference, signer=signer, tlog=False)
    return BundleOutcome(ok=True, reason="ok", signer=signer, tlog=True, payload=bundle.payload)
