"""The ssh-keygen ALLOWED SIGNERS format and its matching rules, as ``ssh-keygen -Y verify`` applies them.

A line is ``principals [options] keytype base64 [comment]``. The semantics follow OpenSSH's
``sshsig.c`` (checked against ``ssh-keygen`` by the differential tests), with two deliberate
differences, both stricter: a malformed line is an error for the whole file (ssh-keygen skips it
silently), and a certificate with an unknown critical option, or with ``verify-required`` and no
user-verification flag, is refused (ssh-keygen ignores critical options when verifying).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gitsecure.crypto.sshcert import CERT_TYPE_USER, SshCertificate
from gitsecure.crypto.sshkeys import SK_USER_VERIFIED, SshPublicKey
from gitsecure.crypto.sshsig import BadSignature, SshSignature, parse_armored_sshsig, verify_sshsig
from gitsecure.errors import InputError
from gitsecure.verify.allowed_signers_syntax import match_pattern_list, parse_line

GIT_NAMESPACE = "git"

# Rejection reasons, stable strings for verdicts; ranked so the most specific one is reported.
BAD_SIGNATURE = "bad signature"
WRONG_NAMESPACE = "wrong namespace"
UNTRUSTED_KEY = "untrusted key"
UNTRUSTED_CA = "untrusted certificate authority"
PRINCIPAL_NOT_ALLOWED = "principal not allowed"
NOT_USER_CERT = "not a user certificate"
CERT_NOT_YET_VALID = "certificate not yet valid"
CERT_EXPIRED = "certificate expired"
CERT_PRINCIPAL_MISMATCH = "certificate principal mismatch"
CERT_CRITICAL_OPTION = "unknown certificate critical option"
USER_VERIFICATION_REQUIRED = "user verification required"
NAMESPACE_NOT_ALLOWED = "namespace not allowed for key"
KEY_NOT_YET_VALID = "key not yet valid"
KEY_EXPIRED = "key expired"
_PROBLEMS_BY_DEPTH = (
    *(UNTRUSTED_KEY, UNTRUSTED_CA, PRINCIPAL_NOT_ALLOWED, NOT_USER_CERT, CERT_NOT_YET_VALID, CERT_EXPIRED),
    *(CERT_PRINCIPAL_MISMATCH, CERT_CRITICAL_OPTION, USER_VERIFICATION_REQUIRED, NAMESPACE_NOT_ALLOWED),
    *(KEY_NOT_YET_VALID, KEY_EXPIRED),
)
_RANK = {problem: rank for rank, problem in enumerate(_PROBLEMS_BY_DEPTH)}
# force-command and source-address restrict login sessions, which a signature never opens.
_KNOWN_CRITICAL_OPTIONS = frozenset({"force-command", "source-address", "verify-required"})


@dataclass(frozen=True)
class AllowedSigner:
    """One line of an allowed_signers file."""

    principals: str  # the comma-separated pattern list, as written
    key: SshPublicKey
    cert_authority: bool = False
    namespaces: str | None = None
    valid_after: int | None = None  # Unix seconds, inclusive
    valid_before: int | None = None  # Unix seconds, inclusive
    line: int = 0


@dataclass(frozen=True)
class SignerMatch:
    """Why a signature was accepted: the principal, the signing key and the line that allowed it."""

    principal: str
    fingerprint: str  # the signing key (for a certificate: the certified key)
    key_type: str
    line: int
    ca_fingerprint: str | None = None  # set when a certificate was accepted through a cert-authority line
    key_id: str | None = None


@dataclass(frozen=True)
class SshCheck:
    """The outcome of matching a signature: a match, or the most specific reason there was none."""

    match: SignerMatch | None
    problem: str | None


class AllowedSigners:
    """A parsed allowed_signers file; :meth:`check` applies ssh-keygen's rules to a signature."""

    def __init__(self, entries: Iterable[AllowedSigner], *, source: str = "allowed_signers") -> None:
        self.entries = tuple(entries)
        self.source = source
        if not self.entries:
            raise InputError(f"{source}: no allowed signers", reference="invalid-allowed-signers")

    @classmethod
    def parse(cls, text: str, *, source: str = "allowed_signers") -> AllowedSigners:
        """Parse the file's text; any malformed line is an error naming ``source`` and the line."""
        entries = []
        for number, line in enumerate(text.split("\n"), start=1):
            try:
                fields = parse_line(line.removesuffix("\r"))
                if fields is None:
                    continue
                key = SshPublicKey.from_openssh(fields.key)
            except (InputError, ValueError) as exc:
                message = exc.message if isinstance(exc, InputError) else str(exc)
                raise InputError(f"{source}:{number}: {message}", reference="invalid-allowed-signers") from exc
            entries.append(
                AllowedSigner(
                    fields.principals, key, fields.cert_authority, fields.namespaces, *fields.window, line=number
                )
            )
        return cls(entries, source=source)

    @classmethod
    def from_file(cls, path: Path) -> AllowedSigners:
        """Read and parse an allowed_signers file (UTF-8)."""
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read allowed signers", reference="invalid-allowed-signers") from exc
        return cls.parse(text, source=str(path))

    @classmethod
    def from_keys(
        cls, keys: Iterable[SshPublicKey], *, principals: str = "*", source: str = "ssh keys"
    ) -> AllowedSigners:
        """Trust plain keys for ``principals`` (the ``--ssh-key`` quick flag: any principal by default)."""
        return cls((AllowedSigner(principals, key, line=i) for i, key in enumerate(keys, start=1)), source=source)

    def match(self, sig: SshSignature, *, principal_hint: str | None, at: dt.datetime) -> SignerMatch | None:
        """The match that accepts ``sig`` at time ``at`` for ``principal_hint``, or None.

        With a hint (the email the commit claims), that principal must match the line's patterns and,
        for a certificate, be listed in it: ``ssh-keygen -Y verify -I``. Without one, any principal
        will do, as git's ``find-principals`` step: the match names the line's pattern list for a
        plain key, or the certificate principals the line covers (``!`` negations honoured there,
        which OpenSSH does not do).
        """
        return self.check(sig, principal_hint=principal_hint, at=at).match

    def check(self, sig: SshSignature, *, principal_hint: str | None, at: dt.datetime) -> SshCheck:
        """Like :meth:`match`, with the reason for a rejection. The signature math is not done here."""
        if at.tzinfo is None:
            raise ValueError("verification time must be timezone-aware")
        if sig.namespace != GIT_NAMESPACE:
            return SshCheck(None, WRONG_NAMESPACE)
        now = int(at.timestamp())
        cert = sig.public_key if isinstance(sig.public_key, SshCertificate) else None
        problem = UNTRUSTED_CA if cert is not None else UNTRUSTED_KEY
        for entry in self.entries:
            outcome = self._check_line(entry, sig, cert, principal_hint, now)
            if isinstance(outcome, SignerMatch):
                return SshCheck(outcome, None)
            if outcome is not None and _RANK[outcome] > _RANK[problem]:
                problem = outcome
        return SshCheck(None, problem)

    @staticmethod
    def _check_line(
        entry: AllowedSigner, sig: SshSignature, cert: SshCertificate | None, hint: str | None, now: int
    ) -> SignerMatch | str | None:
        """A match, a reason, or None when the line is about another key."""
        if entry.cert_authority:
            if cert is None or cert.signature_key.blob != entry.key.blob:
                return None
        elif cert is not None or sig.signer.blob != entry.key.blob:
            return None
        if hint is not None and match_pattern_list(hint, entry.principals) != 1:
            return PRINCIPAL_NOT_ALLOWED
        principal = hint if hint is not None else entry.principals
        if cert is not None:
            accepted, detail = _check_certificate(cert, sig, entry, hint, now)
            if not accepted:
                return detail
            principal = detail
        if entry.namespaces is not None and match_pattern_list(sig.namespace, entry.namespaces) != 1:
            return NAMESPACE_NOT_ALLOWED
        if entry.valid_after is not None and now < entry.valid_after:
            return KEY_NOT_YET_VALID
        if entry.valid_before is not None and now > entry.valid_before:
            return KEY_EXPIRED
        return SignerMatch(
            principal=principal,
            fingerprint=sig.fingerprint,
            key_type=sig.signer.key_type,
            line=entry.line,
            ca_fingerprint=entry.key.fingerprint if cert is not None else None,
            key_id=cert.key_id if cert is not None else None,
        )


