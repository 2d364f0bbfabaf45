"""A small on-disk cache of per-object verification results, keyed by (object id, policy hash).

Layout: one JSON file per policy hash, ``<directory>/<sha256 hex>.json``, holding
``{"format": "gitsecure-verify-cache", "version": 1, "policy_hash": ..., "results": {oid: {...}}}``.
A result is only ever looked up under the policy hash it was stored with, so a new key, a
revoked key or an edited rule (all of which change the hash) forces re-verification (flux #2165).

What to store: facts that depend only on the object and the policy (signer, key, format,
problems), never a rule's decision: two repositories under different rules share objects.

The cache is trusted input to the gate, so it is guarded like one: the directory is created
0700 and files are written 0600 (atomically, via :func:`gitsecure.fileio.atomic_write`); a file
that is not ours, is group- or world-writable, is unreadable, too large or malformed in any way
is treated as empty. Writing is best effort: a cache that cannot be saved costs time, never a
verdict. Size is bounded: at most ``max_entries`` results per file (oldest dropped first) and
``max_files`` policy files (least recently written removed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from gitsecure.errors import OutputError
from gitsecure.fileio import atomic_write

__all__ = ["VerifyCache", "default_cache_dir"]

log = logging.getLogger("gitsecure.verify")

_FORMAT = "gitsecure-verify-cache"
_VERSION = 1
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_POLICY_HASH = re.compile(r"sha256:([0-9a-f]{64})")
_FILE = re.compile(r"[0-9a-f]{64}\.json")
MAX_FILE_BYTES = 64 * 1024 * 1024


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gitsecure/verify``, or ``~/.cache/gitsecure/verify``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "gitsecure" / "verify"


def _hex_of(policy_hash: str) -> str:
    match = _POLICY_HASH.fullmatch(policy_hash)
    if match is None:
        raise ValueError("policy_hash must be sha256:<64 lower-case hex digits>")
    return match.group(1)


def _check_oid(oid: str) -> None:
    if not _OID.fullmatch(oid):
        raise ValueError("oid must be 40 or 64 lower-case hex digits")


class VerifyCache:
    """Results by (oid, policy hash): :meth:`get`, :meth:`put`, then :meth:`save` (or use it as a context manager)."""

    def __init__(self, directory: Path | None = None, *, max_entries: int = 50_000, max_files: int = 8) -> None:
        self.directory = directory if directory is not None else default_cache_dir()
        self.max_entries = max_entries
        self.max_files = max_files
        self._loaded: dict[str, dict[str, dict[str, Any]]] = {}
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}

    def __enter__(self) -> VerifyCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        # Results already put are verified facts whatever happened afterwards; keep them.
        self.save()

    def get(self, oid: str, policy_hash: str) -> dict[str, Any] | None:
        """The result stored for ``oid`` under exactly ``policy_hash`` (a fresh copy), or None."""
        _check_oid(oid)
        key = _hex_of(policy_hash)
        result = self._pending.get(key, {}).get(oid)
        if result is None:
            result = self._results(key).get(oid)
        return json.loads(json.dumps(result)) if result is not None else None

    def put(self, oid: str, policy_hash: str, result: Mapping[str, Any]) -> None:
        """Remember ``result`` (a JSON-serialisable mapping) for ``oid`` under ``policy_hash`` until :meth:`save`."""
        _check_oid(oid)
        key = _hex_of(policy_hash)
        copy = json.loads(json.dumps(dict(result), allow_nan=False))  # TypeError/ValueError: not JSON
        pending = self._pending.setdefault(key, {})
        pending.pop(oid, None)
        pending[oid] = copy

    def save(self) -> None:
        """Write the pending results (merged with what is on disk), then prune. Failures are logged, not raised."""
        for key, pending in self._pending.items():
            merged = dict(self._read(key))  # re-read: another process may have written meanwhile
            for oid, result in pending.items():
                merged.pop(oid, None)
                merged[oid] = result
            if len(merged) > self.max_entries:
                merged = dict(list(merged.items())[len(merged) - self.max_entries :])
            document = {"format": _FORMAT, "version": _VERSION, "policy_hash": f"sha256:{key}", "results": merged}
            try:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                atomic_write(self.directory / f"{key}.json", json.dumps(document).encode("utf-8"), mode=0o600)
            except (OSError, OutputError) as exc:
                log.warning("verify cache not saved in %s: %s", self.directory, exc)
                continue
            self._loaded[key] = merged
        self._pending.clear()
        self._prune()

    # ------------------------------------------------------------------------------------

    def _results(self, key: str) -> dict[str, dict[str, Any]]:
        if key not in self._loaded:
            self._loaded[key] = self._read(key)
        return self._loaded[key]

    def _read(self, key: str) -> dict[str, dict[str, Any]]:
        """The results in the file for ``key``; {} for anything missing, foreign, unsafe or malformed."""
        path = self.directory / f"{key}.json"
        try:
            with path.open("rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                    return {}
                # Anyone who can write this file can make the gate accept: only our own, private files count.
                if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                    log.warning("verify cache file %s ignored: not owned by this user or writable by others", path)
                    return {}
                document = json.loads(handle.read(MAX_FILE_BYTES + 1))
        except (OSError, ValueError, RecursionError):  # missing, unreadable, not JSON, nested too deeply
            return {}
        if (
            not isinstance(document, dict)
            or document.get("format") != _FORMAT
            or document.get("version") != _VERSION
            or document.get("policy_hash") != f"sha256:{key}"
            or not isinstance(document.get("results"), dict)
        ):
            return {}
        results: dict[str, Any] = document["results"]
        return {oid: result for oid, result in results.items() if _OID.fullmatch(oid) and isinstance(result, dict)}

    def _prune(self) -> None:
        """Keep the ``max_files`` most recently written policy files; remove the rest."""
        try:
            entries = [entry for entry in os.scandir(self.directory) if _FILE.fullmatch(entry.name)]
            entries.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime_ns, reverse=True)
        except OSError:
            return
        for entry in entries[self.max_files :]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
            self._loaded.pop(entry.name.removesuffix(".json"), None)
