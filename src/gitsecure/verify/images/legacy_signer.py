"""Does one legacy cosign signature layer come from an authority? Keys, keyless certificates, Rekor SETs.

Per authority the checks run in cosign's order: the signature over the exact payload bytes; for keyless, a
Rekor bundle is mandatory and its SET, its ``hashedrekord`` body (same payload, signature and certificate), the
certificate chain/codeSigning/SCT at ``integratedTime`` and finally identity and issuer. For keys the bundle is
checked whenever present and required only when asked (``require_tlog``). Each failure is a kebab-case reason;
across authorities the one that got furthest is reported.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from gitsecure.crypto.cosign import CosignPublicKey, load_public_key
from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.fulcio import CertificateRejected, parse_certificate, verify_signing_certificate
from gitsecure.crypto.rekor import TlogRejected, check_hashedrekord, parse_cosign_bundle, verify_set
from gitsecure.crypto.sigstore_root import TrustedRoot, load_trusted_root
from gitsecure.errors import InputError
from gitsecure.verify.images.authority import Authority, KeylessAuthority

# How far a candidate got before failing: the furthest failure explains a rejection best.
_RANK = {
    "bad-signature": 0,
    "no-certificate": 0,
    "malformed-certificate": 1,
    "tlog-missing": 2,
    "malformed-tlog-entry": 2,
    "unknown-transparency-log": 3,
    "bad-tlog-entry": 3,
    "unsupported-tlog-entry": 3,
    "tlog-entry-mismatch": 3,
    "certificate-not-valid-at-signing": 4,
    "untrusted-certificate": 4,
    "certificate-not-code-signing": 4,
    "sct-missing": 4,
    "bad-sct": 4,
    "identity-mismatch": 5,
    "issuer-mismatch": 6,
}


@dataclass(frozen=True)
class LayerMaterial:
    """What one signature layer offers: payload bytes, raw signature, optional certificate PEM and Rekor bundle."""

    payload: bytes
    signature: bytes
    certificate_pem: bytes | None
    bundle_json: str | None


@dataclass(frozen=True)
class SignerResult:
    """One authority's verdict on one layer."""

    ok: bool
    reason: str
    signer: str
    tlog: bool


def best_result(results: list[SignerResult]) -> SignerResult:
    """The accepting result if any, else the rejection that got furthest."""
    accepted = [r for r in results if r.ok]
    if accepted:
        return accepted[0]
    return max(results, key=lambda r: _RANK.get(r.reason, 0))


def check_authority(
    material: LayerMaterial, authority: Authority, *, require_tlog: bool, tlog_root: TrustedRoot
) -> list[SignerResult]:
    """Results of every key and the keyless identity of ``authority`` against ``material``."""
    results = [_check_key(material, key, require_tlog=require_tlog, root=tlog_root) for key in _keys(authority.keys)]
    if authority.keyless is not None:
        results.append(_check_keyless(material, authority.keyless))
    if not results:
        raise InputError(
            f"authority {authority.name!r} has neither keys nor a keyless identity", reference="empty-authority"
        )
    return results


@functools.lru_cache(maxsize=32)
def trusted_root(data: bytes) -> TrustedRoot:
    """Parsed trust material, cached by content."""
    return load_trusted_root(data)


@functools.lru_cache(maxsize=256)
def _key(pem: bytes) -> CosignPublicKey:
    return load_public_key(pem)


def _keys(pems: tuple[bytes, ...]) -> list[CosignPublicKey]:
    return [_key(pem) for pem in pems]


def _check_key(material: LayerMaterial, key: CosignPublicKey, *, require_tlog: bool, root: TrustedRoot) -> SignerResult:
    try:
        key.verify(material.signature, material.payload)
    except BadSignature:
        return SignerResult(ok=False, reason="bad-signature", signer="", tlog=False)
    signer = key.fingerprint
    if material.bundle_json is None:
        if require_tlog:
            return SignerResult(ok=False, reason="tlog-missing", signer=signer, tlog=False)
        return SignerResult(ok=True, reason="ok", signer=signer, tlog=False)
    try:
        bundle = parse_cosign_bundle(material.bundle_json)
        verify_set(root, bundle)
        check_hashedrekord(bundle.body, payload=material.payload, signature=material.signature, public_key=key)
    except TlogRejected as exc:
        return SignerResult(ok=False, reason=exc.reference, signer=signer, tlog=False)
    return SignerResult(ok=True, reason="ok", signer=signer, tlog=True)


def _check_keyless(material: LayerMaterial, keyless: KeylessAuthority) -> SignerResult:
    if material.certificate_pem is None:
        return SignerResult(ok=False, reason="no-certificate", signer="", tlog=False)
    try:
        cert = parse_certificate(material.certificate_pem)
    except InputError:
        return SignerResult(ok=False, reason="malformed-certificate", signer="", tlog=False)
    identity = cert.identities[0] if cert.identities else ""
    signer = f"{identity} ({cert.issuer or 'no issuer'})"
    try:
        cert.public_key.verify(material.signature, material.payload)
    except BadSignature:
        return SignerResult(ok=False, reason="bad-signature", signer="", tlog=False)
    if material.bundle_json is None:
        # A Fulcio certificate lives minutes: without a logged time there is nothing to judge it at.
        return SignerResult(ok=False, reason="tlog-missing", signer=signer, tlog=False)
    root = trusted_root(keyless.trusted_root_json)
    try:
        bundle = parse_cosign_bundle(material.bundle_json)
        verify_set(root, bundle)
        check_hashedrekord(
            bundle.body, payload=material.payload, signature=material.signature, certificate_der=cert.der
        )
        verify_signing_certificate(cert, root, at=bundle.integrated_at)
    except (TlogRejected, CertificateRejected) as exc:
        return SignerResult(ok=False, reason=exc.reference, signer=signer, tlog=False)
    matched = [i for i in cert.identities if _matches(i, keyless.identity, keyless.identity_regexp)]
    if not matched:
        return SignerResult(ok=False, reason="identity-mismatch", signer=signer, tlog=True)
    if cert.issuer is None or not _matches(cert.issuer, keyless.issuer, keyless.issuer_regexp):
        return SignerResult(ok=False, reason="issuer-mismatch", signer=signer, tlog=True)
    return SignerResult(ok=True, reason="ok", signer=f"{matched[0]} ({cert.issuer})", tlog=True)


def _matches(value: str, exact: str | None, regexp: str | None) -> bool:
    if exact is not None:
        return value == exact
    if regexp is not None:
        return re.fullmatch(regexp, value) is not None
    # An authority that names neither would trust any identity: refuse rather than match everything.
    raise InputError(
        "a keyless authority needs an identity and an issuer (exact or regexp)", reference="invalid-keyless-identity"
    )
