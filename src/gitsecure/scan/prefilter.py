"""Keyword prefilter and regex windows: which rules run, and on which bytes.

One Aho-Corasick automaton over every rule's keywords finds all keyword hits in
the lower-cased fragment in a single pass. A rule then runs its regex only on
*windows* around its own hits, not on the whole fragment (TruffleHog scans a span
around each hit; gitleaks scans the whole fragment):

* a single-line rule's window is the line(s) holding the hit;
* a multi-line rule (its pattern can cross a newline: ``\\n``, ``[\\s\\S]``, ``(?s)``)
  also gets up to :data:`MULTILINE_BACK_LINES` lines (at most
  :data:`MULTILINE_BACK_BYTES`) before the hit and :data:`MULTILINE_FORWARD_BYTES`
  after it, enough for an 8192-bit PEM private key after its ``BEGIN`` line;
* no window reaches more than :data:`LINE_CAP` bytes into a line from the hit, so a
  100k-character minified line costs a bounded amount of regex work per hit.

Overlapping and touching windows of one rule are merged, so one match is never
seen twice. The price: a match that does not lie near any of its rule's keywords
is not found (gitleaks would find it, since its keyword may sit anywhere in the
file). Built-in rules put their keyword inside the match, so this costs nothing there.
"""

from __future__ import annotations

from collections.abc import Sequence

import ahocorasick_rs

LINE_CAP = 4096
MULTILINE_BACK_LINES = 4
MULTILINE_BACK_BYTES = 1024
MULTILINE_FORWARD_BYTES = 16384
CLUSTER_GAP = 512
HIT_SLICE = 256 * 1024

Window = tuple[int, int]

_MULTILINE_MARKS = ("\\n", "\\r", "[\\s\\S]", "[\\S\\s]", "(?s", "\\s\\S", "[\\w\\W]", "[\\d\\D]")


def is_multiline(pattern: str) -> bool:
    """Whether ``pattern`` is written to match across lines (a heuristic on its text)."""
    return any(mark in pattern for mark in _MULTILINE_MARKS)


class KeywordIndex:
    """Maps each keyword hit in a lower-cased fragment to the rules that asked for that keyword."""

    def __init__(self, keyword_sets: Sequence[Sequence[str]]) -> None:
        """``keyword_sets[i]`` holds rule ``i``'s keywords; a rule with none is in :attr:`always`."""
        index: dict[bytes, list[int]] = {}
        always: list[int] = []
        for rule_index, keywords in enumerate(keyword_sets):
            encoded = {keyword.lower().encode() for keyword in keywords if keyword}
            if not encoded:
                always.append(rule_index)
            for keyword in encoded:
                index.setdefault(keyword, []).append(rule_index)
        self.always: tuple[int, ...] = tuple(always)
        """Rules that run on every fragment, over all of it."""
        self._keywords = list(index)
        self._longest = max((len(keyword) for keyword in self._keywords), default=1)
        self._rules = [tuple(index[keyword]) for keyword in self._keywords]
        # The DFA form scans about 2.5x faster than the default NFA on source code (measured on 52 MB of
        # Python with gitleaks' 244 keywords: 0.13 s against 0.34 s) for a larger, still small, table.
        self._automaton = (
            ahocorasick_rs.BytesAhoCorasick(self._keywords, implementation=ahocorasick_rs.Implementation.DFA)
            if self._keywords
            else None
        )

    def hits(self, lowered: bytes) -> dict[int, list[Window]]:
        """Rule index -> sorted spans covering its keyword hits in ``lowered`` (:func:`windows` merges them).

        Hits of one keyword less than :data:`CLUSTER_GAP` apart are merged as they arrive
        (:func:`windows` would merge them anyway), and the automaton runs over slices of
        :data:`HIT_SLICE` bytes, so memory stays bounded on keyword-dense input (a run of
        ``a`` matches a 20-``a`` keyword at every position) instead of holding one tuple
        per hit for the whole fragment.
        """
        if self._automaton is None:
            return {}
        # Merged per keyword first (one step per hit), then handed to each rule that asked for
        # the keyword: a common keyword ("key") serves dozens of rules.
        by_keyword: dict[int, list[list[int]]] = {}
        find = self._automaton.find_matches_as_indexes
        overlap = self._longest - 1
        for base in range(0, len(lowered), HIT_SLICE):
            # A keyword crossing the slice border is found in the longer slice; a hit seen
            # twice lands inside the span it already extended.
            piece = lowered[base : base + HIT_SLICE + overlap]
            for keyword, local_start, local_end in find(piece, overlapping=True):
                start, end = local_start + base, local_end + base
                spans = by_keyword.get(keyword)
                if spans is None:
                    by_keyword[keyword] = [[start, end]]
                    continue
                last = spans[-1]
                if last[0] - CLUSTER_GAP <= start <= last[1] + CLUSTER_GAP:
                    if start < last[0]:  # noqa: PLR1730 (min() costs a call per hit)
                        last[0] = start
                    if end > last[1]:  # noqa: PLR1730
                        last[1] = end
                else:
                    spans.append([start, end])
        found: dict[int, list[list[int]]] = {}
        rules = self._rules
        for keyword, spans in by_keyword.items():
            for rule_index in rules[keyword]:
                found.setdefault(rule_index, []).extend(spans)
        return {rule: sorted((start, end) for start, end in spans) for rule, spans in found.items()}


