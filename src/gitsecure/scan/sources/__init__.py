"""Where the scanner's input comes from: files, the index, the history, stdin.

Every source turns its input into :class:`~gitsecure.scan.finding.Fragment`
objects, hands them to a :class:`Scanner` and yields the findings:

* :func:`gitsecure.scan.sources.worktree.scan_paths`: files and directories
  (``gitsecure scan PATH...`` and the pre-commit framework's file-name mode);
* :func:`gitsecure.scan.sources.staged.scan_staged`: the lines the index adds
  (``gitsecure scan --staged``, the pre-commit hook);
* :func:`gitsecure.scan.sources.history.scan_history`: the lines every commit
  adds, each secret once (``gitsecure scan --history``, the pre-push hook);
* :func:`gitsecure.scan.sources.stdin.scan_stdin`: a stream (``--stdin``).

Sources read bytes and never decode file content; big inputs are streamed in
overlapping chunks so memory stays bounded.
"""

from __future__ import annotations

from typing import Protocol

from gitsecure.scan.finding import Finding, Fragment


class Scanner(Protocol):
    """What a source needs from the engine (:class:`gitsecure.scan.engine.Engine` implements it)."""

    def scan(self, fragment: Fragment) -> list[Finding]:
        """The findings in ``fragment``, with file line numbers, sorted by (line, column)."""
        ...

    def path_allowed(self, path: str) -> bool:
        """False when the global path allowlist skips ``path`` (slash-separated, relative)."""
        ...


__all__ = ["Scanner"]
