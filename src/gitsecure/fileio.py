"""Writing files so that a failed run never leaves a half-written one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from gitsecure.errors import OutputError


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one step: a temporary file in the same directory, then rename.

    The file keeps the permissions of the file it replaces (or ``mode``, or
    the umask default for a new file). Readers see the old or the new
    content, never a mix.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # /dev/null, /dev/stdout, a FIFO: renaming over it would replace the device node itself
        # (as root, /dev/null became a regular file once). There is no half-written file to avoid here.
        _write_through(target, data)
        return
    existing_mode = existing.st_mode & 0o7777 if existing is not None else None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}", reference="output-not-writable") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final_mode = mode if mode is not None else existing_mode
        if final_mode is None:
            umask = os.umask(0)
            os.umask(umask)
            final_mode = 0o666 & ~umask
        os.chmod(tmp_name, final_mode)
        os.replace(tmp_name, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise OutputError(f"cannot write {target}: {exc.strerror}", reference="output-not-writable") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _write_through(target: Path, data: bytes) -> None:
    try:
        if stat.S_ISDIR(target.stat().st_mode):
            raise OutputError(f"cannot write {target}: it is a directory", reference="output-not-writable")
        with open(target, "wb") as handle:  # buffered: writes every byte or raises
            handle.write(data)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}", reference="output-not-writable") from None
