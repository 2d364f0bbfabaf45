"""Parse ``git diff``/``git log -p`` output (``-U0 --full-index``) into the lines each file gains.

The parser does no per-line Python work: one regex walks the text event by
event (commit marker, file header, mode, index line, ``+++`` path, hunk), and
a hunk match swallows its removed and added lines in C; the added block
becomes fragment data with one ``bytes.replace``. Line numbers come from the
hunk headers (with ``-U0`` every added line of a hunk is consecutive).

Expected input: git run with :data:`DIFF_OPTIONS` (``-U0``, ``--full-index``,
``--src-prefix=a/ --dst-prefix=b/``, which :mod:`gitrepo` also pins), and for
logs :data:`COMMIT_FORMAT`, whose line is NUL followed by the commit id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from gitsecure.scan.sources.gitrepo import display_path, unquote_path

#: ``--format`` for ``git log`` that :class:`DiffParser` recognises as a commit boundary.
COMMIT_FORMAT = "--format=%x00%H"
#: The ``git diff``/``git log -p`` options whose output :class:`DiffParser` reads.
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

_EVENTS = re.compile(
    rb"^\x00(?P<commit>[0-9a-f]{40,64})$"
    rb"|^(?P<diff>diff --git )"
    rb"|^new (?:file )?mode (?P<mode>\d+)$"
    rb"|^index [0-9a-f]+\.\.(?P<blob>[0-9a-f]+)(?: (?P<imode>\d+))?$"
    rb"|^\+\+\+ (?P<path>[^\n]*)$"
    rb"|^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@[^\n]*\n"
    rb"(?:[-\\][^\n]*\n)*(?P<added>(?:\+[^\n]*\n)*)",
    re.MULTILINE,
)
# Gitlinks (submodules) and symlinks: their "content" is an id or a target path, never a secret.
_SKIPPED_MODES = frozenset({b"160000", b"120000"})


@dataclass(frozen=True, slots=True)
class FileDiff:
    """The lines one file gains in one diff."""

    path: str
    """Slash-separated, relative to the repository top (the new name after a rename)."""
    added: bytes
    """The added lines, without their ``+``, each ending in LF."""
    line_numbers: Sequence[int]
    """The new file's line number of each added line."""
    blob: str | None
    """The new blob id (from the ``index`` line)."""
    commit: str | None


class DiffParser:
    """Turns diff text into :class:`FileDiff` objects; :meth:`feed` accepts it in pieces cut at file boundaries.

    ``path_allowed`` (the engine's global path allowlist) is applied before
    any added line of a skipped file is copied.
    """

    def __init__(self, *, path_allowed: Callable[[str], bool] | None = None) -> None:
        """``path_allowed``: the engine's path filter, or None to keep every path."""
        self.commits = 0
        """How many commit markers have been seen (for progress)."""
        self._allowed = path_allowed
        self._commit: str | None = None
        self._reset()

    def _reset(self) -> None:
        self._path: str | None = None
        self._blob: str | None = None
        self._skip = False
        self._blocks: list[bytes] = []
        self._numbers: list[range] = []

    def feed(self, text: bytes) -> Iterator[FileDiff]:
        """Parse ``text``, which must end at a line boundary before a ``diff --git`` or commit line (or at the end)."""
        for match in _EVENTS.finditer(text):
            # Each alternative starts with its own byte, cheaper than asking which group matched.
            kind = text[match.start()]
            if kind == 0x40:  # "@": a hunk
                if self._path is None or self._skip:
                    continue
                block = match.group("added")
                if not block:
                    continue
                count = block.count(b"\n")
                start = int(match.group("start"))
                self._blocks.append(block[1:].replace(b"\n+", b"\n"))
                self._numbers.append(range(start, start + count))
            elif kind == 0x64:  # "diff --git"
                yield from self._flush()
            elif kind == 0:  # the commit marker
                yield from self._flush()
                self._commit = match.group("commit").decode("ascii")
                self.commits += 1
            elif kind == 0x2B:  # "+++ b/path"
                # git appends a TAB to an unquoted name holding a space (for GNU patch); a real TAB is quoted.
                raw = unquote_path(match.group("path").removesuffix(b"\t"))
                if raw.startswith(b"b/"):
                    self._path = display_path(raw[2:])
                    if self._allowed is not None and not self._allowed(self._path):
                        self._skip = True
                else:  # /dev/null: a deletion
                    self._skip = True
            elif kind == 0x69:  # "index old..new"
                self._blob = match.group("blob").decode("ascii")
                if match.group("imode") in _SKIPPED_MODES:
                    self._skip = True
            elif kind == 0x6E and match.group("mode") in _SKIPPED_MODES:  # "new (file) mode"
                self._skip = True

    def close(self) -> Iterator[FileDiff]:
        """The last file of the input."""
        yield from self._flush()

    def _flush(self) -> Iterator[FileDiff]:
        if self._blocks and self._path is not None and not self._skip:
            numbers: Sequence[int]
            numbers = self._numbers[0] if len(self._numbers) == 1 else [n for r in self._numbers for n in r]
            added = self._blocks[0] if len(self._blocks) == 1 else b"".join(self._blocks)
            yield FileDiff(self._path, added, numbers, self._blob, self._commit)
        self._reset()


def boundary(buffer: bytes, start: int = 0) -> int:
    """The offset just after the last LF that precedes a file or commit header at or after ``start``; 0 if none."""
    cut = max(buffer.rfind(b"\ndiff --git ", start), buffer.rfind(b"\n\x00", start))
    return cut + 1 if cut >= 0 else 0
