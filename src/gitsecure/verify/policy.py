"""The verify policy: who may sign, for which repositories and branches, and how strictly.

The model is a set of frozen dataclasses. :func:`load_policy` reads a policy file (the parser and
its validation live in ``verify/policy_file.py``); :func:`policy_from_flags` builds the
one-rule policy of the CLI's quick flags. Every policy carries a hash of its canonical form
and of every byte of trust material, so that cached verification results never outlive a change
of keys or rules (flux #2165).

Selection is deliberately not "most specific wins": exactly one rule must match a
(repository, branch); none or several is an error (as Argo CD 3.5 does for repositories).
Image rules (``images:``, :mod:`gitsecure.verify.images.rules`) are the exception: there the most
specific glob wins, by a documented total order, because image globs nest by design.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

from gitsecure.errors import InputError, UsageError
from gitsecure.verify.images.rules import ImageAuthority, ImageRule, image_rules_document, select_image_rule
from gitsecure.verify.patterns import PatternSet, compile_email_glob, email_matches, normalize_branch, normalize_repo
from gitsecure.verify.trust import check_allowed_signers, check_openpgp_keys, read_trust_file, ssh_keys_from_file

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MODES",
    "KeylessIdentity",
    "Mode",
    "Policy",
    "Rule",
    "Signer",
    "load_policy",
    "policy_from_flags",
    "policy_hash",
]

Mode = Literal["head", "tag", "tag-and-head", "strict"]
MODES: tuple[Mode, ...] = get_args(Mode)
POLICY_VERSION = 1
_HASH = re.compile(r"sha256:[0-9a-f]{64}")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class KeylessIdentity:
    """A gitsign (Sigstore keyless) identity: subject and issuer, each exact or a full-match Python regex."""

    trusted_root: Path
    trusted_root_json: bytes = field(repr=False)  # the bytes hashed into the policy; use these, not the path
    subject: str | None = None
    subject_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None

    def __post_init__(self) -> None:
        for exact, pattern, what in (
            (self.subject, self.subject_regexp, "subject"),
            (self.issuer, self.issuer_regexp, "issuer"),
        ):
            if (exact is None) == (pattern is None):
                raise ValueError(f"exactly one of {what} and {what}_regexp is required")
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"invalid {what}_regexp: {exc}") from None

    def matches(self, *, subject: str, issuer: str) -> bool:
        """True when the certificate's subject (SAN) and OIDC issuer are the ones this identity names."""
        subject_ok = (
            subject == self.subject if self.subject_regexp is None else bool(re.fullmatch(self.subject_regexp, subject))
        )
        issuer_ok = (
            issuer == self.issuer if self.issuer_regexp is None else bool(re.fullmatch(self.issuer_regexp, issuer))
        )
        return subject_ok and issuer_ok


@dataclass(frozen=True)
class Signer:
    """A named holder of trust material, optionally limited to the emails it may sign for."""

    name: str
    openpgp_keys: tuple[bytes, ...] = field(default=(), repr=False)  # armoured public keys
    ssh_allowed_signers: tuple[bytes, ...] = field(default=(), repr=False)  # allowed_signers file contents
    ssh_keys: tuple[str, ...] = ()  # "<type> <base64>" lines
    keyless: tuple[KeylessIdentity, ...] = ()
    emails: tuple[str, ...] = ()  # globs; empty = any email
    _email_patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.openpgp_keys or self.ssh_allowed_signers or self.ssh_keys or self.keyless):
            raise ValueError(f"signer {self.name} has no trust material")
        object.__setattr__(self, "_email_patterns", tuple(compile_email_glob(email) for email in self.emails))

    def allows_email(self, email: str) -> bool:
        """True when this signer may sign for ``email`` (always, when the signer lists no emails)."""
        return not self.emails or email_matches(self._email_patterns, email)

    def email_problems(self, *, author: str, committer: str | None = None) -> tuple[str, ...]:
        """Why this signer may not vouch for an object with these emails (author/tagger and committer); () if it may.

        Both emails must be allowed: a signature covers the whole object, and a platform key
        (GitHub's web-flow) must not turn an outsider's authorship into a trusted commit.
        """
        claims = [("author", author)] + ([("committer", committer)] if committer is not None else [])
        return tuple(self.role_email_problems(claims))

    def role_email_problems(self, emails: Iterable[tuple[str, str | None]]) -> list[str]:
        """Why this signer may not vouch for these (role, email) claims; a missing email fails if emails are listed."""
        problems = []
        for role, email in emails:
            if email is None:
                if self.emails:
                    problems.append(f"no {role} email, and signer {self.name} may sign only for listed emails")
            elif not self.allows_email(email):
                problems.append(f"{role} email {email!r} is not one signer {self.name} may sign for")
        return problems


