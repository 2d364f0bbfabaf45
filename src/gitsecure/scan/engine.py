"""The scanning engine: bytes in, findings out, one pass per fragment.

Pipeline for one :class:`~gitsecure.scan.finding.Fragment`:

1. global path allowlist (:meth:`Engine.path_allowed`);
2. keyword prefilter: one Aho-Corasick pass over ``data.lower()`` picks the rules
   to run and where (:mod:`gitsecure.scan.prefilter`);
3. each candidate rule's RE2 pattern (compiled from bytes on first use, then cached)
   on the windows around its keyword hits;
4. secret extraction (gitleaks semantics: ``secret_group``, else the first
   non-empty group, else the whole match), entropy (strictly greater than the
   threshold), checksum validator, allowlists and stopwords, value filters
   (:mod:`gitsecure.scan.filters`);
5. generic-vs-specific dedup: a generic finding overlapping a specific one goes;
6. base64 decode-and-rescan (``settings.decode_depth`` levels);
7. GitOps analysis of whole YAML/JSON files (:mod:`gitsecure.scan.gitops`), whose
   ``quiet_lines`` silence regex findings on SealedSecret/SOPS/ExternalSecret lines;
8. inline suppression comments (:mod:`gitsecure.scan.suppress`);
9. :class:`Finding` objects with file line numbers, sorted by (line, column, rule id).

Rules without keywords run on every fragment, over all of it: they are slow, give
every rule at least one keyword. ``scan`` never raises on any input bytes.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitsecure.crypto.digest import secret_digest
from gitsecure.scan import decode, filters, prefilter, suppress
from gitsecure.scan.allow import Candidate, CompiledAllowlist, path_patterns, rule_allowlists
from gitsecure.scan.checksums import CHECKSUMS, Checksum
from gitsecure.scan.entropy import shannon_entropy
from gitsecure.scan.finding import Finding, Fragment
from gitsecure.scan.regex import Spans, compile_bytes, match_spans
from gitsecure.scan.rule import Rule
from gitsecure.scan.settings import DEFAULT_ALLOW_PATHS, ScanSettings

_SUPPRESS_CAP = 65536
"""Bytes of a line, either side of a finding, searched for a suppression marker."""
_DECODED_SEPARATOR = b"\n\n"
_GITOPS_SUFFIXES = (".yaml", ".yml", ".json", ".tfstate", ".tfstate.backup", ".dockercfg", ".dockerconfigjson")
DECODED_TAG = "decoded:base64"
STRUCTURAL_TAG = "structural"


@dataclass(frozen=True, slots=True)
class _Hit:
    """A candidate that passed every value check; offsets are into the scanned data."""

    rule: int
    start: int
    """Where the secret (or, for decoded hits, the encoded value) starts."""
    end: int
    secret: bytes
    entropy: float
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Context:
    """The fragment-wide facts every candidate check needs."""

    data: bytes
    path: str
    commit: str | None


class _CompiledRule:
    """A rule's lazily compiled parts; the pre-commit hook must not compile 200 regexes it never uses."""

    __slots__ = (
        "_allowlists",
        "_path",
        "_pattern",
        "_settings",
        "entropy",
        "generic",
        "multiline",
        "rule",
        "validator",
    )

    def __init__(self, rule: Rule, settings: ScanSettings) -> None:
        self.rule = rule
        self.generic = rule.is_generic
        self.multiline = prefilter.is_multiline(rule.regex)
        self.entropy = settings.entropy.get(rule.id, rule.entropy)
        self.validator: Checksum | None = CHECKSUMS.get(rule.validator) if rule.validator else None
        self._pattern: Any = None
        self._path: Any = None
        self._allowlists: tuple[CompiledAllowlist, ...] | None = None
        self._settings = settings

    @property
    def pattern(self) -> Any:
        """The rule's RE2 pattern over bytes (compiled on first use)."""
        if self._pattern is None:
            self._pattern = compile_bytes(self.rule.regex)
        return self._pattern

    def applies_to(self, path: str) -> bool:
        """Whether the rule's ``path`` pattern (if any) matches ``path``."""
        if self.rule.path is None:
            return True
        if self._path is None:
            self._path = compile_bytes(self.rule.path)
        return self._path.search(path.encode("utf-8", "surrogateescape")) is not None

    def allowlists(self) -> tuple[CompiledAllowlist, ...]:
        """The rule's own and the applicable global allowlists, compiled on first use."""
        if self._allowlists is None:
            self._allowlists = tuple(CompiledAllowlist(a) for a in rule_allowlists(self.rule, self._settings))
        return self._allowlists


