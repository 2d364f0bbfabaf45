"""Scan every commit's added lines (``gitsecure scan --history``, the pre-push hook).

One ``git log -p -U0 --reverse --topo-order`` stream is parsed as it
arrives (see :mod:`diffparse`: no per-line Python work), oldest commit first,
so the first time a secret is seen is the commit that introduced it; each
secret (rule id, secret hash) is reported once, with that commit, at the
path and line where it first appeared.

Decisions and known gaps:

* Merge commits show no diff (git's default for ``log -p``): content a merge
  introduces while resolving a conflict ("evil merges") is not scanned. Every
  line that reached the merge through a parent was scanned in that parent's commit.
* Renames are detected, so a moved file reports nothing new; binary files,
  deletions, symlinks and submodules add nothing.
* Structured files where context decides (YAML, JSON, Terraform state,
  kubeconfig) are scanned whole at that commit (their blob, read through one
  ``git cat-file --batch`` process, up to :data:`CONTEXT_FILE_LIMIT`) and only
  findings on added lines are kept, so the GitOps analysis sees the
  ``kind: Secret`` a new ``data`` line belongs to.
* Bare repositories work (CI mirrors).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO

from gitsecure.errors import InputError, UsageError
from gitsecure.scan.finding import Finding
from gitsecure.scan.sources import Scanner
from gitsecure.scan.sources.diffparse import COMMIT_FORMAT, DIFF_OPTIONS, DiffParser, FileDiff, boundary
from gitsecure.scan.sources.gitrepo import (
    BlobReader,
    first_error_line,
    git_command,
    git_env,
    require_repository,
    resolve_commit,
    run_git,
)
from gitsecure.scan.sources.staged import scan_added_lines, scan_file_diff

#: Largest blob fetched whole for context; bigger files are judged on their added lines.
CONTEXT_FILE_LIMIT = 1 << 20
_CONTEXT_SUFFIXES = (".yaml", ".yml", ".json", ".tfstate", ".kubeconfig")
_CONTEXT_NAMES = ("kubeconfig", "config", ".dockerconfigjson", ".dockercfg")
_READ_SIZE = 1 << 20
_QUEUE_CHUNKS = 16


def scan_history(
    scanner: Scanner,
    *,
    repo: Path,
    since: str | None = None,
    all_refs: bool = False,
    progress: bool = False,
) -> Iterator[Finding]:
    """Yield each secret added in the history of ``repo`` once, with the commit that introduced it.

    ``since``: a revision; only commits after it are scanned (``since..HEAD``,
    or ``^since`` with every ref when ``all_refs``). A range ``A..B`` scans
    exactly that range (the pre-push hook pushes ``B`` over ``A``); ``..B`` all of ``B``'s history.
    ``all_refs``: every branch, tag and other ref instead of ``HEAD``.
    ``progress``: a progress line on stderr, shown only when stderr is a terminal.
    Raises :class:`~gitsecure.errors.UsageError` for an unknown revision or outside a repository.
    """
    require_repository(repo)
    revisions = _revisions(repo, since=since, all_refs=all_refs)
    if not revisions:
        return  # an unborn branch: nothing committed yet
    meter = _Progress(repo, revisions) if progress and sys.stderr.isatty() else None
    parser = DiffParser(path_allowed=scanner.path_allowed)
    reported: set[tuple[str, str]] = set()
    blobs: BlobReader | None = None
    command = git_command(
        repo, "log", "-p", "-M", "--reverse", "--topo-order", COMMIT_FORMAT, *DIFF_OPTIONS, *revisions, "--"
    )
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=git_env())  # noqa: S603
        assert proc.stdout is not None
        pieces = _pieces(proc.stdout)
        try:
            for text in itertools.chain(pieces, [None]):  # None: the end, where the last file is flushed
                for diff in parser.feed(text) if text is not None else parser.close():
                    if _needs_context(diff):
                        blobs = blobs or BlobReader(repo)
                        findings = scan_file_diff(scanner, diff, blobs, limit=CONTEXT_FILE_LIMIT)
                    else:
                        findings = scan_added_lines(scanner, diff)
                    yield from _new(findings, diff, reported)
                if meter is not None:
                    meter.update(parser.commits, len(reported))
        finally:
            if proc.poll() is None:  # the caller stopped early: end git first so the reader thread sees EOF
                proc.kill()
            pieces.close()
            proc.stdout.close()
            status = proc.wait()
            if blobs is not None:
                blobs.close()
            if meter is not None:
                meter.finish()
        if status != 0:
            errors.seek(0)
            raise InputError(f"git log failed: {first_error_line(errors.read())}", reference="git-failed")


def _revisions(repo: Path, *, since: str | None, all_refs: bool) -> list[str]:
    if since is not None and ".." in since:
        if all_refs:
            raise UsageError("a range A..B cannot be combined with --all")
        start, end = since.split("..", 1)
        if end.startswith("."):
            raise UsageError(f"unsupported range {since!r}: use A..B")
        exclude = [f"^{_commit(repo, start)}"] if start else []  # "..B": all of B's history
        return [*exclude, _commit(repo, end or "HEAD")]
    exclude = [f"^{_commit(repo, since)}"] if since is not None else []
    if all_refs:
        return ["--all", *exclude]
    head = resolve_commit(repo, "HEAD")
    if head is None:
        if since is not None:
            raise UsageError("this repository has no commit yet, so --since cannot apply")
        return []
    return [head, *exclude]


def _commit(repo: Path, revision: str) -> str:
    commit = resolve_commit(repo, revision)
    if commit is None:
        raise UsageError(f"unknown revision {revision!r}", hint="give a commit, branch or tag that exists here")
    return commit


def _pieces(stdout: IO[bytes]) -> Generator[bytes, None, None]:
    """The log output in pieces that end where a file or commit begins (a piece holds whole files).

    A thread drains the pipe while the caller parses and scans, so git never
    waits for Python; the queue bound keeps memory at a few MiB.
    """
    chunks: queue.Queue[bytes] = queue.Queue(maxsize=_QUEUE_CHUNKS)
    stop = threading.Event()

    def drain() -> None:
        try:
            while not stop.is_set() and (chunk := stdout.read(_READ_SIZE)):
                chunks.put(chunk)
        except (OSError, ValueError):  # the pipe was closed because the caller stopped early
            pass
        finally:
            chunks.put(b"")

    reader = threading.Thread(target=drain, name="gitsecure-history-reader", daemon=True)
    reader.start()
    held: list[bytes] = []
    try:
        while chunk := chunks.get():
            cut = boundary(chunk)
            if cut == 0:
                held.append(chunk)
                continue
            yield b"".join([*held, chunk[:cut]])
            held = [chunk[cut:]]
        if held:
            yield b"".join(held)
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)


def _needs_context(diff: FileDiff) -> bool:
    path = diff.path.lower()
    return diff.blob is not None and (path.endswith(_CONTEXT_SUFFIXES) or path.rsplit("/", 1)[-1] in _CONTEXT_NAMES)


def _new(findings: Iterator[Finding], diff: FileDiff, reported: set[tuple[str, str]]) -> Iterator[Finding]:
    for finding in findings:
        key = (finding.rule_id, finding.secret_hash)
        if key in reported:
            continue
        reported.add(key)
        yield finding if finding.commit else dataclasses.replace(finding, commit=diff.commit)


class _Progress:
    """``\\r``-updated progress on a terminal; plain text so the hook path needs no rich."""

    def __init__(self, repo: Path, revisions: list[str]) -> None:
        counted = run_git(repo, "rev-list", "--count", *revisions, "--", check=False)
        self._total = int(counted.stdout or b"0") if counted.returncode == 0 else 0
        self._last = 0.0

    def update(self, commits: int, findings: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        total = f"/{self._total}" if self._total else ""
        sys.stderr.write(f"\rscanning history: {commits}{total} commits, {findings} secrets")
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
