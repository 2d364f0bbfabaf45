"""Small git plumbing for the sources: run git predictably, read blobs, unquote paths.

Every call goes through :func:`git_command`, which pins the settings that
change git's output format (prefixes, quoting, colour, external diff drivers,
``diff.relative``) so a user's configuration cannot make the parsers misread
a diff. ``GIT_DIR``, ``GIT_WORK_TREE`` and ``GIT_INDEX_FILE`` are kept: inside
a hook they point at the repository and index being committed (``git commit
-a`` stages into a temporary index named by ``GIT_INDEX_FILE``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import TracebackType
from typing import IO

from gitsecure.errors import InputError, UsageError

# Settings that alter what git prints; forced so the parsers see one format.
_CONFIG = (
    "core.quotePath=false",
    "color.ui=false",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.relative=false",
    "log.showSignature=false",
    "core.pager=cat",
)
# Variables that would route diffs through other programs or pagers.
_DROP = ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER", "PAGER", "GIT_TRACE", "GIT_TRACE_PERFORMANCE")
_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13}


def git_env() -> dict[str, str]:
    """The environment for git subprocesses: the caller's, minus pagers and diff drivers, never prompting."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    return env


def git_command(repo: Path, *args: str) -> list[str]:
    """The argv running ``git args`` in ``repo`` with the output-format settings pinned."""
    command = ["git", "-C", str(repo)]
    for setting in _CONFIG:
        command += ["-c", setting]
    return [*command, *args]


def run_git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run git to completion and return its output; raise :class:`InputError` when it fails and ``check``."""
    try:
        proc = subprocess.run(git_command(repo, *args), capture_output=True, env=git_env(), check=False)  # noqa: S603
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH", reference="git-missing") from None
    if check and proc.returncode != 0:
        detail = first_error_line(proc.stderr)
        raise InputError(f"git {args[0]} failed: {detail}", reference="git-failed")
    return proc


def toplevel(path: Path) -> Path | None:
    """The top of the work tree containing ``path`` (a directory), or None outside a work tree."""
    proc = run_git(path, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        return None
    return Path(os.fsdecode(proc.stdout.rstrip(b"\n")))


def require_toplevel(path: Path) -> Path:
    """:func:`toplevel`, raising a one-line :class:`UsageError` outside a git work tree."""
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory")
    top = toplevel(path)
    if top is None:
        raise UsageError(f"{path} is not inside a git work tree", hint="run it inside a git repository")
    return top


def require_repository(path: Path) -> Path:
    """``path`` if it is inside a git repository (bare ones included), else a one-line :class:`UsageError`."""
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory")
    if run_git(path, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise UsageError(f"{path} is not inside a git repository", hint="run it inside a git repository")
    return path


def resolve_commit(repo: Path, revision: str) -> str | None:
    """The commit id ``revision`` names, or None when it names no commit."""
    if not revision or revision.startswith("-"):
        return None
    proc = run_git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("ascii").strip()


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of a path (``"a\\tb\\303\\251"``); unquoted paths pass through."""
    if len(raw) < 2 or raw[:1] != b'"' or raw[-1:] != b'"':
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        byte = body[i]
        if byte != 0x5C or i + 1 == len(body):  # not a backslash
            out.append(byte)
            i += 1
            continue
        nxt = body[i + 1]
        digits = body[i + 1 : i + 4]
        if len(digits) == 3 and all(0x30 <= d <= 0x37 for d in digits):
            out.append(int(digits, 8) & 0xFF)
            i += 4
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return bytes(out)


def display_path(raw: bytes) -> str:
    """A git path as text for findings: UTF-8, with undecodable bytes escaped rather than lost."""
    return raw.decode("utf-8", "backslashreplace")


class BlobReader:
    """One ``git cat-file --batch`` process answering blob requests one at a time.

    A request writes one object id and reads exactly the announced size, so
    the pipes never fill up; objects above ``limit`` are drained in pieces
    and reported as too big instead of being held in memory.
    """

    def __init__(self, repo: Path) -> None:
        """Start the batch process in ``repo``."""
        self._proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            git_command(repo, "cat-file", "--batch"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(),
        )

    def read(self, oid: str, *, limit: int) -> bytes | None:
        """The content of object ``oid``, or None when it is missing, not a blob, or larger than ``limit``."""
        stdin, stdout = self._pipes()
        stdin.write(oid.encode("ascii") + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:  # "<oid> missing" or a dead process
            return None
        size = int(header[2])
        if header[1] != b"blob" or size > limit:
            _drain(stdout, size + 1)
            return None
        data = stdout.read(size)
        stdout.read(1)  # the LF after each object
        return data

    def close(self) -> None:
        """Stop the batch process."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        return self._proc.stdin, self._proc.stdout


def _drain(stream: IO[bytes], count: int) -> None:
    while count > 0:
        piece = stream.read(min(count, 1 << 20))
        if not piece:
            return
        count -= len(piece)


def first_error_line(stderr: bytes) -> str:
    """The first non-blank line of git's stderr, without its ``fatal:`` prefix, for a one-line error."""
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[0].removeprefix("fatal: ").strip() if lines else "no error message"
