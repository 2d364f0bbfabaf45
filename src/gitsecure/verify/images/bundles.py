"""Sigstore bundles stored as OCI 1.1 referrers of an image (cosign v3's default layout), verified offline.

Discovery goes through :meth:`RegistryClient.referrers` (the referrers API, or the ``sha256-<hex>`` referrers tag
index on registries without it). Referrers of other artifact types (SBOMs, other signers) are not candidates; one
whose artifact type is a Sigstore bundle of an unknown version is a rejected candidate. For each candidate: the
referring manifest is fetched by digest, must be an OCI image manifest whose ``subject`` is the admitted image
and whose single layer is the bundle; the bundle is pre-checked (:mod:`bundle_format`), verified
(:mod:`bundle_verify`) and bound to the image: a message signature must sign the manifest digest, a DSSE
envelope must hold an in-toto Statement about it with a wanted predicate type (:mod:`attestations`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from gitsecure.crypto.sigstore_root import TrustedRoot
from gitsecure.errors import InputError
from gitsecure.verify.images.attestations import SIGN_PREDICATE, StatementRejected, check_statement
from gitsecure.verify.images.authority import (
    Authority,
    SignatureCheck,
    SignatureSource,
    TrustedRootBytes,
    public_good_trusted_root,
)
from gitsecure.verify.images.bundle_format import BUNDLE_MEDIA_TYPES, BundleRejected, parse_bundle
from gitsecure.verify.images.bundle_verify import verify_bundle
from gitsecure.verify.images.legacy_signer import trusted_root as cached_trusted_root
from gitsecure.verify.images.reference import ImageRef
from gitsecure.verify.images.registry import Descriptor, RegistryClient, RegistryError

BUNDLE_ARTIFACT_PREFIX = "application/vnd.dev.sigstore.bundle"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MAX_BUNDLE_BLOB = 4 << 20
MAX_CANDIDATES = 64  # an attacker can attach referrers; bound the work per image


def verify_bundles(
    client: RegistryClient,
    ref: ImageRef,
    digest: str,
    authorities: Sequence[Authority],
    *,
    require_tlog: bool,
    trusted_root: TrustedRootBytes | None,
    predicate_types: Collection[str] = (SIGN_PREDICATE,),
    attestation: bool = False,
) -> list[SignatureCheck]:
    """One :class:`SignatureCheck` per bundle referrer of ``ref`` at ``digest``; ``no-signature`` when none.

    With ``attestation`` the results are tagged ``"attestation"`` and message signatures (which carry no
    predicate) are rejected as ``not-an-attestation``. ``trusted_root`` supplies the Rekor keys for managed-key
    bundles (default: public-good); keyless authorities bring their own.
    """
    if not authorities:
        raise InputError("no signing authority to verify against", reference="no-authority")
    source: SignatureSource = "attestation" if attestation else "bundle"
    referrers = [d for d in client.referrers(ref, digest) if (d.artifact_type or "").startswith(BUNDLE_ARTIFACT_PREFIX)]
    if not referrers:
        return [_reject("no-signature", source)]
    raw_root = trusted_root if trusted_root is not None else public_good_trusted_root()
    root = _tlog_root(raw_root) if any(a.keys for a in authorities) else TrustedRoot(tlogs=(), ctlogs=(), cas=())
    return [
        _check_referrer(
            client,
            ref,
            d,
            digest=digest,
            authorities=authorities,
            require_tlog=require_tlog,
            root=root,
            predicate_types=predicate_types,
            source=source,
        )
        for d in referrers[:MAX_CANDIDATES]
    ]


def _tlog_root(data: TrustedRootBytes) -> TrustedRoot:
    return cached_trusted_root(bytes(data))


def _check_referrer(
    client: RegistryClient,
    ref: ImageRef,
    descriptor: Descriptor,
    *,
    digest: str,
    authorities: Sequence[Authority],
    require_tlog: bool,
    root: TrustedRoot,
    predicate_types: Collection[str],
    source: SignatureSource,
) -> SignatureCheck:
    if descriptor.artifact_type not in BUNDLE_MEDIA_TYPES:
        return _reject("unknown-bundle-media-type", source)
    try:
        raw, _ = client.get_manifest(ref, descriptor.digest)
        layer = _bundle_layer(raw, digest)
    except RegistryError as exc:
        if exc.reference in ("manifest-digest-mismatch", "blob-digest-mismatch"):
            return _reject(exc.reference, source)
        raise
    except _Rejected as exc:
        return _reject(exc.reason, source)
    try:
        blob = client.get_blob(ref, layer["digest"], max_size=MAX_BUNDLE_BLOB)
        bundle = parse_bundle(blob)
    except RegistryError as exc:
        if exc.reference == "blob-digest-mismatch":
            return _reject("blob-digest-mismatch", source)
        raise
    except BundleRejected as exc:
        return _reject(exc.reference, source)
    want = bytes.fromhex(digest.partition(":")[2])
    outcome = verify_bundle(bundle, authorities, digest=want, require_tlog=require_tlog, tlog_root=root)

    def result(ok: bool, reason: str, annotations: dict[str, str] | None = None) -> SignatureCheck:
        return SignatureCheck(
            ok=ok, reason=reason, signer=outcome.signer, source=source, tlog=outcome.tlog, annotations=annotations or {}
        )

    if not outcome.ok:
        return result(False, outcome.reason)
    if bundle.content == "message-signature":
        # verify_bundle already bound the message digest to the image digest.
        return result(False, "not-an-attestation") if source == "attestation" else result(True, "ok")
    assert outcome.payload is not None
    try:
        statement = check_statement(bundle.payload_type, outcome.payload, digest, predicate_types)
    except StatementRejected as exc:
        return result(False, exc.reference)
    return result(True, "ok", dict(statement.annotations))


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bundle_layer(raw: bytes, digest: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("schemaVersion") != 2 or doc.get("mediaType") != OCI_MANIFEST:
            raise _Rejected("malformed-referrer")
        subject, layers = doc.get("subject"), doc["layers"]
        if not isinstance(subject, dict) or subject.get("digest") != digest:
            # The referrers index is unauthenticated: a referrer of another image must not count here.
            raise _Rejected("subject-mismatch")
        if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
            raise _Rejected("malformed-referrer")
        layer: dict[str, Any] = layers[0]
    except (ValueError, TypeError, KeyError):
        raise _Rejected("malformed-referrer") from None
    if layer.get("mediaType") not in BUNDLE_MEDIA_TYPES:
        raise _Rejected("unknown-bundle-media-type")
    if not isinstance(layer.get("digest"), str) or not str(layer["digest"]).startswith("sha256:"):
        raise _Rejected("malformed-referrer")
    return layer


def _reject(reason: str, source: SignatureSource) -> SignatureCheck:
    return SignatureCheck(ok=False, reason=reason, signer="", source=source, tlog=False)
