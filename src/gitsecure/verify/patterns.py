"""Name patterns of the verify policy: repository and branch globs with ``!`` negation, email globs.

Path globs (repositories, branches): ``*`` and ``?`` stay inside one ``/``-separated segment,
``**`` crosses segments, everything else is literal (``[`` too). A :class:`PatternSet` matches a
name when at least one plain pattern matches it and no ``!`` pattern does; a set without a plain
pattern is refused, because "everything except X" written by accident is the classic way to
trust too much.

Email globs: ``*`` and ``?`` never match ``@``, and an address without exactly one ``@`` matches
nothing, so ``*@example.com`` cannot be satisfied by ``mallory@evil.test@example.com``.
Matching is case-insensitive (domains are, and forges treat local parts so too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "PatternSet",
    "compile_email_glob",
    "compile_path_glob",
    "email_matches",
    "normalize_branch",
    "normalize_repo",
]

_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?([^:/\s]+):(?!//)(.*)$")


def normalize_repo(repo: str) -> str:
    """The comparable form of a repository URL: ``host/owner/name``, lower-case, no scheme, user, port or ``.git``.

    ``https://github.com/Acme/App.git``, ``ssh://git@github.com:22/acme/app`` and
    ``git@github.com:acme/app`` all become ``github.com/acme/app``. A local path keeps its path.
    """
    text = repo.strip()
    if "://" in text:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        text = f"{host}/{parts.path.lstrip('/')}" if host else parts.path
    else:
        scp = _SCP_LIKE.match(text)
        if scp is not None and "/" not in scp.group(1):
            text = f"{scp.group(1)}/{scp.group(2).lstrip('/')}"
    text = text.rstrip("/")
    if text.endswith(".git"):
        text = text[: -len(".git")]
    return text.lower()


def normalize_branch(branch: str) -> str:
    """A branch name without a ``refs/heads/`` prefix."""
    return branch.removeprefix("refs/heads/")


def compile_path_glob(pattern: str) -> re.Pattern[str]:
    """A full-match regex for a path glob (``*``, ``?`` within a segment; ``**`` across segments)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out), re.DOTALL)


def compile_email_glob(pattern: str) -> re.Pattern[str]:
    """A full-match, case-insensitive regex for an email glob; raises ValueError when it is not ``local@domain``."""
    if pattern.count("@") != 1 or any(char.isspace() or char in "<>" for char in pattern):
        raise ValueError("expected an address or glob of the form local@domain (no spaces or <>)")
    local, domain = pattern.split("@")
    if not local or not domain:
        raise ValueError("expected an address or glob of the form local@domain (no spaces or <>)")
    out = ["[^@]*" if char == "*" else "[^@]" if char == "?" else re.escape(char) for char in pattern]
    return re.compile("".join(out), re.IGNORECASE)


def email_matches(patterns: tuple[re.Pattern[str], ...], email: str) -> bool:
    """True when ``email`` (exactly one ``@``) fully matches one of the compiled email globs."""
    if email.count("@") != 1:
        return False
    return any(pattern.fullmatch(email) for pattern in patterns)


@dataclass(frozen=True)
class PatternSet:
    """Globs with ``!`` negation: a name matches when a plain glob matches and no negated one does."""

    patterns: tuple[str, ...]
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]

    @classmethod
    def parse(cls, patterns: tuple[str, ...], *, repos: bool) -> PatternSet:
        """Compile ``patterns``; ``repos`` normalises each glob as :func:`normalize_repo` does names.

        Raises ValueError on an empty pattern or a set without a plain (non-``!``) pattern.
        """
        include: list[re.Pattern[str]] = []
        exclude: list[re.Pattern[str]] = []
        for pattern in patterns:
            negated = pattern.startswith("!")
            body = pattern[1:] if negated else pattern
            body = normalize_repo(body) if repos else normalize_branch(body.strip())
            if not body:
                raise ValueError(f"empty pattern {pattern!r}")
            (exclude if negated else include).append(compile_path_glob(body))
        if not include:
            raise ValueError("needs at least one pattern without '!' (use '**' for everything)")
        return cls(patterns=patterns, include=tuple(include), exclude=tuple(exclude))

    def matches(self, name: str) -> bool:
        """True when ``name`` (already normalised) is selected by this set."""
        return any(rx.fullmatch(name) for rx in self.include) and not any(rx.fullmatch(name) for rx in self.exclude)
