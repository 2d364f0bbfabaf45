"""The rule model: one provider token format or one structural check.

A rule is data, not code. The engine compiles ``regex`` with RE2 (linear time,
no backtracking) against *bytes*, and runs it only when one of ``keywords``
occurs in the lower-cased input (an Aho-Corasick prefilter over every rule's
keywords at once). Semantics follow gitleaks where a team migrating would
notice a difference:

* the secret is capture group ``secret_group`` if it is set, else the first
  non-empty group, else the whole match;
* ``entropy``: the secret's Shannon entropy must be *strictly greater*;
* ``allow_regexes`` are tested against ``allow_target`` (the secret, the whole
  match or the whole line); ``stopwords`` are substrings of the lower-cased
  secret; either one drops the candidate;
* a rule whose id contains ``generic`` loses to any specific rule whose match
  overlaps it.

Every built-in rule carries ``examples`` (lines that must produce exactly
this rule's finding) and ``counterexamples`` (lines that must not); the test
suite runs all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AllowTarget = Literal["secret", "match", "line"]

#: detect-secrets' ``type`` strings that gitsecure reuses so a migrated
#: ``.secrets.baseline`` keeps matching; everything else is "<description>".
SECRET_KEYWORD = "Secret Keyword"  # noqa: S105 (a type name, not a secret)


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule (built in, from ``.gitsecure.toml``, or from a gitleaks TOML file)."""

    id: str
    """Stable kebab-case id (``github-pat``); used in output, config and suppression."""
    description: str
    """One line for people: what was found (``GitHub personal access token``)."""
    regex: str
    """RE2 syntax, applied to bytes. ``(?i)`` for case-insensitive rules."""
    keywords: tuple[str, ...] = ()
    """Lower-case literals; the rule runs only where one occurs. Empty: always runs (avoid)."""
    secret_group: int = 0
    """Capture group holding the secret; 0 = first non-empty group, else the whole match."""
    entropy: float = 0.0
    """Minimum Shannon entropy (bits per byte) of the secret, exclusive."""
    path: str | None = None
    """RE2 over the slash-separated relative path: the rule only applies to matching paths."""
    allow_regexes: tuple[str, ...] = ()
    """RE2 patterns that, when they match ``allow_target``, drop the candidate."""
    allow_target: AllowTarget = "secret"
    stopwords: tuple[str, ...] = ()
    """Lower-case substrings that drop a candidate secret containing them."""
    validator: str | None = None
    """Name of a checksum in :mod:`gitsecure.scan.checksums` the secret must pass."""
    secret_type: str = ""
    """The baseline ``type`` string; defaults to ``description``."""
    hint: str | None = None
    """What to do about a finding (rotate, seal, move to a secret store)."""
    examples: tuple[str, ...] = ()
    """True positives: each must yield a finding of this rule."""
    counterexamples: tuple[str, ...] = ()
    """False positives: none may yield a finding of this rule."""
    tags: tuple[str, ...] = ()

    @property
    def baseline_type(self) -> str:
        """The ``type`` this rule's findings carry in a ``.secrets.baseline``."""
        return self.secret_type or self.description

    @property
    def is_generic(self) -> bool:
        """Whether a specific rule's overlapping finding replaces this rule's."""
        return "generic" in self.id
