"""detect-secrets' ``.secrets.baseline``, read and written byte for byte as detect-secrets 1.5 does.

A baseline lists secrets a team already knows about, keyed on the secret's
SHA-1 (``hashed_secret``), never its position, so it survives edits,
rebases and squashes. The layout is detect-secrets' (see
``docs/scan.md#baselines``): ``version``, ``plugins_used`` (sorted by
lower-cased name), ``filters_used`` (sorted by lower-cased path), ``results``
(file name -> entries sorted by ``(line_number, hashed_secret, type)``) and,
outside slim mode, ``generated_at``; the text is ``json.dumps(obj, indent=2)``
plus a newline.

gitsecure writes slim files by default (no line numbers, no timestamp), so a
baseline only changes when the set of secrets does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitsecure.errors import InputError
from gitsecure.scan.finding import Finding

log = logging.getLogger("gitsecure.scan.baseline")

#: The detect-secrets release whose format we write. detect-secrets runs its
#: upgraders on any file whose version is older than its own, so writing our
#: package version (0.x) would make it mangle our files.
FORMAT_VERSION = "1.5.0"
DEFAULT_FILENAME = ".secrets.baseline"

JSONObject = dict[str, Any]

#: What ``detect-secrets scan`` 1.5.0 writes with its defaults. A new gitsecure
#: baseline carries the same lists, so a team still running detect-secrets
#: against it gets detect-secrets' normal behaviour: an empty list would make
#: ``detect-secrets-hook`` run no plugin at all and pass every commit.
DEFAULT_PLUGINS: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("ArtifactoryDetector", {}),
    ("AWSKeyDetector", {}),
    ("AzureStorageKeyDetector", {}),
    ("Base64HighEntropyString", {"limit": 4.5}),
    ("BasicAuthDetector", {}),
    ("CloudantDetector", {}),
    ("DiscordBotTokenDetector", {}),
    ("GitHubTokenDetector", {}),
    ("GitLabTokenDetector", {}),
    ("HexHighEntropyString", {"limit": 3.0}),
    ("IbmCloudIamDetector", {}),
    ("IbmCosHmacDetector", {}),
    ("IPPublicDetector", {}),
    ("JwtTokenDetector", {}),
    ("KeywordDetector", {"keyword_exclude": ""}),
    ("MailchimpDetector", {}),
    ("NpmDetector", {}),
    ("OpenAIDetector", {}),
    ("PrivateKeyDetector", {}),
    ("PypiTokenDetector", {}),
    ("SendGridDetector", {}),
    ("SlackDetector", {}),
    ("SoftlayerDetector", {}),
    ("SquareOAuthDetector", {}),
    ("StripeDetector", {}),
    ("TelegramBotTokenDetector", {}),
    ("TwilioKeyDetector", {}),
)
_FILTERS = "detect_secrets.filters."
_HEURISTIC = _FILTERS + "heuristic."
#: detect-secrets' filters before 1.0 (what its 1.0 upgrade assumes a 0.x file used).
_V1_0_FILTERS: tuple[JSONObject, ...] = (
    {"path": _FILTERS + "allowlist.is_line_allowlisted"},
    {"path": _HEURISTIC + "is_sequential_string"},
    {"path": _HEURISTIC + "is_potential_uuid"},
    {"path": _HEURISTIC + "is_likely_id_string"},
    {"path": _HEURISTIC + "is_templated_secret"},
    {"path": _HEURISTIC + "is_prefixed_with_dollar_sign"},
    {"path": _HEURISTIC + "is_indirect_reference"},
    {"path": _FILTERS + "common.is_ignored_due_to_verification_policies", "min_level": 2},
)
#: Filters detect-secrets 1.1 added to the defaults.
_V1_1_FILTERS: tuple[JSONObject, ...] = (
    {"path": _HEURISTIC + "is_lock_file"},
    {"path": _HEURISTIC + "is_not_alphanumeric_string"},
    {"path": _HEURISTIC + "is_swagger_file"},
)
DEFAULT_FILTERS: tuple[JSONObject, ...] = _V1_0_FILTERS + _V1_1_FILTERS


@dataclass(frozen=True, slots=True)
class Entry:
    """One known secret: a ``results`` item of the baseline."""

    filename: str
    hashed_secret: str
    type: str
    is_verified: bool = False
    line_number: int = 0
    """0 when unknown (slim baselines)."""
    is_secret: bool | None = None
    """The audit label: True a real secret, False a false positive, None not audited."""

    @property
    def key(self) -> tuple[str, str, str]:
        """detect-secrets' identity of a result: (filename, hashed_secret, type)."""
        return (self.filename, self.hashed_secret, self.type)

    def to_json(self, *, line_numbers: bool) -> JSONObject:
        """The entry as detect-secrets writes it (``line_number`` only when known and wanted)."""
        item: JSONObject = {
            "type": self.type,
            "filename": self.filename,
            "hashed_secret": self.hashed_secret,
            "is_verified": self.is_verified,
        }
        if line_numbers and self.line_number:
            item["line_number"] = self.line_number
        if self.is_secret is not None:
            item["is_secret"] = self.is_secret
        return item