@dataclass(frozen=True)
class Rule:
    """Which repositories and branches a rule covers, the mode, and the signers (k of n, some required)."""

    index: int  # position in the policy's rules, for messages (rules[index])
    repos: tuple[str, ...]
    mode: Mode
    signers: tuple[str, ...]
    branches: tuple[str, ...] | None = None  # None: every branch, and revisions named without one
    threshold: int = 1
    require: tuple[str, ...] = ()
    _repos: PatternSet = field(init=False, repr=False, compare=False)
    _branches: PatternSet | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")
        if not self.signers or len(set(self.signers)) != len(self.signers):
            raise ValueError("signers must be a non-empty list without repeats")
        if not 1 <= self.threshold <= len(self.signers):
            raise ValueError(f"threshold must be from 1 to {len(self.signers)}")
        if not set(self.require) <= set(self.signers) or len(self.require) > self.threshold:
            raise ValueError("require must name signers of the rule, no more than the threshold")
        object.__setattr__(self, "_repos", PatternSet.parse(self.repos, repos=True))
        branches = None if self.branches is None else PatternSet.parse(self.branches, repos=False)
        object.__setattr__(self, "_branches", branches)

    @property
    def name(self) -> str:
        """``rules[<index>]``, the name messages use."""
        return f"rules[{self.index}]"

    def matches(self, repo: str, branch: str | None) -> bool:
        """True when this rule covers ``repo`` (any URL form) and ``branch`` (None: no branch, e.g. a tag or SHA)."""
        if not self._repos.matches(normalize_repo(repo)):
            return False
        if self._branches is None:
            return True
        return branch is not None and self._branches.matches(normalize_branch(branch))

    def quorum_problems(self, signed_by: Iterable[str]) -> tuple[str, ...]:
        """Why the distinct rule signers in ``signed_by`` fall short of the threshold or requirements; () if not."""
        distinct = set(signed_by) & set(self.signers)
        problems: list[str] = []
        if len(distinct) < self.threshold:
            got = ", ".join(sorted(distinct)) or "none"
            problems.append(f"{self.name} needs {self.threshold} distinct signers of {len(self.signers)}, got {got}")
        problems.extend(f"required signer {name} did not sign" for name in self.require if name not in distinct)
        return tuple(problems)


@dataclass(frozen=True)
class Policy:
    """A validated policy: signers by name, rules in file order, where it came from and its hash."""

    version: int
    signers: Mapping[str, Signer]
    rules: tuple[Rule, ...]
    source: Path | None  # None for a policy built from command-line flags
    hash: str  # "sha256:<hex>" over the canonical policy and every byte of trust material
    authorities: Mapping[str, ImageAuthority] = field(default_factory=lambda: MappingProxyType({}))
    images: tuple[ImageRule, ...] = ()

    @classmethod
    def build(
        cls,
        signers: Sequence[Signer],
        rules: Sequence[Rule],
        source: Path | None,
        *,
        authorities: Sequence[ImageAuthority] = (),
        images: Sequence[ImageRule] = (),
    ) -> Policy:
        """A policy with its hash computed; ValueError on dangling or unused signer or authority names.

        A policy needs commit rules, image rules or both; one without any trusts nothing and is refused.
        """
        by_name = {signer.name: signer for signer in signers}
        if len(by_name) != len(signers):
            raise ValueError("signer names must be unique")
        used = {name for rule in rules for name in rule.signers}
        if used - set(by_name) or set(by_name) - used or not (rules or images):
            raise ValueError("every rule signer must exist and every signer must be used by a rule")
        by_authority = {entry.name: entry for entry in authorities}
        if len(by_authority) != len(authorities):
            raise ValueError("authority names must be unique")
        if {name for rule in images for name in rule.authorities} != set(by_authority):
            raise ValueError("every image rule authority must exist and every authority must be used by a rule")
        digest = policy_hash(POLICY_VERSION, signers, rules, authorities=authorities, images=images)
        return cls(
            POLICY_VERSION,
            MappingProxyType(by_name),
            tuple(rules),
            source,
            digest,
            MappingProxyType(by_authority),
            tuple(images),
        )

    def __post_init__(self) -> None:
        if not _HASH.fullmatch(self.hash):
            raise ValueError("hash must be sha256:<64 lower-case hex digits>")

    @property
    def origin(self) -> str:
        """The policy file as given, or "command-line flags"."""
        return str(self.source) if self.source is not None else "command-line flags"

    def rule_for(self, repo: str, branch: str | None) -> Rule:
        """The one rule that covers (``repo``, ``branch``); InputError when none or several do."""
        matching = [rule for rule in self.rules if rule.matches(repo, branch)]
        target = f"repository {normalize_repo(repo)!r}" + (f" branch {normalize_branch(branch)!r}" if branch else "")
        if not matching:
            raise InputError(
                f"{self.origin}: no rule matches {target}",
                reference="policy-no-rule",
                hint="add a rule for it: a revision no rule covers is rejected, never waved through"
                if self.rules
                else "this policy has image rules only; add rules: for commits and tags",
            )
        if len(matching) > 1:
            names = " and ".join(rule.name for rule in matching[:2])
            raise InputError(
                f"{self.origin}: ambiguous: {names} both match {target}",
                reference="policy-ambiguous",
                hint="exactly one rule may match; narrow one with '!' patterns",
            )
        return matching[0]

    def image_rule_for(self, image_name: str) -> ImageRule | None:
        """The most specific ``images:`` rule covering ``image_name`` (None: denied); InputError on a tie."""
        return select_image_rule(self.images, image_name, origin=self.origin)


