"""Inline suppression comments, including the markers of the tools teams migrate from.

* ``gitsecure:allow``, ``gitleaks:allow``, ``trufflehog:ignore``: anywhere on the line
  of the finding (as gitleaks and TruffleHog check them, case-sensitive);
* ``pragma: allowlist secret`` (and the legacy ``whitelist``), with detect-secrets'
  semantics: it must follow a comment opener (``#``, ``//``, ``/*``, ``'``, ``--``,
  ``<!--``; in YAML files only ``#``);
* ``pragma: allowlist nextline secret`` alone on its line (a comment and nothing
  else) suppresses the line after it.

Each check starts with a substring test, so the regexes run only on the rare line
that mentions ``allow``/``ignore``/``whitelist``: detect-secrets spends most of its
time running its pragma regexes on every line.
"""

from __future__ import annotations

import re2

_MARKERS = (b"gitsecure:allow", b"gitleaks:allow", b"trufflehog:ignore")
_COMMENT = rb"(?:#|//|/\*|'|--|<!--)"
_YAML_COMMENT = rb"#"
_PRAGMA = rb"[ \t]*pragma: ?(?:allow|white)list[ -]secret"
_NEXTLINE = rb"^[ \t]*%s[ \t]*pragma: ?(?:allow|white)list[ -]nextline[ -]secret[ \t]*(?:\*/|-->)?[ \t]*\r?$"

_SAME_LINE = re2.compile(_COMMENT + _PRAGMA)
_SAME_LINE_YAML = re2.compile(_YAML_COMMENT + _PRAGMA)
_NEXT_LINE = re2.compile(_NEXTLINE % _COMMENT)
_NEXT_LINE_YAML = re2.compile(_NEXTLINE % _YAML_COMMENT)


def _cheap(line: bytes) -> bool:
    return b"allow" in line or b"ignore" in line or b"whitelist" in line


def is_yaml_path(path: str) -> bool:
    """detect-secrets accepts only ``#`` comments in YAML files; gitsecure follows."""
    return path.lower().endswith((".yaml", ".yml"))


def line_suppressed(line: bytes, *, yaml: bool = False) -> bool:
    """Whether ``line`` (one line, no newline) carries a same-line suppression marker."""
    if not _cheap(line):
        return False
    if any(marker in line for marker in _MARKERS):
        return True
    if b"list" not in line:
        return False
    return (_SAME_LINE_YAML if yaml else _SAME_LINE).search(line) is not None


def suppresses_next_line(line: bytes, *, yaml: bool = False) -> bool:
    """Whether ``line`` is a ``pragma: allowlist nextline secret`` comment on its own."""
    if b"nextline" not in line:
        return False
    return (_NEXT_LINE_YAML if yaml else _NEXT_LINE).search(line) is not None