@dataclass(frozen=True, slots=True)
class Baseline:
    """A whole ``.secrets.baseline``. Build one with :func:`from_findings` or :func:`parse`."""

    entries: tuple[Entry, ...] = ()
    """In file order. detect-secrets sorts a file's results by (line_number, hashed_secret, type)
    *before* dropping line numbers in slim mode, so a slim file's order cannot be recomputed from
    what it holds: :func:`parse` keeps the order it read, :func:`from_findings` and :func:`update`
    sort by the scan's lines, and :meth:`to_json` only groups by file."""
    version: str = FORMAT_VERSION
    plugins_used: tuple[JSONObject, ...] = field(
        default_factory=lambda: tuple({"name": name, **settings} for name, settings in DEFAULT_PLUGINS)
    )
    filters_used: tuple[JSONObject, ...] = DEFAULT_FILTERS
    generated_at: str | None = None
    """detect-secrets' UTC timestamp; None in slim mode."""
    line_numbers: bool = False
    """Whether entries are written with their ``line_number`` (off: slim)."""

    def known(self, finding: Finding) -> Entry | None:
        """The entry that covers ``finding``, matched on (file, hashed_secret) whatever the type.

        The type is left out on purpose: detect-secrets and gitsecure name the
        same secret differently ("Base64 High Entropy String" against a
        provider rule), and a renamed or newly more specific rule must not turn
        an accepted secret into a new finding. The hash already pins the value.
        """
        return self._index().get((_normal(finding.path), finding.secret_hash))

    def _index(self) -> dict[tuple[str, str], Entry]:
        index: dict[tuple[str, str], Entry] = {}
        for entry in self.entries:
            index.setdefault((_normal(entry.filename), entry.hashed_secret), entry)
        return index

    def new_findings(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings the baseline does not cover, whatever their label (detect-secrets' semantics)."""
        index = self._index()
        return [f for f in findings if (_normal(f.path), f.secret_hash) not in index]

    def to_json(self) -> JSONObject:
        """The document, keys in detect-secrets' order."""
        results: dict[str, list[JSONObject]] = {}
        # Entries keep the order they were given (see ``entries``); only files are sorted here.
        for entry in self.entries:
            results.setdefault(entry.filename, []).append(entry.to_json(line_numbers=self.line_numbers))
        document: JSONObject = {
            "version": self.version,
            "plugins_used": sorted((dict(p) for p in self.plugins_used), key=lambda p: str(p["name"]).lower()),
            "filters_used": sorted((dict(f) for f in self.filters_used), key=lambda f: str(f["path"]).lower()),
            "results": {name: results[name] for name in sorted(results)},
        }
        if self.generated_at is not None:
            document["generated_at"] = self.generated_at
        return document

    def dumps(self) -> str:
        """The file's text: ``json.dumps(document, indent=2)`` and a newline, as detect-secrets writes it."""
        return json.dumps(self.to_json(), indent=2) + "\n"


def _sorted(entries: Iterable[tuple[int, Entry]]) -> tuple[Entry, ...]:
    """detect-secrets' order: by file, then (line, hashed_secret, type) with the line the scan saw."""
    ordered = sorted(entries, key=lambda pair: (pair[1].filename, pair[0], pair[1].hashed_secret, pair[1].type))
    return tuple(entry for _, entry in ordered)


def _normal(path: str) -> str:
    """Compare paths as detect-secrets writes them: slash-separated, without a leading ``./``."""
    path = path.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def timestamp(now: dt.datetime) -> str:
    """``generated_at`` as detect-secrets writes it (UTC, seconds)."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_findings(findings: Iterable[Finding], *, line_numbers: bool = False) -> Baseline:
    """A new baseline holding each distinct (file, secret, type) once, at its first line."""
    entries: dict[tuple[str, str, str], Entry] = {}
    for finding in findings:
        entry = Entry(
            filename=_normal(finding.path),
            hashed_secret=finding.secret_hash,
            type=finding.secret_type,
            line_number=finding.line,
        )
        previous = entries.get(entry.key)
        if previous is None or entry.line_number < previous.line_number:
            entries[entry.key] = entry
    kept = entries.values()
    if not line_numbers:
        return Baseline(entries=_sorted((e.line_number, replace(e, line_number=0)) for e in kept), line_numbers=False)
    return Baseline(entries=_sorted((e.line_number, e) for e in kept), line_numbers=True)


def update(
    old: Baseline,
    findings: Iterable[Finding],
    *,
    scanned: Callable[[str], bool] | None = None,
    line_numbers: bool | None = None,
    now: dt.datetime | None = None,
) -> Baseline:
    """Rescan results merged into ``old``: labels kept, vanished secrets dropped, new ones added.

    ``scanned(filename)`` says whether the rescan covered that file; entries of
    files it did not cover are kept as they are (None: the rescan covered
    every file). A new result that matches an old one on (file, hash) keeps
    the old entry's type, so a baseline written by detect-secrets does not
    churn; labels follow detect-secrets' merge: an older ``is_secret`` is kept
    when the rescan has none, an older ``is_verified: true`` is kept. The
    plugin and filter lists are kept. ``line_numbers`` None keeps the old
    file's mode; ``generated_at``, when the old file had one, is refreshed
    only if the results changed.
    """
    write_lines = old.line_numbers if line_numbers is None else line_numbers
    fresh = from_findings(findings, line_numbers=True)  # lines kept here for ordering
    by_hash: dict[tuple[str, str], list[Entry]] = {}
    for entry in old.entries:
        by_hash.setdefault((_normal(entry.filename), entry.hashed_secret), []).append(entry)
    merged: dict[tuple[str, str, str], tuple[int, Entry]] = {}
    for position, entry in enumerate(old.entries):
        if scanned is not None and not scanned(_normal(entry.filename)):
            merged[entry.key] = (position, entry)  # a file not rescanned keeps its order
    for entry in fresh.entries:
        line = entry.line_number
        for previous in by_hash.get((entry.filename, entry.hashed_secret)) or [entry]:
            if previous.key not in merged:
                merged[previous.key] = (line, replace(previous, line_number=line if write_lines else 0))
    result = replace(old, entries=_sorted(merged.values()), line_numbers=write_lines)
    if old.generated_at is not None and result.dumps() != old.dumps():
        result = replace(result, generated_at=timestamp(now or dt.datetime.now(dt.UTC)))
    return result


def parse(text: str | bytes, *, source: str = DEFAULT_FILENAME) -> Baseline:
    """Read a baseline, upgrading detect-secrets 0.x and 1.0 files as detect-secrets would.

    Raises :class:`InputError` (one line) for anything that is not a baseline.
    """
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{source} is not a valid baseline: not JSON ({exc.__class__.__name__})",
            hint="create one with 'gitsecure baseline create'",
            reference="baseline-invalid",
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("results"), dict):
        raise _invalid(source, "no 'results' object")
    version = document.get("version")
    if not isinstance(version, str) or _version(version) is None:
        raise _invalid(source, "no valid 'version'")
    document = _upgrade(document, source)
    entries: list[Entry] = []
    for filename, items in document["results"].items():
        if not isinstance(items, list):
            raise _invalid(source, f"results for {filename!r} are not a list")
        entries.extend(_entry(filename, item, source) for item in items)
    plugins, filters = document.get("plugins_used", []), document.get("filters_used", [])
    if not _objects_with(plugins, "name") or not _objects_with(filters, "path"):
        raise _invalid(source, "'plugins_used' or 'filters_used' is not a list of objects")
    generated_at = document.get("generated_at")
    return Baseline(
        entries=tuple(entries),
        version=str(document["version"]),
        plugins_used=tuple(plugins),
        filters_used=tuple(filters),
        generated_at=generated_at if isinstance(generated_at, str) else None,
        line_numbers=any(entry.line_number for entry in entries),
    )


def load(path: str | os.PathLike[str]) -> Baseline:
    """Read the baseline at ``path`` (:class:`InputError` when missing or invalid)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read baseline {os.fspath(path)}: {exc.strerror}",
            hint="create one with 'gitsecure baseline create'",
            reference="baseline-unreadable",
        ) from None
    return parse(data, source=os.fspath(path))


def save(baseline: Baseline, path: str | os.PathLike[str]) -> None:
    """Write ``baseline`` to ``path`` atomically (a failed write leaves the old file)."""
    from gitsecure.fileio import atomic_write  # noqa: PLC0415 - tempfile costs start-up time

    atomic_write(path, baseline.dumps().encode("utf-8"))


def _invalid(source: str, why: str) -> InputError:
    return InputError(
        f"{source} is not a valid baseline: {why}",
        hint="create one with 'gitsecure baseline create'",
        reference="baseline-invalid",
    )


def _objects_with(items: object, key: str) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items)


