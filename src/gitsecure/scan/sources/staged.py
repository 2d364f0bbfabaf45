"""Scan what the index adds (``gitsecure scan --staged``, the pre-commit hook).

``git diff --cached -U0`` says which lines of which staged files are new;
the staged blobs themselves are read from the object store through one
``git cat-file --batch`` process (no checkout, no clone, no temporary files).
Each staged blob is scanned whole and only findings touching an added line
are kept, so a multi-line PEM key whose middle changed, or a Kubernetes
Secret whose ``kind:`` line is unchanged, is still judged in context.

Decisions:

* Renames are detected (``-M``): a file renamed without changes adds no line
  and reports nothing (its secrets were reported when they were added).
* Deleted files, binaries (git prints no hunk for them), symlinks and
  submodules add nothing to scan.
* Works on an unborn branch (git compares the index with the empty tree),
  from any subdirectory, and under the pre-commit framework, which stashes
  unstaged changes but leaves the index alone. ``GIT_INDEX_FILE`` is honoured,
  so ``git commit -a`` and ``git commit FILE`` scan the index git is about to commit.
* A staged blob above ``max_file_size`` is not loaded: only its added lines are scanned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from gitsecure.scan.finding import Finding, Fragment
from gitsecure.scan.sources import Scanner
from gitsecure.scan.sources.diffparse import DiffParser, FileDiff
from gitsecure.scan.sources.gitrepo import BlobReader, require_toplevel, run_git

#: Default for ``max_file_size`` (the engine's settings usually pass their own).
MAX_FILE_SIZE = 10 << 20
DIFF_OPTIONS = (
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--full-index",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=all",
)


def scan_staged(scanner: Scanner, *, repo: Path, max_file_size: int = MAX_FILE_SIZE) -> Iterator[Finding]:
    """Yield the findings on lines the index adds, in the work tree containing ``repo``.

    Paths are relative to the top of the work tree; ``blob`` on each fragment
    is the staged blob id. Raises :class:`~gitsecure.errors.UsageError`
    outside a git work tree.
    """
    top = require_toplevel(repo)
    proc = run_git(top, "diff", "--cached", "-M", "--diff-filter=ACMRT", *DIFF_OPTIONS)
    parser = DiffParser(path_allowed=scanner.path_allowed)
    diffs = [*parser.feed(proc.stdout), *parser.close()]
    if not diffs:
        return
    with BlobReader(top) as blobs:
        for diff in diffs:
            yield from scan_file_diff(scanner, diff, blobs, limit=max_file_size)


def scan_file_diff(scanner: Scanner, diff: FileDiff, blobs: BlobReader, *, limit: int) -> Iterator[Finding]:
    """Scan the whole new blob of ``diff`` and keep findings on added lines; without the blob, the added lines."""
    data = blobs.read(diff.blob, limit=limit) if diff.blob else None
    if data is None or b"\0" in data[:8192]:
        yield from scan_added_lines(scanner, diff)
        return
    findings = scanner.scan(Fragment(data, diff.path, commit=diff.commit, blob=diff.blob))
    if findings:
        yield from on_lines(findings, diff.line_numbers)


def scan_added_lines(scanner: Scanner, diff: FileDiff) -> Iterator[Finding]:
    """Scan only the added lines of ``diff``, as one fragment carrying their line numbers."""
    yield from scanner.scan(
        Fragment(diff.added, diff.path, line_numbers=diff.line_numbers, commit=diff.commit, blob=diff.blob)
    )


def on_lines(findings: list[Finding], lines: Sequence[int]) -> Iterator[Finding]:
    """The findings whose line span touches one of ``lines``."""
    wanted = lines if isinstance(lines, range) else frozenset(lines)
    for finding in findings:
        last = max(finding.end_line, finding.line)
        if any(line in wanted for line in range(finding.line, last + 1)):
            yield finding
