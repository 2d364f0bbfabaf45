"""Scan what the index adds (``gitsecure scan --staged``, the pre-commit hook).

``git diff --cached -U0`` says which lines of which staged files are new;
the staged blobs themselves are read from the object store through one
``git cat-file --batch`` process (no checkout, no clone, no temporary files).
Only findings touching an added line are kept, but each added block is
judged in context, read from the staged blob:

* a file the GitOps analyzer reads (``gitops.applies_to``: a manifest,
  kubeconfig, Helm values, Terraform state...) is scanned whole, so a
  Kubernetes Secret whose ``kind:`` line is unchanged is still one;
* any other file is scanned as a window: each block of added lines plus
  :data:`CONTEXT_LINES` unchanged lines either side, grown through adjacent
  base64-looking lines (the body of a PEM, OpenSSH, PGP or PuTTY key) so a
  key whose ``BEGIN`` or ``END`` line is unchanged is still seen whole. The
  hook pays only for the rules whose keywords occur near the change, not for
  every keyword somewhere in ten whole files (each rule's RE2 pattern is
  compiled on first use, which dominates a small commit's scan).

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
from gitsecure.scan.settings import DEFAULT_MAX_FILE_SIZE
from gitsecure.scan.sources import Scanner
from gitsecure.scan.sources.diffparse import DIFF_OPTIONS, DiffParser, FileDiff
from gitsecure.scan.sources.gitrepo import BlobReader, require_toplevel, run_git

#: Unchanged lines scanned on each side of a block of added lines (a two-line assignment, the
#: ``pragma: allowlist nextline secret`` line above, a key's ``BEGIN``/``END`` and header lines).
CONTEXT_LINES = 4
#: How far a window may grow through base64-looking lines on each side: past the engine's
#: multi-line reach (16 KiB after a ``BEGIN`` keyword), so the longest key it can match fits.
MAX_GROW_BYTES = 24 << 10
# A line that looks like part of an armored body: at least this long, nothing but base64 once
# trimmed. A key's last body line may be shorter; it then counts as one of the context lines.
_BODY_MIN = 16
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def scan_staged(scanner: Scanner, *, repo: Path, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Iterator[Finding]:
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
            yield from scan_file_diff(scanner, diff, blobs, limit=max_file_size, window=True)


def scan_file_diff(
    scanner: Scanner, diff: FileDiff, blobs: BlobReader, *, limit: int, window: bool = False
) -> Iterator[Finding]:
    """Scan the new blob of ``diff`` and keep findings on added lines; without the blob, the added lines.

    ``window``: scan the whole blob only when the GitOps analyzer reads it, else the added
    blocks in context (:func:`context_fragment`); without it, always the whole blob.
    """
    data = blobs.read(diff.blob, limit=limit) if diff.blob else None
    if data is None or b"\0" in data[:8192]:
        yield from scan_added_lines(scanner, diff)
        return
    if window and not needs_whole_file(diff.path, data):
        fragment = context_fragment(data, diff)
    else:
        fragment = Fragment(data, diff.path, commit=diff.commit, blob=diff.blob)
    findings = scanner.scan(fragment)
    if findings:
        yield from on_lines(findings, diff.line_numbers)


def needs_whole_file(path: str, data: bytes) -> bool:
    """Whether the GitOps analyzer reads this file: it judges documents, not windows."""
    from gitsecure.scan import gitops  # noqa: PLC0415 (most staged files are not manifests)

    return gitops.applies_to(path, data)


def context_fragment(data: bytes, diff: FileDiff) -> Fragment:
    """The added blocks of ``diff`` with their context lines from ``data`` (the new blob), as one fragment.

    ``line_numbers`` maps each fragment line to its line in the blob; blocks whose
    windows overlap or touch are merged, so no line is scanned twice.
    """
    lines = data.split(b"\n")
    if lines[-1] == b"":  # the blob ends with a newline
        lines.pop()
    regions: list[tuple[int, int]] = []  # 0-based, inclusive
    for block_first, block_last in _blocks(diff.line_numbers, len(lines)):
        first, last = _grow(lines, block_first, -1), _grow(lines, block_last, 1)
        if regions and first <= regions[-1][1] + 1:
            regions[-1] = (regions[-1][0], max(last, regions[-1][1]))
        else:
            regions.append((first, last))
    if not regions:  # line numbers outside the blob: trust the diff's own lines
        return Fragment(diff.added, diff.path, line_numbers=diff.line_numbers, commit=diff.commit, blob=diff.blob)
    numbers: Sequence[int]
    if len(regions) == 1:
        first, last = regions[0]
        numbers = range(first + 1, last + 2)
    else:
        numbers = [n for first, last in regions for n in range(first + 1, last + 2)]
    window = b"\n".join(b"\n".join(lines[first : last + 1]) for first, last in regions) + b"\n"
    return Fragment(window, diff.path, line_numbers=numbers, commit=diff.commit, blob=diff.blob)


def _blocks(numbers: Sequence[int], count: int) -> Iterator[tuple[int, int]]:
    """Runs of consecutive 1-based line numbers as 0-based inclusive (first, last), within ``count`` lines."""
    if isinstance(numbers, range):
        runs = [(numbers.start, numbers.stop - 1)] if numbers else []
    else:
        runs = []
        for number in numbers:
            if runs and number == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], number)
            else:
                runs.append((number, number))
    for first, last in runs:
        if 1 <= first <= count:
            yield first - 1, min(last, count) - 1


def _grow(lines: list[bytes], index: int, step: int) -> int:
    """The farthest line from ``index`` (going ``step``) the window keeps.

    :data:`CONTEXT_LINES` lines always; past a base64-looking line the count starts
    again, so the window runs through a key's body to its ``BEGIN``/``END`` line,
    within :data:`MAX_GROW_BYTES`.
    """
    edge, plain, budget = index, 0, MAX_GROW_BYTES
    position = index + step
    while 0 <= position < len(lines) and budget > 0:
        line = lines[position].strip()
        budget -= len(line) + 1
        if len(line) >= _BODY_MIN and not line.translate(None, _BASE64):
            plain = 0
        else:
            plain += 1
            if plain > CONTEXT_LINES:
                break
        edge = position
        position += step
    return edge


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
