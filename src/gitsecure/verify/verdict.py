"""What ``gitsecure verify`` decided: one check per object verified, and the verdict over them.

The JSON form is an interface (reconcilers and CI parse it), so its field names are stable:

    {"trusted": false, "revision": "...", "mode": "strict", "policy_hash": "sha256:...",
     "checks": [{"oid": "...", "kind": "commit", "signer": "alice", "key": "SHA256:...",
                 "format": "ssh", "problems": []}],
     "problems": ["..."]}

A verdict cannot claim trust it has not earned: ``trusted=True`` with no checks, with a problem,
or with a failed check is refused at construction (a bug in the caller must not become a pass).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = ["FORMATS", "KINDS", "CommitCheck", "Format", "Kind", "Verdict", "render_text"]

Kind = Literal["commit", "tag"]
Format = Literal["openpgp", "ssh", "x509", "unknown"]
KINDS: tuple[Kind, ...] = get_args(Kind)
FORMATS: tuple[Format, ...] = get_args(Format)
_CHECK_FIELDS = ("oid", "kind", "signer", "key", "format", "problems")


@dataclass(frozen=True)
class CommitCheck:
    """The result for one object: who signed it with which key, in which format, and what is wrong (if anything).

    ``key`` is the OpenPGP primary fingerprint (40 hex), the SSH key's ``SHA256:`` fingerprint, or
    the keyless identity (``subject`` from ``issuer``). ``format`` is None for an unsigned object.
    """

    oid: str
    kind: Kind
    signer: str | None = None
    key: str | None = None
    format: Format | None = None
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)} or None")
        if not self.problems and (self.signer is None or self.key is None or self.format in (None, "unknown")):
            raise ValueError("a check without problems needs a signer, a key and a known format")

    @property
    def ok(self) -> bool:
        """True when the object is signed by a trusted signer and nothing is wrong."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this check (field order stable)."""
        return {
            "oid": self.oid,
            "kind": self.kind,
            "signer": self.signer,
            "key": self.key,
            "format": self.format,
            "problems": list(self.problems),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CommitCheck:
        """The check a :meth:`to_dict` produced; ValueError on any other shape (cache files are untrusted input)."""
        if set(data) != set(_CHECK_FIELDS):
            raise ValueError("not a check object")
        problems = data["problems"]
        optional = (data["signer"], data["key"], data["format"])
        if (
            not isinstance(data["oid"], str)
            or not all(item is None or isinstance(item, str) for item in optional)
            or not isinstance(problems, list)
            or not all(isinstance(problem, str) for problem in problems)
        ):
            raise ValueError("not a check object")
        return cls(data["oid"], data["kind"], data["signer"], data["key"], data["format"], tuple(problems))


@dataclass(frozen=True)
class Verdict:
    """The decision for a revision: trusted or not, the checks that led to it, and problems not tied to one object."""

    trusted: bool
    revision: str
    mode: str
    policy_hash: str
    checks: tuple[CommitCheck, ...] = ()
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.trusted and (not self.checks or self.problems or not all(check.ok for check in self.checks)):
            raise ValueError("a trusted verdict needs at least one check and no problems")

    @classmethod
    def decide(
        cls, *, revision: str, mode: str, policy_hash: str, checks: Sequence[CommitCheck], problems: Sequence[str] = ()
    ) -> Verdict:
        """The verdict the checks and problems add up to: trusted only with checks, all passing, and no problems."""
        trusted = bool(checks) and not problems and all(check.ok for check in checks)
        return cls(trusted, revision, mode, policy_hash, tuple(checks), tuple(problems))

    @property
    def failed(self) -> tuple[CommitCheck, ...]:
        """The checks with problems."""
        return tuple(check for check in self.checks if not check.ok)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this verdict (field order stable)."""
        return {
            "trusted": self.trusted,
            "revision": self.revision,
            "mode": self.mode,
            "policy_hash": self.policy_hash,
            "checks": [check.to_dict() for check in self.checks],
            "problems": list(self.problems),
        }

    def to_json(self) -> str:
        """The verdict as indented JSON text, with a final newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _check_line(check: CommitCheck) -> str:
    status = "ok  " if check.ok else "FAIL"
    line = f"{status} {check.kind:<6} {check.oid[:12]}"
    if check.format or check.signer or check.key:
        signed = f"{check.signer or '-'} {check.format or '-'}"
        if check.key:
            signed += f" {check.key}"
        line += f"  {signed}"
    if check.problems:
        line += ": " + "; ".join(check.problems)
    return line


def render_text(verdict: Verdict, *, max_checks: int | None = None) -> str:
    """One line per check, then the verdict-level problems and a summary line.

    With ``max_checks``, failed checks are listed first (up to the limit), then passing ones,
    and a line counts what was left out; a 5,000-commit range stays readable on a terminal.
    """
    checks = verdict.checks
    listed: Sequence[CommitCheck] = checks
    if max_checks is not None and len(checks) > max_checks:
        failures_first = sorted(range(len(checks)), key=lambda index: checks[index].ok)  # stable sort
        keep = set(failures_first[: max(max_checks, 0)])
        listed = [check for index, check in enumerate(checks) if index in keep]
    lines = [_check_line(check) for check in listed]
    if len(listed) < len(checks):
        left_failed = len(verdict.failed) - sum(1 for check in listed if not check.ok)
        lines.append(f"... {len(checks) - len(listed)} more checks not shown ({left_failed} of them failed)")
    lines.extend(f"problem: {problem}" for problem in verdict.problems)
    failed = len(verdict.failed)
    counted = f"{len(checks)} object{'s' if len(checks) != 1 else ''} checked"
    if failed:
        counted += f", {failed} failed"
    word = "trusted" if verdict.trusted else "rejected"
    lines.append(f"{word}: {verdict.revision} (mode {verdict.mode}, {counted}, policy {verdict.policy_hash[:19]})")
    return "\n".join(lines) + "\n"