def _check_certificate(
    cert: SshCertificate, sig: SshSignature, entry: AllowedSigner, hint: str | None, now: int
) -> tuple[bool, str]:
    """(True, principals) or (False, reason): OpenSSH's ``sshkey_cert_check_authority`` plus critical options."""
    if cert.cert_type != CERT_TYPE_USER:
        return False, NOT_USER_CERT
    # Certificates end *before* valid_before; allowed_signers windows include both ends (as OpenSSH).
    if now < cert.valid_after:
        return False, CERT_NOT_YET_VALID
    if now >= cert.valid_before:
        return False, CERT_EXPIRED
    if hint is not None:
        # The principal must be listed in the certificate verbatim (no patterns on this side).
        principals = [hint] if hint in cert.principals else []
    else:
        principals = [p for p in cert.principals if match_pattern_list(p, entry.principals) == 1]
    if not principals:
        return False, CERT_PRINCIPAL_MISMATCH
    if set(cert.critical_options) - _KNOWN_CRITICAL_OPTIONS:
        return False, CERT_CRITICAL_OPTION
    if "verify-required" in cert.critical_options and not (sig.signature.sk_flags or 0) & SK_USER_VERIFIED:
        return False, USER_VERIFICATION_REQUIRED
    return True, ",".join(principals)


def check_ssh(
    armored: bytes, payload: bytes, signers: AllowedSigners, *, principal_hint: str | None, at: dt.datetime
) -> SshCheck:
    """Parse, verify and match an armoured SSH signature over ``payload``: the whole SSH check in one call."""
    try:
        sig = parse_armored_sshsig(armored)
    except BadSignature:
        return SshCheck(None, BAD_SIGNATURE)
    if not verify_sshsig(sig, payload):
        return SshCheck(None, BAD_SIGNATURE)
    return signers.check(sig, principal_hint=principal_hint, at=at)
