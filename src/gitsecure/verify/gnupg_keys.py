"""OpenPGP signatures on Git objects: trusted keys loaded by GnuPG, signatures checked in-process.

GnuPG (through python-gnupg) imports the trusted certificates into a throwaway
``GNUPGHOME``, checks their self-signatures, bindings, expiry and revocations,
and lists the result; it is never asked about a commit. The signature math
runs in :mod:`gitsecure.crypto.openpgp`, so a range of thousands of commits
costs no process per commit. GnuPG runs with ``--no-autostart``: importing
and listing public keys needs no gpg-agent or dirmngr, so none is started.

When a key must have been valid: at the signature's creation time, which the
signer chose. Expiry and a *soft* revocation (reason "superseded" or
"retired") therefore reject only signatures dated at or after them. A *hard*
revocation (reason "compromised", no reason, an unknown reason, or a
revocation whose time is unknown) rejects every signature by the key, whatever
its date: whoever holds a compromised key can back-date a signature. GnuPG
itself judges expiry and revocation at the current time instead; the tests
pin down where the two differ.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import gnupg

from gitsecure.crypto.openpgp import (
    BadSignature,
    OpenPgpKey,
    OpenPgpSignature,
    parse_armored_signature,
    parse_public_keys,
    signature_problem,
    verify_signature,
)
from gitsecure.errors import InputError
from gitsecure.verify.gpg_colons import KeyFacts, parse_key_listing

__all__ = ["GpgKeyring", "KeyFacts", "PgpResult", "check_openpgp"]

# Options for every gpg call: no agent, no network, no trust database (trust
# comes from the policy, not from the web of trust).
_GPG_OPTIONS = ["--no-autostart", "--no-auto-key-retrieve", "--trust-model", "always", "--no-greeting"]
_GPG_TIMEOUT = 60
_FAILED_STATUS = frozenset({"BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG"})


@dataclass(frozen=True)
class PgpResult:
    """The verdict on one OpenPGP signature."""

    ok: bool
    primary_fingerprint: str | None
    subkey_fingerprint: str | None
    """The key that made the signature: a subkey's, or the primary's own when it signed."""
    problem: str | None
    """Why the signature is rejected (``None`` when ``ok``): a short, fixed phrase."""
    created: dt.datetime | None = None
    expires: dt.datetime | None = field(default=None, compare=False)
    """When the signature itself expires (it is then judged at now, so its verdict may change)."""


class GpgKeyring:
    """Trusted OpenPGP certificates in a throwaway GnuPG home, removed by :meth:`close`.

    Everything GnuPG is asked for is read at construction, so :meth:`facts`
    and :meth:`keys` cost nothing afterwards; the home stays only for
    :meth:`gpg_verify`. Use it as a context manager.
    """

    def __init__(self, armored_keys: Sequence[bytes], *, gpg_binary: str = "gpg") -> None:
        """Import ``armored_keys`` (each must hold at least one public key; secret keys are refused)."""
        self._home = Path(tempfile.mkdtemp(prefix="gitsecure-gpg-"))
        try:
            self._gpg = _start_gpg(gpg_binary, self._home)
            for index, armored in enumerate(armored_keys, start=1):
                self._import(index, armored)
            self._facts = parse_key_listing(self._run(["--check-sigs"]))
            self._keys = {key.fingerprint: key for key in parse_public_keys(self._gpg.export_keys([], armor=False))}
        except BaseException:
            self.close()
            raise
        self._by_key_id: dict[str, list[OpenPgpKey]] = {}
        for key in self._keys.values():
            self._by_key_id.setdefault(key.key_id, []).append(key)

    def __enter__(self) -> GpgKeyring:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def home(self) -> Path:
        """The throwaway GnuPG home (gone after :meth:`close`)."""
        return self._home

    def close(self) -> None:
        """Remove the GnuPG home (and stop an agent, should anything have started one)."""
        if not self._home.exists():
            return
        if any(path.name.startswith("S.") for path in self._home.iterdir()):
            subprocess.run(  # noqa: S603 - fixed arguments, no shell
                ["gpgconf", "--homedir", str(self._home), "--kill", "all"],  # noqa: S607
                check=False,
                capture_output=True,
                timeout=_GPG_TIMEOUT,
            )
        shutil.rmtree(self._home, ignore_errors=True)

    def facts(self) -> dict[str, KeyFacts]:
        """GnuPG's facts, keyed by every usable primary key and subkey fingerprint."""
        return dict(self._facts)

    def fact(self, fingerprint: str) -> KeyFacts | None:
        """The facts of one (sub)key, or ``None`` when GnuPG does not list it as usable."""
        return self._facts.get(fingerprint)

    def keys(self) -> dict[str, OpenPgpKey]:
        """The public keys from ``gpg --export`` of the same keyring, keyed by fingerprint."""
        return dict(self._keys)

    def candidates(self, sig: OpenPgpSignature) -> list[OpenPgpKey]:
        """The keys ``sig`` names as issuer: by fingerprint when it gives one, else by key id."""
        if sig.issuer_fingerprint is not None:
            key = self._keys.get(sig.issuer_fingerprint)
            return [key] if key is not None else []
        if sig.issuer_key_id is not None:
            return list(self._by_key_id.get(sig.issuer_key_id, []))
        return []

    def gpg_verify(self, payload: bytes, armored_sig: bytes, *, at: dt.datetime | None = None) -> str | None:
        """GnuPG's own verdict: the primary fingerprint if ``gpg --verify`` says GOODSIG, else ``None``.

        As git reads it: exactly one GOODSIG and VALIDSIG, no failure status,
        and exit status 0. A reference for tests and a fallback. SHA-1 is refused as in-process;
        ``at`` runs gpg with that faked time, so its expiry and revocation
        checks happen at ``at`` instead of now.
        """
        extra = ["--weak-digest", "SHA1"]
        if at is not None:
            extra += ["--faked-system-time", f"{int(at.timestamp())}!"]
        handle, sig_path = tempfile.mkstemp(dir=self._home, suffix=".asc")
        try:
            with os.fdopen(handle, "wb") as sig_file:
                sig_file.write(armored_sig)
            result = self._gpg.verify_data(sig_path, payload, extra_args=extra)
        finally:
            os.unlink(sig_path)
        status = [line.split()[1:] for line in (result.stderr or "").splitlines() if line.startswith("[GNUPG:] ")]
        names = [fields[0] for fields in status if fields]
        valid = [fields for fields in status if fields and fields[0] == "VALIDSIG"]
        if (
            result.returncode != 0
            or names.count("GOODSIG") != 1
            or len(valid) != 1
            or _FAILED_STATUS.intersection(names)
        ):
            return None
        fields = valid[0]
        return fields[10].upper() if len(fields) > 10 else fields[1].upper()

    def _import(self, index: int, armored: bytes) -> None:
        if b"PRIVATE KEY BLOCK" in armored:
            raise InputError(f"OpenPGP key {index} is a secret key; give the public key", reference="secret-key")
        result = self._gpg.import_keys(armored)
        if result.sec_read:
            raise InputError(f"OpenPGP key {index} is a secret key; give the public key", reference="secret-key")
        if not result.fingerprints:
            raise InputError(f"OpenPGP key {index} holds no usable public key", reference="no-openpgp-key")

    def _run(self, args: list[str]) -> str:
        # python-gnupg parses no revocation records, so the listing is read here.
        command = self._gpg.make_args(args, False)
        try:
            completed = subprocess.run(  # noqa: S603 - argument list built by python-gnupg, no shell
                command, check=False, capture_output=True, timeout=_GPG_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError("gpg could not list the imported keys", reference="gpg-failed") from exc
        if completed.returncode != 0:
            raise InputError("gpg could not list the imported keys", reference="gpg-failed")
        return completed.stdout.decode("utf-8", "replace")


def _start_gpg(gpg_binary: str, home: Path) -> gnupg.GPG:
    try:
        return gnupg.GPG(gpgbinary=gpg_binary, gnupghome=str(home), options=list(_GPG_OPTIONS))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot run {gpg_binary}", hint="install GnuPG to verify OpenPGP signatures", reference="gpg-unavailable"
        ) from exc


