"""Scan a stream (``gitsecure scan --stdin``): streamed in overlapping chunks, so any size fits in memory.

Unlike files, stdin is scanned even when it holds NUL bytes: whoever pipes
data in asked for it to be scanned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from gitsecure.scan.finding import Finding
from gitsecure.scan.sources import Scanner
from gitsecure.scan.sources.chunked import scan_stream


def scan_stdin(scanner: Scanner, stream: BinaryIO, *, path: str = "-") -> Iterator[Finding]:
    """Scan everything ``stream`` yields (e.g. ``sys.stdin.buffer``) and report it as ``path``.

    ``path`` also decides which path-scoped rules apply (``--stdin-path
    values.yaml`` would let Helm values rules run); the global path allowlist
    is not applied to stdin.
    """
    yield from scan_stream(scanner, stream, path=path)