class Engine:
    """Scans fragments with a fixed rule set and settings; safe to reuse for many fragments."""

    def __init__(self, rules: Sequence[Rule], *, settings: ScanSettings | None = None) -> None:
        """Index ``rules`` (minus ``settings.disabled_rules``) for scanning; no regex is compiled here."""
        self.settings = settings or ScanSettings()
        disabled = self.settings.disabled_rules
        # Structural (GitOps) rule records have no regex: the GitOps analyzer reports them.
        self.rules: tuple[Rule, ...] = tuple(
            rule for rule in rules if rule.id not in disabled and STRUCTURAL_TAG not in rule.tags
        )
        self._compiled = [_CompiledRule(rule, self.settings) for rule in self.rules]
        self._keywords = prefilter.KeywordIndex([rule.keywords for rule in self.rules])
        patterns = path_patterns(self.settings, DEFAULT_ALLOW_PATHS)
        self._path_allowlist: Any = compile_bytes("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        self._path_cache: dict[str, bool] = {}

    @classmethod
    def default(cls) -> Engine:
        """The built-in rules with default settings."""
        from gitsecure.scan.rules import builtin_rules  # noqa: PLC0415 (rule tables load only when used)

        return cls(builtin_rules())

    # ------------------------------------------------------------------------------------------
    # Public API

    def path_allowed(self, path: str) -> bool:
        """False when the global path allowlist skips ``path`` (lock files, vendored trees, media...)."""
        if self._path_allowlist is None:
            return True
        cached = self._path_cache.get(path)
        if cached is None:
            cached = self._path_allowlist.search(path.encode("utf-8", "surrogateescape")) is None
            if len(self._path_cache) < 65536:
                self._path_cache[path] = cached
        return cached

    def scan(self, fragment: Fragment) -> list[Finding]:
        """Every finding in ``fragment``, with file line numbers, sorted by (line, column, rule id)."""
        return self._scan(fragment, gitops=self.settings.gitops)

    # ------------------------------------------------------------------------------------------
    # Matching

    def _scan(self, fragment: Fragment, *, gitops: bool) -> list[Finding]:
        if not self.path_allowed(fragment.path):
            return []
        data = bytes(fragment.data)
        hits = self._hits(data, fragment.path, fragment.commit, depth=0)
        structural: list[Finding] = []
        quiet: frozenset[int] = frozenset()
        if gitops and fragment.line_numbers is None and fragment.first_line == 1 and _gitops_candidate(fragment):
            structural, quiet = self._gitops(fragment, data)
        findings = self._to_findings(fragment, data, hits, quiet)
        findings.extend(structural)
        findings.sort(key=lambda f: (f.line, f.column, f.rule_id))
        return findings

    def _hits(self, data: bytes, path: str, commit: str | None, *, depth: int) -> list[_Hit]:
        """Candidates in ``data`` after every value check, dedup and (below the depth limit) decoding."""
        hits = self._match(data, path, commit)
        if depth < self.settings.decode_depth and len(data) >= decode.MIN_LENGTH:
            values = list(decode.base64_values(data))
            if values:
                # All decoded values of the fragment are rescanned in one pass, a blank line between
                # each: one prefilter and regex round instead of one per value (thousands in a big file).
                joined = _DECODED_SEPARATOR.join(decoded for _, _, decoded in values)
                offsets = list(
                    itertools.accumulate((len(d) + len(_DECODED_SEPARATOR) for _, _, d in values), initial=0)
                )
                for inner in self._hits(joined, path, commit, depth=depth + 1):
                    which = bisect.bisect_right(offsets, inner.start) - 1
                    start, end, _ = values[which]
                    tags = inner.tags if DECODED_TAG in inner.tags else (*inner.tags, DECODED_TAG)
                    hits.append(dataclasses.replace(inner, start=start, end=end, tags=tags))
        return _dedup(hits, self._compiled)

    def _match(self, data: bytes, path: str, commit: str | None) -> list[_Hit]:
        hits: list[_Hit] = []
        if not data:
            return hits
        keyword_hits = self._keywords.hits(data.lower())
        candidates = sorted(set(keyword_hits).union(self._keywords.always))
        whole = [(0, len(data))]
        context = _Context(data, path, commit)
        for index in candidates:
            compiled = self._compiled[index]
            if not compiled.applies_to(path):
                continue
            if not compiled.rule.regex:
                # A path-only rule (gitleaks allows them): the file's presence is the finding.
                if compiled.rule.path is not None:
                    hits.append(_Hit(index, 0, 0, b"", 0.0))
                continue
            spans = keyword_hits.get(index)
            spans = prefilter.windows(data, spans, multiline=compiled.multiline) if spans else whole
            self._run_rule(index, spans, context, hits)
        return hits

    def _run_rule(self, index: int, spans: Sequence[prefilter.Window], context: _Context, out: list[_Hit]) -> None:
        compiled = self._compiled[index]
        pattern = compiled.pattern
        groups = pattern.groups
        group = compiled.rule.secret_group if compiled.rule.secret_group <= groups else 0
        data = context.data
        for window_start, window_end in spans:
            for match in match_spans(pattern, data, window_start, window_end):
                start, end = _secret_span(match, group, groups)
                hit = self._check(index, match, start, end, context)
                if hit is not None:
                    out.append(hit)

    def _check(self, index: int, match: Spans, start: int, end: int, context: _Context) -> _Hit | None:
        """The hit if the candidate survives entropy, validator, allowlists and value filters."""
        compiled = self._compiled[index]
        data = context.data
        secret = data[start:end]
        entropy = shannon_entropy(secret)
        if compiled.entropy and entropy <= compiled.entropy:
            return None
        text = secret.decode("utf-8", "backslashreplace")
        if compiled.validator is not None and not compiled.validator(text):
            return None
        cap = prefilter.LINE_CAP
        line_start = max(data.rfind(b"\n", max(0, start - cap), start) + 1, start - cap)
        line_end = data.find(b"\n", end, end + cap)
        line = data[line_start : line_end if line_end >= 0 else end + cap]
        allowlists = compiled.allowlists()
        if allowlists:
            candidate = Candidate(secret, data[match[0][0] : match[0][1]], line, context.path, context.commit)
            if any(allowlist.allows(candidate) for allowlist in allowlists):
                return None
        value_filter = filters.generic_value_filtered if compiled.generic else filters.specific_value_filtered
        if value_filter(text, line, start - line_start, end - line_start):
            return None
        return _Hit(index, start, end, secret, entropy)

    # ------------------------------------------------------------------------------------------
    # GitOps

    def _gitops(self, fragment: Fragment, data: bytes) -> tuple[list[Finding], frozenset[int]]:
        from gitsecure.scan import gitops  # noqa: PLC0415 (YAML parsing loads only for manifests)

        if not gitops.applies_to(fragment.path, data):
            return [], frozenset()

        def rescan(payload: bytes) -> list[Finding]:
            return self._scan(Fragment(payload, fragment.path, commit=fragment.commit), gitops=False)

        result = gitops.analyze(data, fragment.path, rescan=rescan)
        disabled = self.settings.disabled_rules
        starts: list[int] | None = None
        findings = []
        for finding in result.findings:
            if finding.rule_id in disabled:
                continue
            index = max(finding.line - 1, 0)
            if self.settings.inline_suppression:
                starts = starts if starts is not None else _line_starts(data)
                offset = starts[min(index, len(starts) - 1)]
                if _suppressed(fragment, data, index, offset, offset):
                    continue
            findings.append(
                dataclasses.replace(
                    finding,
                    path=fragment.path,
                    line=fragment.line_number(index),
                    end_line=fragment.line_number(max(finding.end_line - 1, index)),
                    commit=fragment.commit,
                )
            )
        return findings, result.quiet_lines

    # ------------------------------------------------------------------------------------------
    # Findings

    def _to_findings(self, fragment: Fragment, data: bytes, hits: list[_Hit], quiet: frozenset[int]) -> list[Finding]:
        lines = _LineIndex(data)
        findings: list[Finding] = []
        for hit in sorted(hits, key=lambda h: (h.start, h.rule)):
            first, line_start = lines.locate(hit.start)
            last = first + data.count(b"\n", hit.start, hit.end)
            if first + 1 in quiet:
                continue
            if self.settings.inline_suppression and _suppressed(fragment, data, first, hit.start, hit.end):
                continue
            rule = self._compiled[hit.rule].rule
            secret = hit.secret.decode("utf-8", "backslashreplace")
            findings.append(
                Finding(
                    rule_id=rule.id,
                    description=rule.description,
                    path=fragment.path,
                    line=fragment.line_number(first),
                    column=hit.start - line_start + 1,
                    secret=secret,
                    secret_hash=secret_digest(secret),
                    secret_type=rule.baseline_type,
                    entropy=round(hit.entropy, 4),
                    end_line=fragment.line_number(last),
                    commit=fragment.commit,
                    hint=rule.hint,
                    tags=(*rule.tags, *hit.tags),
                )
            )
        return findings


def _secret_span(match: Spans, group: int, groups: int) -> tuple[int, int]:
    if group:
        start, end = match[group]
        if start >= 0:
            return start, end
    else:
        for candidate in range(1, groups + 1):
            start, end = match[candidate]
            if end > start >= 0:
                return start, end
    return match[0]


def _dedup(hits: list[_Hit], compiled: Sequence[_CompiledRule]) -> list[_Hit]:
    """Drop exact repeats, generic hits overlapping a specific hit, and a second generic hit on one value."""
    seen: set[tuple[int, int, int, bytes]] = set()
    unique: list[_Hit] = []
    for hit in hits:
        key = (hit.rule, hit.start, hit.end, hit.secret)
        if key not in seen:
            seen.add(key)
            unique.append(hit)
    specific = sorted((hit.start, hit.end) for hit in unique if not compiled[hit.rule].generic)
    starts = [start for start, _ in specific]
    # The longest specific span bounds how far back an overlapping one can start.
    widest = max((end - start for start, end in specific), default=0)
    # Two generic rules on the same value (a password that is also high-entropy) report it once.
    generic_spans: set[tuple[int, int]] = set()
    kept = []
    for hit in unique:
        if compiled[hit.rule].generic:
            lo = bisect.bisect_left(starts, hit.start - widest)
            hi = bisect.bisect_left(starts, max(hit.end, hit.start + 1))
            if any(specific[i][1] > hit.start or specific[i] == (hit.start, hit.end) for i in range(lo, hi)):
                continue
            if (hit.start, hit.end) in generic_spans:
                continue
            generic_spans.add((hit.start, hit.end))
        kept.append(hit)
    return kept


class _LineIndex:
    """Offset -> 0-based line index, counting newlines incrementally for ascending offsets."""

    __slots__ = ("_data", "_line", "_line_start", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._line = 0
        self._line_start = 0

    def locate(self, offset: int) -> tuple[int, int]:
        """(line index, offset of that line's start) for ``offset``."""
        if offset < self._pos:
            self._pos, self._line, self._line_start = 0, 0, 0
        data = self._data
        self._line += data.count(b"\n", self._pos, offset)
        newline = data.rfind(b"\n", self._pos, offset)
        if newline >= 0:
            self._line_start = newline + 1
        self._pos = offset
        return self._line, self._line_start


def _line_starts(data: bytes) -> list[int]:
    """Offset of every line start (only for the rare structural findings that come as line numbers)."""
    starts = [0]
    pos = data.find(b"\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = data.find(b"\n", pos + 1)
    return starts


def _line_around(data: bytes, offset: int) -> tuple[int, int]:
    """Bounds of the line holding ``offset``, at most ``_SUPPRESS_CAP`` bytes either side of it."""
    floor = max(0, offset - _SUPPRESS_CAP)
    newline = data.rfind(b"\n", floor, offset)
    start = newline + 1 if newline >= 0 else floor
    end = data.find(b"\n", offset, offset + _SUPPRESS_CAP)
    return start, end if end >= 0 else min(len(data), offset + _SUPPRESS_CAP)


def _suppressed(fragment: Fragment, data: bytes, first: int, start: int, end: int) -> bool:
    """Whether a marker on the finding's first or last line, or a nextline pragma above it, silences it.

    ``first`` is the fragment line index of offset ``start``; ``end`` is the exclusive end offset.
    """
    yaml = suppress.is_yaml_path(fragment.path)
    line_start, line_end = _line_around(data, start)
    if suppress.line_suppressed(data[line_start:line_end], yaml=yaml):
        return True
    if end - 1 > line_end:
        last_start, last_end = _line_around(data, end - 1)
        if suppress.line_suppressed(data[last_start:last_end], yaml=yaml):
            return True
    if first == 0 or line_start == 0 or data[line_start - 1 : line_start] != b"\n":
        return False
    # The pragma line must be the file line just above, not merely the fragment's previous line.
    if fragment.line_number(first - 1) != fragment.line_number(first) - 1:
        return False
    previous_start, previous_end = _line_around(data, line_start - 1)
    return suppress.suppresses_next_line(data[previous_start:previous_end], yaml=yaml)


def _gitops_candidate(fragment: Fragment) -> bool:
    """Cheap test before importing the GitOps analyzer: a manifest-like path or content."""
    lowered = fragment.path.lower()
    if lowered.endswith(_GITOPS_SUFFIXES) or "kubeconfig" in lowered or lowered.endswith(".kube/config"):
        return True
    # find() with an end bound, not a slice: a slice would copy up to 64 KiB of every file.
    data = fragment.data
    return data.find(b"apiVersion", 0, 65536) >= 0 or data.find(b"kind:", 0, 65536) >= 0
