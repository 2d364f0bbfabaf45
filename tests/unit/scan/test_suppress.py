"""Inline suppression markers with each tool's semantics."""

from __future__ import annotations

import pytest

from gitsecure.scan.suppress import line_suppressed, suppresses_next_line


@pytest.mark.parametrize(
    "line",
    [
        b"x = 'v'  # gitsecure:allow",
        b"x = 'v'  gitleaks:allow",
        b"x = 'v' trufflehog:ignore",
        b"x = 'v'  # pragma: allowlist secret",
        b"x = 'v'  // pragma: allowlist secret",
        b"x = 'v'  /* pragma: allowlist secret */",
        b"x = 'v'  -- pragma: allowlist secret",
        b"x = 'v'  <!-- pragma: allowlist secret -->",
        b"x = 'v'  # pragma: whitelist secret",
    ],
)
def test_same_line(line: bytes) -> None:
    assert line_suppressed(line)


@pytest.mark.parametrize("line", [b"x = 'v'", b"x = v pragma: allowlist secret", b"allow = 1", b"Gitleaks:Allow"])
def test_not_suppressed(line: bytes) -> None:
    assert not line_suppressed(line)


def test_yaml_accepts_only_hash_comments() -> None:
    assert line_suppressed(b"k: v # pragma: allowlist secret", yaml=True)
    assert not line_suppressed(b"k: v // pragma: allowlist secret", yaml=True)


def test_nextline_must_stand_alone() -> None:
    assert suppresses_next_line(b"  # pragma: allowlist nextline secret")
    assert suppresses_next_line(b"/* pragma: allowlist nextline secret */")
    assert not suppresses_next_line(b"x = 1  # pragma: allowlist nextline secret")
    assert not suppresses_next_line(b"// pragma: allowlist nextline secret", yaml=True)
