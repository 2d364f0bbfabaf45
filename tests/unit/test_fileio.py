"""Atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitsecure.errors import OutputError
from gitsecure.fileio import atomic_write


def test_replaces_content_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["out.yaml"]


def test_explicit_mode_for_new_files(tmp_path: Path) -> None:
    target = tmp_path / "key.yaml"
    atomic_write(target, b"k", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_unwritable_directory_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(tmp_path / "missing-dir" / "f", b"x")


def test_failure_during_rename_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "is-a-dir"
    target.mkdir()
    (target / "child").write_text("keep")
    with pytest.raises(OutputError):
        atomic_write(target, b"x")
    assert sorted(os.listdir(tmp_path)) == ["is-a-dir"]
    assert (target / "child").read_text() == "keep"


def test_a_fifo_is_written_through_not_replaced(tmp_path: Path) -> None:
    """Renaming over a device or FIFO would replace the node itself (as root, /dev/null once became a file)."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"sealed\n")
    reader.join(10)
    assert received == [b"sealed\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_dev_null_stays_a_device() -> None:

    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    atomic_write("/dev/null", b"discarded")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
