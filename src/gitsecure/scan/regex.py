"""RE2 over bytes, the one place that knows how gitsecure drives google-re2.

Patterns are compiled from bytes (``rule.regex.encode()``), so positions are byte
offsets and input never needs decoding; RE2's UTF-8 mode still gives ``(?i)``,
``\\b``, ``\\w`` and classes their ASCII meaning, and invalid UTF-8 input simply
fails to match multi-byte classes instead of raising.

:func:`match_spans` calls the binding's ``RE2.Match`` directly: the public
``finditer`` builds a generator and a match object per call, which costs more
than the search itself on the short windows the engine scans.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import re2

Spans = tuple[tuple[int, int], ...]
"""(start, end) of the whole match, then of each group; (-1, -1) for a group that did not take part."""

_NO_MATCH = (-1, -1)
_UNANCHORED: Any = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
# RE2 otherwise writes its own multi-line parse errors to stderr, next to our one-line error.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


# Cached: a configured pattern is compiled to validate it (regex_error, group_count), again when a
# rule first runs, and once per rule for every global allowlist; RE2 objects are immutable.
@functools.lru_cache(maxsize=1024)
def compile_bytes(pattern: str) -> Any:
    """An RE2 pattern over bytes; raises ``re2.error`` when ``pattern`` is not valid RE2."""
    return re2.compile(pattern.encode(), _OPTIONS)


def regex_error(pattern: str) -> str | None:
    """Why ``pattern`` is not valid RE2 (one line, for a configuration error), or None when it is."""
    try:
        compile_bytes(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        return " ".join(text.split())
    return None


def group_count(pattern: str) -> int:
    """The number of capture groups of a valid RE2 ``pattern``."""
    return int(compile_bytes(pattern).groups)


def match_spans(pattern: Any, data: bytes, pos: int, endpos: int) -> Iterator[Spans]:
    """Every non-overlapping match of ``pattern`` in ``data[pos:endpos]`` (with the text around as context)."""
    binding = getattr(pattern, "_regexp", None)
    if binding is None or _UNANCHORED is None:  # pragma: no cover (another google-re2 layout)
        for match in pattern.finditer(data, pos, endpos):
            yield tuple(match.span(group) for group in range(pattern.groups + 1))
        return
    while pos <= endpos:
        spans = binding.Match(_UNANCHORED, data, pos, endpos)
        start, end = spans[0]
        if (start, end) == _NO_MATCH:
            return
        yield tuple(spans)
        # An empty match must still move on, as re.finditer does.
        pos = end if end > start else end + 1