def _entry(filename: str, item: object, source: str) -> Entry:
    if not isinstance(item, dict):
        raise _invalid(source, f"a result for {filename!r} is not an object")
    hashed, kind = item.get("hashed_secret"), item.get("type")
    if not isinstance(hashed, str) or not isinstance(kind, str):
        raise _invalid(source, f"a result for {filename!r} lacks 'hashed_secret' or 'type'")
    line = item.get("line_number", 0)
    is_secret = item.get("is_secret")
    if not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise _invalid(source, f"a result for {filename!r} has a bad 'line_number'")
    return Entry(
        # detect-secrets takes the key of "results" as the file name, not the item's copy.
        filename=filename,
        hashed_secret=hashed,
        type=kind,
        is_verified=item.get("is_verified") is True,
        line_number=line,
        is_secret=is_secret if isinstance(is_secret, bool) else None,
    )


def _version(text: str) -> tuple[int, int, int] | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return (numbers[0], numbers[1], numbers[2])


def _upgrade(document: JSONObject, source: str) -> JSONObject:
    """Bring an older file to the 1.5 layout, following detect-secrets' documented upgrades."""
    version = _version(str(document["version"]))
    assert version is not None
    if version >= (1, 5, 0):
        return document
    doc = dict(document)
    if version < (0, 12, 0) and "exclude_regex" in doc:
        doc["exclude"] = {"files": doc.pop("exclude_regex"), "lines": None}
    if version < (1, 0, 0):
        filters: list[JSONObject] = [dict(f) for f in _V1_0_FILTERS]
        exclude = doc.pop("exclude", None) or {}
        for key, path in (("files", "should_exclude_file"), ("lines", "should_exclude_line")):
            if isinstance(exclude, dict) and exclude.get(key):
                filters.append({"path": f"{_FILTERS}regex.{path}", "pattern": [exclude[key]]})
        word_list = doc.pop("word_list", None) or {}
        if isinstance(word_list, dict) and word_list.get("file"):
            filters.append(
                {
                    "path": _FILTERS + "wordlist.should_exclude_secret",
                    "min_length": 3,
                    "file_name": word_list["file"],
                    "file_hash": word_list.get("hash"),
                }
            )
        doc["filters_used"] = filters
        plugins = []
        for item in doc.get("plugins_used", []):
            plugin = dict(item) if isinstance(item, dict) else item
            if isinstance(plugin, dict):
                for old_key in ("base64_limit", "hex_limit"):
                    if old_key in plugin:
                        plugin["limit"] = plugin.pop(old_key)
            plugins.append(plugin)
        doc["plugins_used"] = plugins
        if doc.pop("custom_plugin_paths", None):
            # detect-secrets would import these Python files to name their classes; a scanner
            # must not run code from a data file, so the entries are dropped.
            log.warning("%s: dropping 'custom_plugin_paths' from a detect-secrets 0.x baseline", source)
    if version < (1, 1, 0):
        doc["filters_used"] = [*doc.get("filters_used", []), *(dict(f) for f in _V1_1_FILTERS)]
    doc["version"] = FORMAT_VERSION
    return doc


def label(baseline: Baseline, hashed_secret: str, *, is_secret: bool | None) -> tuple[Baseline, int]:
    """Set the audit label of every entry whose hash starts with ``hashed_secret``; return the count."""
    prefix = hashed_secret.lower()
    hits = [e for e in baseline.entries if e.hashed_secret.startswith(prefix)]
    if len({e.hashed_secret for e in hits}) > 1:
        raise InputError(
            f"{hashed_secret!r} matches more than one secret in the baseline",
            hint="give more characters of the hash",
            reference="baseline-ambiguous-hash",
        )
    entries = tuple(replace(e, is_secret=is_secret) if e in hits else e for e in baseline.entries)
    return replace(baseline, entries=entries), len(hits)


def statistics(entries: Sequence[Entry]) -> dict[str, dict[str, int]]:
    """Per ``type``: how many entries are labelled real, false, or not audited (``audit --stats``)."""
    stats: dict[str, dict[str, int]] = {}
    for entry in entries:
        counts = stats.setdefault(entry.type, {"real": 0, "false": 0, "unaudited": 0})
        key = "unaudited" if entry.is_secret is None else ("real" if entry.is_secret else "false")
        counts[key] += 1
    return dict(sorted(stats.items()))