def check_openpgp(sig_armored: bytes, payload: bytes, ring: GpgKeyring, *, now: dt.datetime | None = None) -> PgpResult:
    """Verify one OpenPGP signature over ``payload`` against the keys in ``ring``.

    The signing key may be a primary key or a subkey; it must be
    signing-capable (and a subkey cross-certified), not revoked and not
    expired at the signature's creation time, and hard-revoked never (see the
    module docstring). A signature's own expiry is judged at ``now``.
    """
    try:
        sig = parse_armored_signature(sig_armored)
    except BadSignature:
        return PgpResult(False, None, None, "malformed signature")
    problem = signature_problem(sig)
    if problem is not None:
        return PgpResult(False, None, None, problem, sig.created, sig.expires)
    candidates = ring.candidates(sig)
    if not candidates:
        named = sig.issuer_fingerprint is not None or sig.issuer_key_id is not None
        return PgpResult(
            False, None, None, "untrusted key" if named else "signature names no issuer", sig.created, sig.expires
        )
    problem = "bad signature"
    for key in candidates:
        key_problem = signature_problem(sig, key)
        if key_problem is not None:
            problem = key_problem
            continue
        if verify_signature(sig, payload, key):
            validity = _validity_problem(sig, key, ring, now or dt.datetime.now(dt.UTC))
            return PgpResult(
                validity is None, key.primary_fingerprint, key.fingerprint, validity, sig.created, sig.expires
            )
    first = candidates[0]
    return PgpResult(False, first.primary_fingerprint, first.fingerprint, problem, sig.created, sig.expires)


def _validity_problem(sig: OpenPgpSignature, key: OpenPgpKey, ring: GpgKeyring, now: dt.datetime) -> str | None:
    own = ring.fact(key.fingerprint)
    primary = ring.fact(key.primary_fingerprint)
    if own is None or primary is None:
        # GnuPG found the key invalid (no valid self-signature or binding) or disabled.
        return "untrusted key"
    if not own.can_sign:
        return "key cannot sign"
    if key.is_subkey and not key.cross_certified:
        return "subkey not cross-certified"
    if sig.created < own.created or sig.created < primary.created:
        return "signature predates key"
    for item in (own, primary):
        if item.revoked and (item.hard_revoked or (item.revoked_at is not None and sig.created >= item.revoked_at)):
            return "key revoked"
    for item in (own, primary):
        if item.expires is not None and sig.created >= item.expires:
            return "key expired"
    if sig.expires is not None and now >= sig.expires:
        return "signature expired"
    return None
