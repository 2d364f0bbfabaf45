"""Keyless (Fulcio certificate) Sigstore bundles verified offline with sigstore-python against a trusted root.

sigstore-python checks the verified time (SET ``integratedTime`` or RFC 3161 timestamps), the chain to the
trusted Fulcio CAs, the SCT, codeSigning, the inclusion proof and checkpoint, the SET, the signature and the log
entry's consistency with the bundle. The identity policy here adds full-match regexps and the issuer V2
extension, which sigstore's exact ``Identity`` policy lacks. ``sigstore`` is imported only inside functions.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitsecure.crypto.fulcio import issued_by_trusted_ca
from gitsecure.crypto.sigstore_root import load_trusted_root
from gitsecure.errors import GitsecureError, InputError
from gitsecure.verify.gitsign_cms import SignatureMalformed, cert_claims
from gitsecure.verify.images.authority import KeylessAuthority
from gitsecure.verify.images.bundle_format import ParsedBundle

if TYPE_CHECKING:
    from sigstore.verify import Verifier

# sigstore reports most failures as one exception type: its message is the only way to tell them apart.
_MESSAGES = (
    ("expired at time of signing", "certificate-not-valid-at-signing"),
    ("not enough sources of verified time", "no-verified-time"),
    ("SCT", "bad-sct"),
    ("code signing", "certificate-not-code-signing"),
    ("digital signature", "certificate-not-code-signing"),
    ("message digest mismatch", "digest-mismatch"),
    ("inconsistent", "tlog-entry-mismatch"),
    ("do not match", "tlog-entry-mismatch"),
    ("does not match", "tlog-entry-mismatch"),
    ("invalid log entry", "bad-tlog-entry"),
    ("Unsupported", "unsupported-tlog-entry"),
)


def check_keyless(
    bundle: ParsedBundle, authority: KeylessAuthority, *, digest: bytes, artifact: bytes | None
) -> tuple[str, str, bytes | None]:
    """Verify ``bundle`` for ``authority``: returns ``(reason, signer, dsse_payload)``, reason ``"ok"`` on success.

    ``digest`` is the SHA-256 of the signed artifact (the image manifest); ``artifact`` its bytes when known.
    """
    from sigstore.errors import CertValidationError, Error, MetadataError  # noqa: PLC0415
    from sigstore.hashes import Hashed  # noqa: PLC0415
    from sigstore.models import Bundle  # noqa: PLC0415
    from sigstore_models.common.v1 import HashAlgorithm  # noqa: PLC0415

    policy = _Policy(authority)
    signer = _signer(bundle.certificate_der)
    verifier = _verifier(authority.trusted_root_json)
    try:
        loaded = Bundle.from_json(_with_proto3_defaults(bundle.raw))
    except (Error, ValueError, TypeError):
        return "malformed-bundle", signer, None
    try:
        if bundle.content == "message-signature":
            subject: bytes | Any = (
                artifact if artifact is not None else Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
            )
            verifier.verify_artifact(subject, loaded, policy)
            return "ok", policy.signer or signer, None
        _type, payload = verifier.verify_dsse(loaded, policy)
        return "ok", policy.signer or signer, payload
    except MetadataError:
        raise InputError(
            "the trusted root lacks transparency-log or CT log keys", reference="invalid-trusted-root"
        ) from None
    except (Error, ValueError) as exc:
        if policy.problem is not None:
            return policy.problem, signer, None
        text = str(exc)
        if isinstance(exc, CertValidationError):
            # cryptography reports the last candidate's failure; whether the CA is trusted at all decides.
            expired = "not valid at validation time" in text and _from_trusted_ca(bundle, authority)
            return ("certificate-not-valid-at-signing" if expired else "untrusted-certificate"), signer, None
        return next((reason for needle, reason in _MESSAGES if needle in text), "bad-signature"), signer, None


def _from_trusted_ca(bundle: ParsedBundle, authority: KeylessAuthority) -> bool:
    if bundle.certificate_der is None:
        return False
    try:
        root = load_trusted_root(authority.trusted_root_json)
    except GitsecureError:
        return False
    return issued_by_trusted_ca(bundle.certificate_der, root)


def _with_proto3_defaults(raw: bytes) -> bytes:
    # proto3 JSON may omit zero values; sigstore-models requires inclusionProof.logIndex and hashes explicitly.
    doc = json.loads(raw)
    for entry in doc.get("verificationMaterial", {}).get("tlogEntries") or []:
        proof = entry.get("inclusionProof") if isinstance(entry, dict) else None
        if isinstance(proof, dict):
            proof.setdefault("logIndex", "0")
            proof.setdefault("hashes", [])
    return json.dumps(doc).encode()


def _signer(certificate_der: bytes | None) -> str:
    if certificate_der is None:
        return ""
    try:
        sans, issuer = cert_claims(certificate_der)
    except SignatureMalformed:
        return ""
    return f"{sans[0] if sans else ''} ({issuer or 'no issuer'})"


@functools.lru_cache(maxsize=8)
def _verifier(trusted_root_json: bytes) -> Verifier:
    from sigstore.errors import Error  # noqa: PLC0415
    from sigstore.models import TrustedRoot  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415

    # from_file is sigstore's only public loader; the bytes may not come from a file (policy, flag, wheel).
    with tempfile.TemporaryDirectory(prefix="gitsecure-root-") as tmp:
        path = Path(tmp) / "trusted_root.json"
        path.write_bytes(trusted_root_json)
        try:
            return Verifier(trusted_root=TrustedRoot.from_file(str(path)))
        except (Error, ValueError, UnicodeError):
            pass
    raise InputError(
        "not a usable Sigstore trusted root (it needs Fulcio CAs and transparency logs)",
        reference="invalid-trusted-root",
    )


def _matches(value: str, exact: str | None, regexp: str | None) -> bool:
    if exact is not None:
        return value == exact
    return regexp is not None and re.fullmatch(regexp, value) is not None


def validate_keyless(authority: KeylessAuthority) -> None:
    """Raise ``InputError("invalid-keyless-identity")`` unless exactly one identity and one issuer form is set."""
    for exact, regexp, what in (
        (authority.identity, authority.identity_regexp, "identity"),
        (authority.issuer, authority.issuer_regexp, "issuer"),
    ):
        if (exact is None) == (regexp is None) or exact == "" or regexp == "":
            raise InputError(
                f"a keyless authority needs exactly one non-empty {what} or {what} regexp",
                reference="invalid-keyless-identity",
            )
        if regexp is not None:
            try:
                re.compile(regexp)
            except re.error:
                raise InputError(f"invalid {what} regexp {regexp!r}", reference="invalid-keyless-identity") from None


class _CertLike(Protocol):
    # Structural: this module never imports cryptography (only gitsecure.crypto may).
    @property
    def tbs_certificate_bytes(self) -> bytes: ...


class _Policy:
    """A sigstore ``VerificationPolicy`` for one keyless authority; keeps the failure reason and matched signer."""

    def __init__(self, authority: KeylessAuthority) -> None:
        validate_keyless(authority)
        self._authority = authority
        self.problem: str | None = None
        self.signer: str | None = None

    def verify(self, cert: _CertLike) -> None:
        """Raise sigstore's ``VerificationError`` unless ``cert`` carries the authority's identity and issuer."""
        from sigstore.errors import VerificationError  # noqa: PLC0415

        a = self._authority
        try:
            sans, issuer = cert_claims(cert.tbs_certificate_bytes, tbs_only=True)
        except SignatureMalformed:
            self.problem = "malformed-certificate"
            raise VerificationError("certificate claims are malformed") from None
        matched = [san for san in sans if _matches(san, a.identity, a.identity_regexp)]
        if not matched:
            self.problem = "identity-mismatch"
            raise VerificationError("certificate identity not allowed")
        if issuer is None or not _matches(issuer, a.issuer, a.issuer_regexp):
            self.problem = "issuer-mismatch"
            raise VerificationError("certificate issuer not allowed")
        self.signer = f"{matched[0]} ({issuer})"
