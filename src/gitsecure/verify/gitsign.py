"""Verify gitsign (Sigstore keyless) X.509/CMS signatures on Git commits and tags, offline.

A gitsign signature is a detached CMS SignedData holding only the short-lived Fulcio leaf
certificate. Its ECDSA signature covers ``DER(SignedAttrs)``, not the commit; the commit is bound
only through the ``messageDigest`` attribute. Offline-mode signatures also embed the Rekor entry
(a hashedrekord over ``DER(SignedAttrs)``) with its canonicalized body stripped.

:func:`check_x509` therefore (1) parses the CMS strictly with asn1crypto, (2) checks
``messageDigest == sha256(payload)`` itself, because sigstore cannot see the commit and would
accept a tampered one, (3) rebuilds the hashedrekord body and a v0.3 Sigstore bundle, and
(4) lets sigstore-python check chain, SCT, inclusion proof, checkpoint, SET, signature and the
identity policy against a local ``trusted_root.json``. No network, no TUF refresh.

``sigstore`` is heavy (pydantic, requests, TUF), so it is imported only inside functions here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitsecure.errors import InputError
from gitsecure.verify.gitsign_cms import ParsedCms, SignatureMalformed, cert_claims, parse_cms
from gitsecure.verify.tlog_entry import MalformedEntry, decode_entry

if TYPE_CHECKING:
    from sigstore.verify import Verifier

_log = logging.getLogger(__name__)

PROBLEM_MALFORMED = "malformed signature"
PROBLEM_DIGEST = "content digest mismatch"
PROBLEM_ONLINE = "no embedded transparency log entry (online-mode gitsign signature)"
PROBLEM_IDENTITY = "certificate identity not allowed"
PROBLEM_ISSUER = "certificate issuer not allowed"
PROBLEM_UNTRUSTED = "untrusted certificate"
PROBLEM_BAD = "bad signature"


@dataclass(frozen=True)
class KeylessIdentity:
    """A keyless signer: the certificate SAN (``subject``) and the OIDC issuer that vouched for it.

    Each is given exactly (``subject``, ``issuer``) or as a regular expression that must match the
    whole value (``subject_regexp``, ``issuer_regexp``). Exactly one of each pair is required: an
    identity without an issuer would trust any OIDC provider to mint that name.
    """

    subject: str | None = None
    issuer: str | None = None
    subject_regexp: str | None = None
    issuer_regexp: str | None = None

    def __post_init__(self) -> None:
        for exact, regexp, what in (
            (self.subject, self.subject_regexp, "subject"),
            (self.issuer, self.issuer_regexp, "issuer"),
        ):
            if (exact is None) == (regexp is None):
                raise InputError(
                    f"a keyless identity needs exactly one of {what} and {what}_regexp",
                    reference="invalid-keyless-identity",
                )
            if exact == "" or regexp == "":
                raise InputError(f"a keyless identity has an empty {what}", reference="invalid-keyless-identity")
            if regexp is not None:
                try:
                    re.compile(regexp)
                except re.error as exc:
                    raise InputError(
                        f"invalid {what}_regexp {regexp!r}: {exc}", reference="invalid-keyless-identity"
                    ) from None

    def subject_matches(self, value: str) -> bool:
        """True when ``value`` (one certificate SAN) is this identity's subject."""
        if self.subject is not None:
            return value == self.subject
        return re.fullmatch(str(self.subject_regexp), value) is not None

    def issuer_matches(self, value: str | None) -> bool:
        """True when ``value`` (the certificate's OIDC issuer) is this identity's issuer."""
        if value is None:
            return False
        if self.issuer is not None:
            return value == self.issuer
        return re.fullmatch(str(self.issuer_regexp), value) is not None


@dataclass(frozen=True)
class X509Result:
    """The outcome of one gitsign signature check.

    ``identity`` and ``issuer`` are the certificate's claims (the matched SAN when ``ok``), filled in
    whenever the certificate could be read, so a rejection still says who signed.
    """

    ok: bool
    identity: str | None
    issuer: str | None
    problem: str | None


def check_x509(
    sig_armored: bytes, payload: bytes, trusted_root: Path, identities: Sequence[KeylessIdentity]
) -> X509Result:
    """Verify a gitsign signature over ``payload`` offline against ``trusted_root`` and the allowed ``identities``.

    Returns a rejecting :class:`X509Result` for anything wrong with the signature; raises
    :class:`~gitsecure.errors.InputError` for configuration problems (no identities, an unreadable
    or unusable trusted root), which are the caller's to fix.
    """
    if not identities:
        raise InputError(
            "no keyless identity configured for gitsign verification", reference="invalid-keyless-identity"
        )
    verifier = _verifier(trusted_root)
    try:
        cms = parse_cms(sig_armored)
        sans, issuer = cert_claims(cms.certificate)
    except SignatureMalformed as exc:
        _log.debug("gitsign signature rejected: %s", exc)
        return X509Result(ok=False, identity=None, issuer=None, problem=PROBLEM_MALFORMED)
    identity = sans[0] if sans else None

    def reject(problem: str) -> X509Result:
        return X509Result(ok=False, identity=identity, issuer=issuer, problem=problem)

    # The content binding: without it any commit verifies with any other commit's signature.
    if cms.message_digest != hashlib.sha256(payload).digest():
        return reject(PROBLEM_DIGEST)
    if cms.tlog_entry is None:
        return reject(PROBLEM_ONLINE)
    try:
        bundle_json = _bundle_json(cms)
    except MalformedEntry as exc:
        _log.debug("gitsign signature rejected: %s", exc)
        return reject(PROBLEM_MALFORMED)

    from sigstore.errors import CertValidationError, Error, MetadataError  # noqa: PLC0415
    from sigstore.models import Bundle  # noqa: PLC0415

    policy = _KeylessPolicy(identities)
    try:
        verifier.verify_artifact(cms.signed_attrs, Bundle.from_json(bundle_json), policy)
    except MetadataError:
        raise InputError(
            f"trusted root {trusted_root} lacks transparency-log or CT log keys", reference="invalid-trusted-root"
        ) from None
    except (Error, ValueError) as exc:
        _log.debug("gitsign signature rejected: %s", exc)
        if policy.problem is not None:
            return reject(policy.problem)
        return reject(PROBLEM_UNTRUSTED if isinstance(exc, CertValidationError) else PROBLEM_BAD)
    matched = next((san for san in sans if any(i.subject_matches(san) for i in identities)), identity)
    return X509Result(ok=True, identity=matched, issuer=issuer, problem=None)


