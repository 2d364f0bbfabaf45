"""Compiled allowlists: the per-rule and global checks that drop a candidate after its regex matched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitsecure.scan.regex import compile_bytes
from gitsecure.scan.rule import AllowTarget, Rule
from gitsecure.scan.settings import Allowlist, ScanSettings


@dataclass(frozen=True, slots=True)
class Candidate:
    """What an allowlist may look at for one candidate secret."""

    secret: bytes
    match: bytes
    line: bytes
    path: str
    commit: str | None


class CompiledAllowlist:
    """One :class:`Allowlist` ready to test candidates."""

    __slots__ = ("_and", "_commits", "_paths", "_regexes", "_stopwords", "_target")

    def __init__(self, allowlist: Allowlist) -> None:
        """Compile ``allowlist``'s patterns (raises ``re2.error`` on a bad one: config validates first)."""
        self._regexes = tuple(compile_bytes(pattern) for pattern in allowlist.regexes)
        self._paths = tuple(compile_bytes(pattern) for pattern in allowlist.paths)
        self._stopwords = tuple(word.lower().encode() for word in allowlist.stopwords if word)
        self._commits = frozenset(allowlist.commits)
        self._target: AllowTarget = allowlist.regex_target
        self._and = allowlist.condition == "and"

    def _checks(self, candidate: Candidate) -> list[bool]:
        checks: list[bool] = []
        if self._commits:
            checks.append(candidate.commit is not None and candidate.commit in self._commits)
        if self._paths:
            path = candidate.path.encode("utf-8", "surrogateescape")
            checks.append(any(pattern.search(path) for pattern in self._paths))
        if self._regexes:
            target: bytes = getattr(candidate, self._target)  # the field the target names
            checks.append(any(pattern.search(target) for pattern in self._regexes))
        if self._stopwords:
            lowered = candidate.secret.lower()
            checks.append(any(word in lowered for word in self._stopwords))
        return checks

    def allows(self, candidate: Candidate) -> bool:
        """Whether this allowlist drops ``candidate``."""
        checks = self._checks(candidate)
        if not checks:
            return False
        return all(checks) if self._and else any(checks)


def rule_allowlists(rule: Rule, settings: ScanSettings) -> tuple[Allowlist, ...]:
    """The allowlists that apply to ``rule``: its own fields, the settings' values/stopwords, scoped lists."""
    lists: list[Allowlist] = []
    if rule.allow_regexes or rule.stopwords:
        lists.append(Allowlist(regexes=rule.allow_regexes, regex_target=rule.allow_target, stopwords=rule.stopwords))
    if settings.allow_values or settings.stopwords:
        lists.append(Allowlist(regexes=settings.allow_values, stopwords=settings.stopwords))
    lists.extend(
        allowlist
        for allowlist in settings.allowlists
        if (not allowlist.target_rules or rule.id in allowlist.target_rules) and not is_global_path_list(allowlist)
    )
    return tuple(lists)


def is_global_path_list(allowlist: Allowlist) -> bool:
    """A list that only names paths for every rule: it skips whole files (see ``Engine.path_allowed``)."""
    return (
        bool(allowlist.paths)
        and not allowlist.target_rules
        and not (allowlist.regexes or allowlist.stopwords or allowlist.commits)
    )


def path_patterns(settings: ScanSettings, defaults: Sequence[str]) -> tuple[str, ...]:
    """Every pattern of the global path allowlist under ``settings``."""
    patterns = list(defaults) if settings.default_allow_paths else []
    patterns.extend(settings.allow_paths)
    for allowlist in settings.allowlists:
        if is_global_path_list(allowlist):
            patterns.extend(allowlist.paths)
    return tuple(patterns)
