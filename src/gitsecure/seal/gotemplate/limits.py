"""The bounds every render runs under, so a hostile template fails fast instead of hanging.

They are gathered here so that a review of what a template can cost reads one
module; :mod:`.evaluate` enforces the per-render limits, :mod:`.parser` the
nesting depth, and :class:`.values.Buf` with the string functions the
:data:`MAX_STRING` cap on any one function result.
"""

from __future__ import annotations

MAX_OUTPUT = 1 << 20  # bytes of rendered output
MAX_STEPS = 1_000_000  # nodes and commands evaluated per render
MAX_ITERATIONS = 100_000  # range iterations per render
# Characters and elements passed to and returned by functions: steps alone would let 100k
# iterations of sha256sum or upper over a 1 MiB value run for minutes.
MAX_WORK = 16 << 20
MAX_DEPTH = 50  # nested controls or parentheses; real templates use a handful
MAX_STRING = 1 << 20  # characters in one function result
