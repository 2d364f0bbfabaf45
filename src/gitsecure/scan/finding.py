"""What the engine and the sources produce: fragments in, findings out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Fragment:
    """A unit of text to scan: a whole file, a chunk of a big file, or the added lines of a hunk.

    ``line_numbers`` maps the fragment's 0-based line index to the line number
    in the file it came from; ``None`` means the fragment starts at
    ``first_line`` and its lines are consecutive.
    """

    data: bytes
    path: str
    """Slash-separated, relative to the scanned root (``-`` for stdin)."""
    first_line: int = 1
    line_numbers: Sequence[int] | None = None
    commit: str | None = None
    blob: str | None = None
    """The blob id when the data came from git (staged or history); lets analyzers fetch the whole file."""

    def line_number(self, index: int) -> int:
        """The file line number of the fragment's 0-based line ``index``, tolerant of short ``line_numbers``."""
        numbers = self.line_numbers
        if numbers is None:
            return self.first_line + index
        if 0 <= index < len(numbers):
            return numbers[index]
        if not numbers:
            return self.first_line + index
        return numbers[-1] + (index - len(numbers) + 1)


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret at one place. ``secret`` is plaintext: never print it, use :func:`redact`."""

    rule_id: str
    description: str
    path: str
    line: int
    column: int
    """1-based column of the secret's first byte in its line."""
    secret: str = field(repr=False)
    secret_hash: str
    """detect-secrets' hashed_secret (SHA-1 hex of the secret): the identity baselines use."""
    secret_type: str
    entropy: float = 0.0
    end_line: int = 0
    commit: str | None = None
    hint: str | None = None
    tags: tuple[str, ...] = ()

    def redacted(self, percent: int = 100) -> str:
        """The secret with ``percent`` of it hidden (100: nothing shown)."""
        return redact(self.secret, percent)

    @property
    def key(self) -> tuple[str, str, str]:
        """Position-free identity: (path, secret_hash, secret_type), as detect-secrets compares."""
        return (self.path, self.secret_hash, self.secret_type)


def redact(secret: str, percent: int = 100) -> str:
    """Hide ``percent`` (0-100) of ``secret``, keeping a prefix as gitleaks' ``--redact=N`` does."""
    if percent >= 100 or not secret:
        return "REDACTED"
    if percent <= 0:
        return secret
    shown = len(secret) - (len(secret) * percent + 99) // 100
    return secret[:shown] + "..." if shown > 0 else "REDACTED"
