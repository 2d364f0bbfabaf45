"""Key facts from GnuPG's machine-readable listing (``--with-colons --fixed-list-mode --check-sigs``).

The record layout is GnuPG's ``doc/DETAILS``. Only what the signature gate
needs is read: per primary key and subkey its validity, creation and expiry
times, capabilities and user IDs, plus the *verified* revocation signatures
(``rev`` records whose check status is ``!``) with their time and reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

# Validity codes that take a key out of the trusted set: GnuPG found it invalid
# (e.g. no valid self-signature) or the user disabled it.
_UNUSABLE_VALIDITY = frozenset({"i", "d"})
# Reason-for-revocation codes that are soft: "superseded" (1) and "retired" (3).
# Every other code, unknown ones included, is hard (the rule Sequoia-PGP applies too).
SOFT_REVOCATION_REASONS = frozenset({1, 3})
_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


@dataclass(frozen=True)
class KeyFacts:
    """What GnuPG says about one primary key or subkey, after checking its self-signatures."""

    primary_fingerprint: str
    subkey_fingerprint: str
    """This key's own fingerprint (equal to ``primary_fingerprint`` for a primary key)."""
    can_sign: bool
    created: dt.datetime
    expires: dt.datetime | None
    revoked: bool
    revoked_at: dt.datetime | None
    """The earliest verified revocation's time; ``None`` when unknown (e.g. a designated revoker)."""
    uids: tuple[str, ...]
    revocation_reason: int | None = None
    """RFC 9580 reason code of the revocation that counts (a hard one if any); ``None`` when none given."""

    @property
    def hard_revoked(self) -> bool:
        """Revoked as compromised, for no stated reason, or at an unknown time: every signature is suspect."""
        if not self.revoked:
            return False
        return self.revoked_at is None or self.revocation_reason not in SOFT_REVOCATION_REASONS


@dataclass
class _Entry:
    kind: str
    validity: str
    created: dt.datetime
    expires: dt.datetime | None
    caps: str
    fingerprint: str = ""
    revocations: list[tuple[dt.datetime, int | None]] = field(default_factory=list)
    uids: list[tuple[str, str]] = field(default_factory=list)  # (validity, user ID)


def parse_key_listing(text: str) -> dict[str, KeyFacts]:
    """Facts keyed by every usable (sub)key fingerprint (upper-case hex)."""
    entries: list[_Entry] = []
    primary: _Entry | None = None
    in_key = False  # whether the last key-level record was pub/sub (not a uid)
    for line in text.splitlines():
        fields = line.split(":")
        kind = fields[0]
        if kind in ("pub", "sub") and len(fields) > 11:
            entry = _Entry(kind, fields[1], _time(fields[5]) or _EPOCH, _time(fields[6]), fields[11])
            entries.append(entry)
            primary = entry if kind == "pub" else primary
            in_key = True
        elif kind == "fpr" and entries and not entries[-1].fingerprint and len(fields) > 9:
            entries[-1].fingerprint = fields[9].upper()
        elif kind in ("uid", "uat"):
            in_key = False
            if kind == "uid" and primary is not None and len(fields) > 9:
                primary.uids.append((fields[1], _unescape(fields[9])))
        elif kind == "rev" and in_key and entries and len(fields) > 10 and fields[1] == "!":
            _add_revocation(entries[-1], fields)
    return _facts(entries)


def _add_revocation(entry: _Entry, fields: list[str]) -> None:
    sig_class, _, reason = fields[10].partition(",")
    expected = "20" if entry.kind == "pub" else "28"
    when = _time(fields[5])
    if not sig_class.startswith(expected) or when is None:
        return
    try:
        code = int(reason, 16) if reason else None
    except ValueError:
        code = None
    entry.revocations.append((when, code))


def _facts(entries: list[_Entry]) -> dict[str, KeyFacts]:
    facts: dict[str, KeyFacts] = {}
    primary: _Entry | None = None
    for entry in entries:
        if entry.kind == "pub":
            primary = entry
        if primary is None or not entry.fingerprint:
            continue
        if primary.validity in _UNUSABLE_VALIDITY or entry.validity in _UNUSABLE_VALIDITY:
            continue
        revoked_at, reason = _revocation(entry)
        facts[entry.fingerprint] = KeyFacts(
            primary_fingerprint=primary.fingerprint,
            subkey_fingerprint=entry.fingerprint,
            # Lower-case letters are this key's own capabilities; upper-case ones
            # on a pub record summarise the whole key and must not count here.
            can_sign="s" in entry.caps,
            created=entry.created,
            expires=entry.expires,
            revoked=entry.validity == "r" or bool(entry.revocations),
            revoked_at=revoked_at,
            uids=_uids(primary),
            revocation_reason=reason,
        )
    return facts


def _uids(primary: _Entry) -> tuple[str, ...]:
    # A revoked key shows every user ID as revoked too; only a key that is not
    # revoked tells a user ID's own revocation apart.
    key_revoked = primary.validity == "r"
    return tuple(uid for validity, uid in primary.uids if key_revoked or validity != "r")


def _revocation(entry: _Entry) -> tuple[dt.datetime | None, int | None]:
    if not entry.revocations:
        return None, None
    revoked_at = min(when for when, _ in entry.revocations)
    hard = [code for _, code in entry.revocations if code not in SOFT_REVOCATION_REASONS]
    if hard:
        return revoked_at, hard[0]
    return revoked_at, min(entry.revocations)[1]


_EPOCH = dt.datetime.fromtimestamp(0, dt.UTC)


def _time(value: str) -> dt.datetime | None:
    if not value:
        return None
    if value.isdigit():
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    # Without --fixed-list-mode GnuPG may print ISO 8601 basic format.
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)


def _unescape(value: str) -> str:
    raw = _ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), value.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "replace")
