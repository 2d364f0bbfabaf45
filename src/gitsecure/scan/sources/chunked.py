"""Scan a stream of any size in overlapping, line-aligned chunks with bounded memory.

A chunk ends at its last line break, so its fragment starts and ends on whole
lines and ``first_line`` stays exact. The next chunk starts ``overlap`` bytes
earlier (again on a line start), so a secret that straddles the border, a PEM
key included, lies whole inside one of the two; a finding both chunks see is
reported once. A line longer than half a chunk is cut where it is: the rare
secret split by such a cut may be reported twice or with a shifted column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from gitsecure.scan.finding import Finding, Fragment
from gitsecure.scan.sources import Scanner

#: Files up to this size are scanned in one piece.
WHOLE_LIMIT = 8 << 20
#: Chunk size when streaming.
CHUNK_SIZE = 4 << 20
#: Bytes each chunk repeats from the previous one: larger than an RSA-8192 PEM key.
OVERLAP = 16 << 10


def read_full(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: pipes return short reads, so read until full or at the end."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        piece = stream.read(remaining)
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


def scan_stream(
    scanner: Scanner,
    stream: BinaryIO,
    *,
    path: str,
    head: bytes = b"",
    chunk_size: int | None = None,
    overlap: int | None = None,
) -> Iterator[Finding]:
    """Scan everything ``stream`` yields (after ``head``, bytes already read from it) as ``path``.

    ``chunk_size`` and ``overlap`` default to :data:`CHUNK_SIZE` and :data:`OVERLAP`.
    """
    chunk_size = chunk_size or CHUNK_SIZE
    overlap = overlap or OVERLAP
    if chunk_size < 4 * overlap:
        raise ValueError("chunk_size must be at least four times the overlap")
    buffer = head
    line = 1
    seen: set[tuple[str, str, int]] = set()
    while True:
        buffer += read_full(stream, chunk_size - len(buffer))
        last = len(buffer) < chunk_size
        cut = len(buffer) if last else buffer.rfind(b"\n", chunk_size // 2) + 1 or len(buffer)
        findings = scanner.scan(Fragment(buffer[:cut], path, first_line=line))
        current: set[tuple[str, str, int]] = set()
        for finding in findings:
            key = (finding.rule_id, finding.secret_hash, finding.line)
            current.add(key)
            if key not in seen:
                yield finding
        if last:
            return
        seen = current
        # Restart on a line start about `overlap` bytes before the cut; on a very long line, mid-line.
        start = buffer.rfind(b"\n", cut - 2 * overlap, cut - overlap) + 1 or cut - overlap
        line += buffer.count(b"\n", 0, start)
        buffer = buffer[start:]