def _back(data: bytes, pos: int, lines: int, cap: int) -> int:
    # Start of the line holding pos, then up to `lines` more lines back, never more than `cap` bytes.
    floor = pos - cap if pos > cap else 0
    if not lines:
        newline = data.rfind(b"\n", floor, pos)
        return floor if newline < 0 else newline + 1
    start = pos
    for _ in range(lines + 1):
        newline = data.rfind(b"\n", floor, start)
        if newline < 0:
            return floor
        start = newline
    return start + 1


def _forward(data: bytes, pos: int, cap: int) -> int:
    # End (exclusive) of the line holding pos, its newline included, never more than `cap` bytes on.
    # The newline belongs in the window: a pattern that ends a token with `\s` or a delimiter
    # class must be able to consume it, or a token at the end of a line would be missed.
    ceiling = pos + cap
    newline = data.find(b"\n", pos, ceiling)
    if newline < 0 and ceiling > len(data):
        return len(data)
    return ceiling if newline < 0 else newline + 1


def windows(data: bytes, hits: Sequence[Window], *, multiline: bool) -> list[Window]:
    """Disjoint, sorted windows of ``data`` covering every hit, widened as the module describes.

    Hits less than :data:`CLUSTER_GAP` bytes apart share one window (the lines between
    them included): one regex call over a little more text is cheaper than many calls.
    """
    spans: list[Window] = []
    first, last = -1, -1
    for start, end in hits:
        if last >= 0 and (first <= start <= last + CLUSTER_GAP or (start < first and end + CLUSTER_GAP >= first)):
            # Plain comparisons rather than min()/max(): this runs once per merged hit.
            if start < first:  # noqa: PLR1730
                first = start
            if end > last:  # noqa: PLR1730
                last = end
            continue
        if last >= 0:
            spans.append(_widen(data, first, last, multiline=multiline))
        first, last = start, end
    if last >= 0:
        spans.append(_widen(data, first, last, multiline=multiline))
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged


def _widen(data: bytes, start: int, end: int, *, multiline: bool) -> Window:
    if multiline:
        return (
            _back(data, start, MULTILINE_BACK_LINES, MULTILINE_BACK_BYTES),
            _forward(data, min(len(data), end + MULTILINE_FORWARD_BYTES), LINE_CAP),
        )
    return _back(data, start, 0, LINE_CAP), _forward(data, end, LINE_CAP)