def policy_hash(
    version: int,
    signers: Iterable[Signer],
    rules: Iterable[Rule],
    *,
    authorities: Iterable[ImageAuthority] = (),
    images: Sequence[ImageRule] = (),
) -> str:
    """``sha256:<hex>`` of the canonical JSON of a policy, trust material included by its SHA-256."""
    document: dict[str, Any] = {
        "format": "gitsecure-verify-policy",
        "version": version,
        "signers": [
            {
                "name": signer.name,
                "openpgp": [_digest(key) for key in signer.openpgp_keys],
                "ssh_allowed_signers": [_digest(data) for data in signer.ssh_allowed_signers],
                "ssh_keys": list(signer.ssh_keys),
                "keyless": [
                    {
                        "subject": identity.subject,
                        "subject_regexp": identity.subject_regexp,
                        "issuer": identity.issuer,
                        "issuer_regexp": identity.issuer_regexp,
                        "trusted_root": _digest(identity.trusted_root_json),
                    }
                    for identity in signer.keyless
                ],
                "emails": list(signer.emails),
            }
            for signer in sorted(signers, key=lambda signer: signer.name)
        ],
        "rules": [
            {
                "repos": list(rule.repos),
                "branches": None if rule.branches is None else list(rule.branches),
                "mode": rule.mode,
                "signers": list(rule.signers),
                "threshold": rule.threshold,
                "require": list(rule.require),
            }
            for rule in rules
        ],
    }
    if images:  # absent for commit-only policies, so their hashes (and caches) stay what they were
        document.update(image_rules_document(authorities, images))
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + _digest(canonical.encode("ascii"))


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; InputError (reference ``invalid-policy``) naming the file and field."""
    # The parser builds this module's model, so it is imported here rather than at the top.
    from gitsecure.verify.policy_file import parse_policy_file  # noqa: PLC0415

    return parse_policy_file(path)


_FLAG_CHECKS = {"gpg-key": check_openpgp_keys, "allowed-signers": check_allowed_signers}


def policy_from_flags(
    gpg_keys: Sequence[Path], allowed_signers: Sequence[Path], ssh_keys: Sequence[Path], mode: str
) -> Policy:
    """The policy of the quick flags: signers ``gpg-key``, ``allowed-signers``, ``ssh-key`` (those given), one rule.

    The rule covers every repository and branch. UsageError (reference ``invalid-policy``) when
    no trust material is given, a file holds none, or the mode is unknown.
    """
    if mode not in MODES:
        raise UsageError(f"--mode: expected one of {', '.join(MODES)}, got {mode!r}", reference="invalid-policy")
    material: dict[str, list[bytes]] = {}
    lines: list[str] = []
    for flag, paths in (("gpg-key", gpg_keys), ("allowed-signers", allowed_signers), ("ssh-key", ssh_keys)):
        for path in paths:
            try:
                data = read_trust_file(path, str(path))
                if flag == "ssh-key":
                    lines.extend(key for key in ssh_keys_from_file(data, str(path)) if key not in lines)
                    continue
                _FLAG_CHECKS[flag](data, str(path))
            except ValueError as exc:
                raise UsageError(f"--{flag}: {exc}", reference="invalid-policy") from None
            blobs = material.setdefault(flag, [])
            if data not in blobs:  # the same file twice is one key, not two
                blobs.append(data)
    signers = [
        Signer(name, openpgp_keys=tuple(blobs)) if name == "gpg-key" else Signer(name, ssh_allowed_signers=tuple(blobs))
        for name, blobs in material.items()
    ]
    if lines:
        signers.append(Signer("ssh-key", ssh_keys=tuple(lines)))
    if not signers:
        raise UsageError(
            "no trust material: give --policy FILE, or --gpg-key, --allowed-signers or --ssh-key",
            reference="invalid-policy",
        )
    rule = Rule(0, ("**",), mode, tuple(signer.name for signer in signers))
    return Policy.build(signers, [rule], None)
