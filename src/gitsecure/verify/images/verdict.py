"""What the image gate decided for one image: the digest it verified, per-authority checks, and why not.

The JSON form is an interface (reconcilers pin ``reference``, the digest-pinned name of what was verified), so
its field names are stable::

    {"image": "ghcr.io/acme/app:1.2", "accepted": true, "mode": "enforce", "rule": "images[0]",
     "digest": "sha256:...", "reference": "ghcr.io/acme/app@sha256:...", "policy_hash": "sha256:...",
     "cached": false, "reasons": [],
     "authorities": [{"name": "ci", "satisfied": true,
                      "checks": [{"ok": true, "reason": "ok", "signer": "sha256:...", "source": "legacy",
                                  "tlog": false, "annotations": {}}]}]}

``accepted`` is the policy's answer; ``blocking`` says whether it stops a deploy (a rejected image under a
``warn`` rule is reported, not blocking). A verdict cannot claim acceptance with reasons against it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitsecure.verify.images.authority import SignatureCheck
from gitsecure.verify.images.rules import Enforcement

__all__ = ["AuthorityOutcome", "ImageVerdict", "check_from_dict", "check_to_dict", "render_image_lines"]


def check_to_dict(check: SignatureCheck) -> dict[str, Any]:
    """The JSON object of one signature check."""
    return {
        "ok": check.ok,
        "reason": check.reason,
        "signer": check.signer,
        "source": check.source,
        "tlog": check.tlog,
        "annotations": dict(check.annotations),
    }


def check_from_dict(data: Any) -> SignatureCheck:
    """The check :func:`check_to_dict` produced; ValueError on any other shape (cache files are untrusted input)."""
    if not isinstance(data, dict) or set(data) != {"ok", "reason", "signer", "source", "tlog", "annotations"}:
        raise ValueError("not a signature check")
    annotations = data["annotations"]
    if (
        not isinstance(data["ok"], bool)
        or not isinstance(data["tlog"], bool)
        or not all(isinstance(data[key], str) for key in ("reason", "signer"))
        or data["source"] not in ("legacy", "bundle", "attestation")
        or not isinstance(annotations, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())
    ):
        raise ValueError("not a signature check")
    return SignatureCheck(data["ok"], data["reason"], data["signer"], data["source"], data["tlog"], annotations)


@dataclass(frozen=True)
class AuthorityOutcome:
    """One authority of the rule: whether a valid signature of it was found, and every check made for it."""

    name: str
    satisfied: bool
    checks: tuple[SignatureCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this outcome."""
        return {"name": self.name, "satisfied": self.satisfied, "checks": [check_to_dict(c) for c in self.checks]}

    @property
    def why_not(self) -> str:
        """The distinct failure reasons of its checks, for a one-line message."""
        reasons = {check.reason for check in self.checks if not check.ok} or {"no-signature"}
        if len(reasons) > 1:  # "no bundle" next to a legacy signature that failed is noise
            reasons.discard("no-signature")
        return ", ".join(sorted(reasons))


@dataclass(frozen=True)
class ImageVerdict:
    """The gate's answer for one image reference."""

    image: str  # as given
    accepted: bool
    policy_hash: str
    mode: Enforcement = "enforce"
    rule: str | None = None  # None: no rule matched (denied) or the reference could not be used
    digest: str | None = None
    reference: str | None = None  # registry/repository@digest: what was verified (pin exactly this)
    reasons: tuple[str, ...] = ()
    authorities: tuple[AuthorityOutcome, ...] = ()
    attestations: tuple[SignatureCheck, ...] = ()
    cached: bool = False

    def __post_init__(self) -> None:
        if self.accepted and (self.reasons or self.digest is None or self.rule is None):
            raise ValueError("an accepted image needs a rule, a digest and no reasons against it")
        if not self.accepted and not self.reasons:
            raise ValueError("a rejected image needs a reason")

    @property
    def blocking(self) -> bool:
        """True when this verdict stops a deploy: rejected under an ``enforce`` rule (or no rule at all)."""
        return not self.accepted and self.mode == "enforce"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this verdict (field order stable)."""
        return {
            "image": self.image,
            "accepted": self.accepted,
            "mode": self.mode,
            "rule": self.rule,
            "digest": self.digest,
            "reference": self.reference,
            "policy_hash": self.policy_hash,
            "cached": self.cached,
            "reasons": list(self.reasons),
            "authorities": [outcome.to_dict() for outcome in self.authorities],
            "attestations": [check_to_dict(check) for check in self.attestations],
        }

    def to_json(self) -> str:
        """One JSON object and a newline."""
        return json.dumps(self.to_dict(), indent=2) + "\n"


def render_image_lines(verdicts: Sequence[ImageVerdict], *, where: Sequence[str] | None = None) -> str:
    """One line per image: ``ok``, ``WARN`` (rejected, warn mode) or ``FAIL``, then the reasons indented."""
    lines: list[str] = []
    for index, verdict in enumerate(verdicts):
        status = "ok  " if verdict.accepted else "WARN" if not verdict.blocking else "FAIL"
        signed = ", ".join(outcome.name for outcome in verdict.authorities if outcome.satisfied) or "-"
        pinned = verdict.reference or verdict.digest or "-"
        origin = f"  ({where[index]})" if where is not None else ""
        rule = f"{verdict.rule} {verdict.mode}" if verdict.rule else "no rule"
        cached = ", cached" if verdict.cached else ""
        lines.append(f"{status} image {verdict.image}  {pinned}  [{rule}; signed by {signed}{cached}]{origin}")
        lines.extend(f"       {reason}" for reason in verdict.reasons)
    return "\n".join(lines) + ("\n" if lines else "")
