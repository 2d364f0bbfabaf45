"""Scan files and directories (``gitsecure scan PATH...``, the pre-commit framework's file-name mode).

A directory inside a git work tree is listed with ``git ls-files --cached
--others --exclude-standard``: tracked files plus untracked ones that are not
ignored, so ``.gitignore`` is respected without re-implementing it. Outside a
work tree, directories are walked (``.git`` skipped). A file named on the
command line is always scanned, even when ignored: naming it beats ignoring it.

Skipped, each reported through ``on_skip(path, reason)``: binaries (a known
binary extension, or NUL among the first 8 KiB), files above
``max_file_size``, symlinks unless followed, anything that is not a regular
file, and unreadable or vanished files. Files above
:data:`~gitsecure.scan.sources.chunked.WHOLE_LIMIT` are streamed in
overlapping chunks, so memory stays bounded whatever ``max_file_size`` allows.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from gitsecure.scan.finding import Finding, Fragment
from gitsecure.scan.sources import Scanner
from gitsecure.scan.sources.chunked import WHOLE_LIMIT, scan_stream
from gitsecure.scan.sources.gitrepo import run_git, toplevel

OnSkip = Callable[[str, str], None]
"""``on_skip(path, reason)``: the reason starts with a stable word (binary, too large, symlink, ...)."""

#: Bytes inspected for a NUL to decide that a file is binary (git looks at as many).
SNIFF_SIZE = 8000
_BINARY_WORDS = (
    ".png .jpg .jpeg .gif .bmp .ico .webp .tif .tiff .psd .heic .avif .svgz .woff .woff2 .ttf .otf .eot "
    ".pdf .zip .gz .tgz .bz2 .xz .zst .7z .rar .jar .war .ear .whl .egg .so .dylib .dll .exe .o .a .lib "
    ".obj .class .pyc .pyo .wasm .bin .db .sqlite .sqlite3 .mp3 .mp4 .m4a .ogg .wav .flac .avi .mov .mkv "
    ".webm .iso .dmg .deb .rpm .apk .ipa"
)
BINARY_EXTENSIONS = frozenset(_BINARY_WORDS.split())


def scan_paths(
    scanner: Scanner,
    paths: Sequence[Path],
    *,
    root: Path,
    max_file_size: int,
    follow_symlinks: bool = False,
    on_skip: OnSkip | None = None,
) -> Iterator[Finding]:
    """Scan ``paths`` (files or directories) and yield findings whose paths are relative to ``root``.

    Paths outside ``root`` are reported as given. A path that does not exist
    is reported through ``on_skip``; nothing raises for bad input. Each file
    is scanned once even when several arguments cover it.
    """
    skip = on_skip or _say_nothing
    seen: set[str] = set()
    # Plain strings and os.path from here on: pathlib costs more than the scan of a small file.
    root_prefix = os.path.join(os.path.abspath(root), "")
    for target in paths:
        try:
            info = target.stat() if follow_symlinks else target.lstat()
        except OSError as exc:
            skip(str(target), f"not found: {exc.strerror}")
            continue
        files = (
            _list_directory(target, follow_symlinks=follow_symlinks) if stat.S_ISDIR(info.st_mode) else [str(target)]
        )
        for file in files:
            name = _relative(file, root_prefix)
            if name in seen:
                continue
            seen.add(name)
            if scanner.path_allowed(name):
                yield from _scan_file(
                    scanner, file, name, max_file_size=max_file_size, follow_symlinks=follow_symlinks, skip=skip
                )


def _scan_file(
    scanner: Scanner, file: str, name: str, *, max_file_size: int, follow_symlinks: bool, skip: OnSkip
) -> Iterator[Finding]:
    if os.path.splitext(file)[1].lower() in BINARY_EXTENSIONS:
        skip(name, "binary (file extension)")
        return
    # One open with O_NOFOLLOW and an fstat instead of lstat + open: two system calls fewer per
    # file, and the type and size checks apply to the very file that is read. O_NONBLOCK keeps a
    # FIFO from blocking the open; it is refused by the regular-file check before any read.
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(file, flags)
    except FileNotFoundError:
        skip(name, "not found (deleted but still in the index)")
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks and os.path.islink(file):
            skip(name, "symlink (not followed)")
        else:
            skip(name, f"unreadable: {exc.strerror}")
        return
    try:
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                skip(name, "not a regular file")  # a FIFO or a device would block or never end
                return
            if info.st_size > max_file_size:
                skip(name, f"too large ({info.st_size} bytes, limit {max_file_size})")
                return
            if info.st_size <= WHOLE_LIMIT:
                data = handle.read(info.st_size)  # a file still growing is scanned as it was at stat time
                if b"\0" in data[:SNIFF_SIZE]:
                    skip(name, "binary (NUL byte)")
                    return
                yield from scanner.scan(Fragment(data, name))
                return
            head = handle.read(SNIFF_SIZE)
            if b"\0" in head:
                skip(name, "binary (NUL byte)")
                return
            yield from scan_stream(scanner, handle, path=name, head=head)
    except OSError as exc:
        skip(name, f"unreadable: {exc.strerror}")


def _list_directory(directory: Path, *, follow_symlinks: bool) -> list[str]:
    top = None if ".git" in directory.resolve().parts else toplevel(directory)
    if top is None:
        return _walk(directory, follow_symlinks=follow_symlinks)
    proc = run_git(
        directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--full-name", "--", ".", check=False
    )
    if proc.returncode != 0:
        return _walk(directory, follow_symlinks=follow_symlinks)
    files: list[str] = []
    base = str(top)
    for entry in dict.fromkeys(proc.stdout.split(b"\0")):  # a conflicted file is listed once per stage
        if entry and not entry.endswith(b"/"):  # "nested/": an untracked nested repository
            files.append(os.path.join(base, os.fsdecode(entry)))
    return files


def _walk(directory: Path, *, follow_symlinks: bool) -> list[str]:
    files: list[str] = []
    visited: set[tuple[int, int]] = set()
    for current, dirs, names in os.walk(directory, followlinks=follow_symlinks):
        if follow_symlinks:  # a symlink loop would never end
            info = os.stat(current)
            if (info.st_dev, info.st_ino) in visited:
                dirs[:] = []
                continue
            visited.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(d for d in dirs if d != ".git")
        files.extend(os.path.join(current, name) for name in sorted(names))
    return files


def _relative(file: str, root_prefix: str) -> str:
    """``file`` relative to the root (``root_prefix`` ends with a separator), slash-separated."""
    absolute = os.path.abspath(file)
    text = absolute[len(root_prefix) :] if absolute.startswith(root_prefix) else file
    if os.sep != "/":  # pragma: no cover (POSIX here)
        text = text.replace(os.sep, "/")
    if text.isascii():
        return text
    # Undecodable file names were decoded with surrogates; findings carry printable text.
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def _say_nothing(path: str, reason: str) -> None:
    """The default ``on_skip``."""
