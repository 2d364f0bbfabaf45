"""The ``images:`` rules of the verify policy: which authorities must have signed which images, and how strictly.

An image rule names a glob over image names (``registry/repository``, no tag or digest), the authorities it
trusts, a k-of-n ``threshold`` with ``require``d authorities, ``mode`` (``enforce`` rejects, ``warn`` reports
and admits), ``require_tlog``, ``require_digest`` and the attestation predicate types that must be present.

Selection is "most specific rule wins", defined so that it is total and predictable:

1. the rule whose glob has the **longest literal prefix** (the characters before its first ``*`` or ``?``);
2. among those, the one with the **fewest wildcards** (``*``, ``**`` and ``?`` each count one);
3. two matching rules equal on both is a policy error (``policy-ambiguous``), never a coin toss.

An image no rule matches is denied. Globs are normalised like image references: ``docker.io/`` becomes
``index.docker.io/`` and a Docker Hub short name gains ``index.docker.io/`` (and ``library/`` for one segment).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from gitsecure.errors import InputError
from gitsecure.verify.images.authority import Authority, TrustedRootBytes
from gitsecure.verify.patterns import compile_path_glob

__all__ = [
    "ENFORCEMENTS",
    "Enforcement",
    "ImageAuthority",
    "ImageRule",
    "image_rules_document",
    "normalize_image_glob",
    "select_image_rule",
]

Enforcement = Literal["enforce", "warn"]
ENFORCEMENTS: tuple[Enforcement, ...] = get_args(Enforcement)
DOCKER_HUB = "index.docker.io"
_WILDCARD = re.compile(r"\*\*|\*|\?")


def normalize_image_glob(glob: str) -> str:
    """A glob in the canonical image-name form (see the module docstring); ValueError when it is not one."""
    text = glob.strip()
    if not text or any(char.isspace() for char in text) or "@" in text:
        raise ValueError(f"{glob!r} is not an image glob (registry/repository, no tag or digest)")
    first, slash, rest = text.partition("/")
    # As in docker's reference grammar: the first component names a registry only when a "/" follows it and it
    # looks like a host (a dot, a port, or localhost); a ":" anywhere else would be a tag.
    hostlike = bool(slash) and ("." in first or ":" in first or first == "localhost")
    if ":" in rest or (":" in first and not hostlike):
        raise ValueError(f"{glob!r}: a tag is not part of an image glob (globs match registry/repository)")
    if first in ("docker.io", DOCKER_HUB) and slash:
        return f"{DOCKER_HUB}/{rest}" if "/" in rest or _WILDCARD.search(rest) else f"{DOCKER_HUB}/library/{rest}"
    if hostlike or _WILDCARD.search(first):
        return text
    return f"{DOCKER_HUB}/{text}" if slash else f"{DOCKER_HUB}/library/{text}"


@dataclass(frozen=True)
class ImageAuthority:
    """An authority of the policy with the Sigstore trusted root its signatures are checked against."""

    authority: Authority
    trusted_root: TrustedRootBytes = field(repr=False)  # Rekor keys (and Fulcio CAs for keyless)
    trusted_root_origin: str  # the file as written in the policy, or "public-good"

    @property
    def name(self) -> str:
        """The authority's name, as rules and verdicts refer to it."""
        return self.authority.name


@dataclass(frozen=True)
class ImageRule:
    """One ``images:`` rule: a glob over image names and what a matching image needs."""

    index: int
    glob: str  # normalised (normalize_image_glob)
    authorities: tuple[str, ...]
    threshold: int = 1
    require: tuple[str, ...] = ()
    mode: Enforcement = "enforce"
    require_tlog: bool = False
    require_digest: bool = False
    attestations: tuple[str, ...] = ()
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in ENFORCEMENTS:
            raise ValueError(f"unknown mode {self.mode!r}")
        if not self.authorities or len(set(self.authorities)) != len(self.authorities):
            raise ValueError("authorities must be a non-empty list without repeats")
        if not 1 <= self.threshold <= len(self.authorities):
            raise ValueError(f"threshold must be from 1 to {len(self.authorities)}")
        if not set(self.require) <= set(self.authorities) or len(self.require) > self.threshold:
            raise ValueError("require must name authorities of the rule, no more than the threshold")
        object.__setattr__(self, "_pattern", compile_path_glob(self.glob))

    @property
    def name(self) -> str:
        """``images[<index>]``, the name messages use."""
        return f"images[{self.index}]"

    @property
    def specificity(self) -> tuple[int, int]:
        """(literal prefix length, minus the wildcard count): larger is more specific."""
        first = _WILDCARD.search(self.glob)
        prefix = len(self.glob) if first is None else first.start()
        return prefix, -len(_WILDCARD.findall(self.glob))

    def matches(self, image_name: str) -> bool:
        """True when the glob covers ``image_name`` (``registry/repository``, as :class:`ImageRef` spells it)."""
        return self._pattern.fullmatch(image_name) is not None

    def quorum_problems(self, satisfied: Iterable[str]) -> tuple[str, ...]:
        """Why the distinct rule authorities in ``satisfied`` fall short of threshold or requirements; () if not."""
        distinct = set(satisfied) & set(self.authorities)
        problems: list[str] = []
        if len(distinct) < self.threshold:
            got = ", ".join(sorted(distinct)) or "none"
            problems.append(
                f"{self.name} needs {self.threshold} distinct authorities of {len(self.authorities)}, got {got}"
            )
        problems.extend(f"required authority {name} did not sign" for name in self.require if name not in distinct)
        return tuple(problems)


def select_image_rule(rules: Sequence[ImageRule], image_name: str, *, origin: str) -> ImageRule | None:
    """The most specific rule covering ``image_name``, None when none does; InputError on a tie."""
    matching = [rule for rule in rules if rule.matches(image_name)]
    if not matching:
        return None
    best = max(rule.specificity for rule in matching)
    top = [rule for rule in matching if rule.specificity == best]
    if len(top) > 1:
        raise InputError(
            f"{origin}: ambiguous: {top[0].name} and {top[1].name} match image {image_name!r} equally specifically",
            reference="policy-ambiguous",
            hint="make one glob more specific (a longer literal prefix, or fewer wildcards)",
        )
    return top[0]


def image_rules_document(authorities: Iterable[ImageAuthority], rules: Iterable[ImageRule]) -> dict[str, Any]:
    """The canonical form of the image part of a policy, trust material by digest (for the policy hash)."""
    import hashlib  # noqa: PLC0415 (only policy construction needs it)

    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    return {
        "authorities": [
            {
                "name": entry.name,
                "keys": [digest(key) for key in entry.authority.keys],
                "keyless": None
                if entry.authority.keyless is None
                else {
                    "identity": entry.authority.keyless.identity,
                    "identity_regexp": entry.authority.keyless.identity_regexp,
                    "issuer": entry.authority.keyless.issuer,
                    "issuer_regexp": entry.authority.keyless.issuer_regexp,
                },
                "trusted_root": digest(entry.trusted_root),
            }
            for entry in sorted(authorities, key=lambda entry: entry.name)
        ],
        "images": [
            {
                "glob": rule.glob,
                "authorities": list(rule.authorities),
                "threshold": rule.threshold,
                "require": list(rule.require),
                "mode": rule.mode,
                "require_tlog": rule.require_tlog,
                "require_digest": rule.require_digest,
                "attestations": list(rule.attestations),
            }
            for rule in rules
        ],
    }