def _bundle_json(cms: ParsedCms) -> str:
    """The Sigstore v0.3 bundle gitsign's ``docs/bundle-cms.md`` maps the CMS to (artifact = SignedAttrs)."""
    import rfc8785  # noqa: PLC0415  (a sigstore dependency, only needed on this path)
    from asn1crypto import pem  # noqa: PLC0415

    assert cms.tlog_entry is not None
    entry = decode_entry(cms.tlog_entry)
    if entry.get("kindVersion") != {"kind": "hashedrekord", "version": "0.0.1"}:
        raise MalformedEntry("embedded log entry is not a hashedrekord 0.0.1 entry")
    b64 = base64.b64encode
    # gitsign strips the canonicalized body before embedding; the Rekor leaf hash and the SET
    # cover it, so it is rebuilt exactly as Rekor canonicalized it (RFC 8785, 64-column PEM).
    body: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(cms.signed_attrs).hexdigest()}},
            "signature": {
                "content": b64(cms.signature).decode(),
                "publicKey": {"content": b64(pem.armor("CERTIFICATE", cms.certificate)).decode()},
            },
        },
    }
    entry["canonicalizedBody"] = b64(rfc8785.dumps(body)).decode()
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": b64(cms.certificate).decode()}, "tlogEntries": [entry]},
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": b64(hashlib.sha256(cms.signed_attrs).digest()).decode(),
            },
            "signature": b64(cms.signature).decode(),
        },
    }
    return json.dumps(bundle)


def _verifier(path: Path) -> Verifier:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read trusted root {path}: {exc.strerror}", reference="trusted-root-unreadable"
        ) from None
    return _load_verifier(hashlib.sha256(raw).hexdigest(), str(path))


@functools.lru_cache(maxsize=8)
def _load_verifier(digest: str, path: str) -> Verifier:
    # Keyed on the file's digest as well as its path: an edited trusted root is reloaded, and a
    # range of thousands of commits parses it once.
    from sigstore.errors import Error  # noqa: PLC0415
    from sigstore.models import TrustedRoot  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415

    try:
        return Verifier(trusted_root=TrustedRoot.from_file(path))
    except (Error, ValueError, OSError):
        raise InputError(
            f"{path} is not a usable Sigstore trusted root (it needs Fulcio CAs and transparency logs)",
            reference="invalid-trusted-root",
        ) from None


class _CertLike(Protocol):
    # What the policy needs of sigstore's (cryptography) certificate; typed structurally so this
    # module never imports cryptography (only gitsecure.crypto may).
    @property
    def tbs_certificate_bytes(self) -> bytes: ...


class _KeylessPolicy:
    """A sigstore ``VerificationPolicy``: the certificate matches at least one allowed identity.

    sigstore-python has exact policies only; subject and issuer regexps (cosign's ``--certificate-
    identity-regexp``, Kyverno's ``subjectRegExp``) are checked here, full-match. Exact subjects also
    go through sigstore's own ``Identity``. The reason of a failure is kept in :attr:`problem`,
    since sigstore reports every failure as the same exception type.
    """

    def __init__(self, identities: Sequence[KeylessIdentity]) -> None:
        self._identities = tuple(identities)
        self.problem: str | None = None

    def verify(self, cert: _CertLike) -> None:
        """Raise sigstore's ``VerificationError`` unless ``cert`` matches an allowed identity."""
        from sigstore.errors import VerificationError  # noqa: PLC0415

        try:
            sans, issuer = cert_claims(cert.tbs_certificate_bytes, tbs_only=True)
        except SignatureMalformed:
            self.problem = PROBLEM_MALFORMED
            raise VerificationError("certificate claims are malformed") from None
        by_subject = [i for i in self._identities if self._subject_ok(i, cert, sans)]
        if not by_subject:
            self.problem = PROBLEM_IDENTITY
            raise VerificationError(PROBLEM_IDENTITY)
        if not any(i.issuer_matches(issuer) for i in by_subject):
            self.problem = PROBLEM_ISSUER
            raise VerificationError(PROBLEM_ISSUER)

    @staticmethod
    def _subject_ok(identity: KeylessIdentity, cert: _CertLike, sans: Sequence[str]) -> bool:
        if identity.subject is None:
            return any(identity.subject_matches(san) for san in sans)
        from sigstore.errors import VerificationError  # noqa: PLC0415
        from sigstore.verify.policy import Identity  # noqa: PLC0415

        if not sans:  # sigstore's Identity would raise ExtensionNotFound, not VerificationError
            return False
        try:
            Identity(identity=identity.subject).verify(_as_any(cert))
        except VerificationError:
            # sigstore compares a Sigstore otherName SAN by its raw DER; accept the decoded value too.
            return identity.subject in sans
        return True


def _as_any(value: object) -> Any:
    return value
