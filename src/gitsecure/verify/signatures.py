"""Who made a signature: one signature checked against every signer of a policy, in-process.

:class:`TrustedSigners` loads a policy's trust material once per run (or once per server
lifetime) and then answers "which signer made this signature, with which key, and what is
wrong with it" for any number of objects without starting a process per object:

* OpenPGP: one :class:`~gitsecure.verify.gnupg_keys.GpgKeyring` holding every signer's keys;
  the signature math runs in ``gitsecure.crypto``. A primary fingerprint maps to its signer;
* SSH: one :class:`~gitsecure.verify.allowed_signers.AllowedSigners` per signer (its
  allowed_signers files plus its plain keys, which may sign for any principal). The signature
  is parsed and its math checked once, then matched against each signer's entries;
* X.509 (gitsign): the signers' keyless identities grouped by trusted root, each group checked
  with :func:`gitsecure.verify.gitsign.check_x509` (sigstore loads only when such a signature
  turns up).

The facts depend on the whole policy, never on one rule, so they can be cached per
(object, policy hash): whether the signer is one a rule trusts is decided later. A key listed
under two signers is a configuration error: one key must never count as two signers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from gitsecure.crypto.errors import BadSignature
from gitsecure.crypto.openpgp import parse_public_keys
from gitsecure.crypto.sshcert import SshCertificate
from gitsecure.crypto.sshsig import parse_armored_sshsig, verify_sshsig
from gitsecure.errors import InputError
from gitsecure.verify.allowed_signers import (
    BAD_SIGNATURE,
    UNTRUSTED_CA,
    UNTRUSTED_KEY,
    AllowedSigner,
    AllowedSigners,
)
from gitsecure.verify.gitobject import SignedPayload
from gitsecure.verify.policy import KeylessIdentity, Policy
from gitsecure.verify.verdict import Format

if TYPE_CHECKING:
    from gitsecure.verify.gnupg_keys import GpgKeyring

__all__ = ["SignatureFacts", "TrustedSigners"]

UNKNOWN_FORMAT = "unknown signature format"
NO_KEYLESS_SIGNER = "untrusted certificate (the policy has no keyless signer)"
_PGP_BLOCK = re.compile(rb"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", re.DOTALL)


@dataclass(frozen=True)
class SignatureFacts:
    """What one signature check found: the signer and key (when known), the format, the problem (None: good).

    ``cacheable`` is False when the answer may change without the object or the policy
    changing (an OpenPGP signature that carries its own expiry time, judged at now).
    """

    signer: str | None
    key: str | None
    format: Format
    problem: str | None
    cacheable: bool = True


class TrustedSigners:
    """Every signer's trust material, loaded once; :meth:`check` attributes a signature to a signer."""

    def __init__(self, policy: Policy) -> None:
        """Load the policy's keys; :class:`InputError` when a key is unusable or listed under two signers."""
        self._ring: GpgKeyring | None = None
        self._roots_dir: Path | None = None
        self._pgp_owner = _openpgp_owners(policy)
        self._ssh = _ssh_signers(policy)
        self._keyless: dict[str, tuple[bytes, list[tuple[str, KeylessIdentity]]]] = {}
        for signer in policy.signers.values():
            for identity in signer.keyless:
                digest = hashlib.sha256(identity.trusted_root_json).hexdigest()
                group = self._keyless.setdefault(digest, (identity.trusted_root_json, []))
                group[1].append((signer.name, identity))
        armored = [key for signer in policy.signers.values() for key in signer.openpgp_keys]
        if armored:
            from gitsecure.verify.gnupg_keys import GpgKeyring  # noqa: PLC0415 (python-gnupg only when needed)

            self._ring = GpgKeyring(armored)

    def __enter__(self) -> TrustedSigners:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the throwaway GnuPG home and the trusted-root copies."""
        if self._ring is not None:
            self._ring.close()
        if self._roots_dir is not None:
            shutil.rmtree(self._roots_dir, ignore_errors=True)

    def check(self, signed: SignedPayload, *, principal_hint: str | None, at: dt.datetime | None) -> SignatureFacts:
        """Check ``signed`` against every signer.

        ``principal_hint`` is the email the object claims (committer or tagger): the principal
        an allowed_signers line must list. ``at`` is the object's own (signer-chosen) time, at
        which SSH key and certificate validity windows are judged, as git does.
        """
        if signed.format == "openpgp":
            return self._openpgp(signed)
        if signed.format == "ssh":
            return self._ssh_check(signed, principal_hint=principal_hint, at=at)
        if signed.format == "x509":
            return self._x509(signed)
        return SignatureFacts(None, None, "unknown", UNKNOWN_FORMAT)

    # -- OpenPGP ---------------------------------------------------------------------------------

    def _openpgp(self, signed: SignedPayload) -> SignatureFacts:
        if self._ring is None:
            return SignatureFacts(None, None, "openpgp", UNTRUSTED_KEY)
        from gitsecure.verify.gnupg_keys import check_openpgp  # noqa: PLC0415

        result = check_openpgp(signed.signature, signed.payload, self._ring)
        owner = self._pgp_owner.get(result.primary_fingerprint or "")
        problem = result.problem if not result.ok else None
        if result.ok and owner is None:
            problem = UNTRUSTED_KEY  # in the keyring but attributed to no signer: never a pass
        # A signature with its own expiry is judged at now: its verdict may not be kept.
        return SignatureFacts(owner, result.primary_fingerprint, "openpgp", problem, cacheable=result.expires is None)

    # -- SSH -------------------------------------------------------------------------------------

    def _ssh_check(
        self, signed: SignedPayload, *, principal_hint: str | None, at: dt.datetime | None
    ) -> SignatureFacts:
        try:
            sig = parse_armored_sshsig(signed.signature)
        except BadSignature:
            return SignatureFacts(None, None, "ssh", BAD_SIGNATURE)
        if not verify_sshsig(sig, signed.payload):
            return SignatureFacts(None, sig.fingerprint, "ssh", BAD_SIGNATURE)
        if at is None:
            return SignatureFacts(None, sig.fingerprint, "ssh", "no signing time to judge the SSH key at")
        matched: list[tuple[str, str]] = []
        # The most specific reason wins: a signer that knows the key says why it refused it.
        reason = UNTRUSTED_CA if isinstance(sig.public_key, SshCertificate) else UNTRUSTED_KEY
        reason_signer: str | None = None
        for name, signers in self._ssh:
            outcome = signers.check(sig, principal_hint=principal_hint, at=at)
            if outcome.match is not None:
                matched.append((name, outcome.match.fingerprint))
            elif outcome.problem not in (None, UNTRUSTED_KEY, UNTRUSTED_CA) and reason_signer is None:
                reason, reason_signer = str(outcome.problem), name
        if len(matched) == 1:
            return SignatureFacts(matched[0][0], matched[0][1], "ssh", None)
        if matched:
            names = ", ".join(name for name, _ in matched)
            return SignatureFacts(None, sig.fingerprint, "ssh", f"signature matches more than one signer ({names})")
        return SignatureFacts(reason_signer, sig.fingerprint, "ssh", reason)

    # -- X.509 (gitsign) -------------------------------------------------------------------------

    def _x509(self, signed: SignedPayload) -> SignatureFacts:
        if not self._keyless:
            return SignatureFacts(None, None, "x509", NO_KEYLESS_SIGNER)
        from gitsecure.verify import gitsign  # noqa: PLC0415 (asn1crypto; sigstore loads inside check_x509)

        problems: list[str] = []
        for digest, (root_json, members) in self._keyless.items():
            identities = [
                gitsign.KeylessIdentity(
                    subject=identity.subject,
                    issuer=identity.issuer,
                    subject_regexp=identity.subject_regexp,
                    issuer_regexp=identity.issuer_regexp,
                )
                for _, identity in members
            ]
            result = gitsign.check_x509(
                signed.signature, signed.payload, self._root_file(digest, root_json), identities
            )
            key = f"{result.identity} from {result.issuer}" if result.identity else None
            if not result.ok:
                problems.append(result.problem or "bad signature")
                continue
            owners = sorted(
                {
                    name
                    for name, identity in members
                    if identity.matches(subject=result.identity or "", issuer=result.issuer or "")
                }
            )
            if len(owners) > 1:
                raise InputError(
                    f"keyless identity {key} matches more than one signer ({', '.join(owners)})",
                    reference="policy-ambiguous-signer",
                    hint="one identity must belong to one signer: narrow the subject or issuer regexps",
                )
            if not owners:
                return SignatureFacts(None, key, "x509", gitsign.PROBLEM_IDENTITY)
            return SignatureFacts(owners[0], key, "x509", None)
        specific = [problem for problem in problems if problem != gitsign.PROBLEM_UNTRUSTED]
        return SignatureFacts(None, None, "x509", (specific or problems)[0])

    def _root_file(self, digest: str, root_json: bytes) -> Path:
        # The bytes the policy hash covers, not the file as it is now: an edit after loading changes nothing.
        if self._roots_dir is None:
            self._roots_dir = Path(tempfile.mkdtemp(prefix="gitsecure-roots-"))
        path = self._roots_dir / f"{digest}.json"
        if not path.exists():
            path.write_bytes(root_json)
        return path


def _openpgp_owners(policy: Policy) -> dict[str, str]:
    """Every primary and subkey fingerprint of every signer's OpenPGP keys → the signer's name."""
    owners: dict[str, str] = {}
    primaries: dict[str, str] = {}
    for signer in policy.signers.values():
        for index, armored in enumerate(signer.openpgp_keys):
            blocks = _PGP_BLOCK.findall(armored)
            keys = [key for block in blocks for key in parse_public_keys(block)]
            if not keys:
                raise InputError(
                    f"{policy.origin}: signer {signer.name}: OpenPGP key {index + 1} holds no public key",
                    reference="invalid-policy",
                )
            for key in keys:
                _claim(owners, key.fingerprint, signer.name, policy)
                if not key.is_subkey:
                    primaries[key.fingerprint] = signer.name
    # Signatures are attributed by primary fingerprint (gnupg_keys reports the primary of a subkey).
    return primaries


def _ssh_signers(policy: Policy) -> list[tuple[str, AllowedSigners]]:
    """One AllowedSigners per signer with SSH material: its files' lines, then its plain keys for any principal."""
    from gitsecure.crypto.sshkeys import SshPublicKey  # noqa: PLC0415

    result: list[tuple[str, AllowedSigners]] = []
    owners: dict[str, str] = {}
    for signer in policy.signers.values():
        entries: list[AllowedSigner] = []
        for index, data in enumerate(signer.ssh_allowed_signers):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(
                    f"{policy.origin}: signer {signer.name}: allowed_signers {index + 1} is not UTF-8",
                    reference="invalid-allowed-signers",
                ) from None
            entries.extend(
                AllowedSigners.parse(text, source=f"signer {signer.name} allowed_signers {index + 1}").entries
            )
        if signer.ssh_keys:
            keys: Sequence[SshPublicKey] = [SshPublicKey.from_openssh(line) for line in signer.ssh_keys]
            entries.extend(AllowedSigners.from_keys(keys, source=f"signer {signer.name} ssh keys").entries)
        for entry in entries:
            _claim(owners, entry.key.fingerprint, signer.name, policy)
        if entries:
            result.append((signer.name, AllowedSigners(entries, source=f"signer {signer.name}")))
    return result


def _claim(owners: dict[str, str], fingerprint: str, name: str, policy: Policy) -> None:
    previous = owners.setdefault(fingerprint, name)
    if previous != name:
        raise InputError(
            f"{policy.origin}: key {fingerprint} belongs to two signers ({previous} and {name})",
            reference="policy-ambiguous-signer",
            hint="a key must belong to one signer, so that it never counts twice towards a threshold",
        )
