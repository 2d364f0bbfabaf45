"""The trusted-anchor state file of strict mode: the last commit a strict verification trusted.

The file holds one commit id and a newline. Strict mode reads it as the anchor (commits
reachable from it were verified before and are not walked again) and, after a trusted strict
verification, replaces it atomically with the commit just verified. A later revision that does
not descend from it (a force-push) is an error, not a shortcut.

Whoever can write this file decides where verification stops, so it is guarded like the cache:
a file that is not a regular file, is not owned by this user, or is writable by group or
others is refused (a configuration error, never silently ignored). A missing file means no
anchor: the whole history is verified. The anchor does not depend on the policy: after
removing a compromised key, delete the file to have the whole history verified again.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from gitsecure.errors import InputError
from gitsecure.fileio import atomic_write

__all__ = ["read_anchor", "write_anchor"]

_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MAX_BYTES = 4096


def read_anchor(path: Path) -> str | None:
    """The commit id recorded in ``path``; None when the file does not exist."""
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(
            f"cannot read state file {path}: {exc.strerror or exc}", reference="invalid-state-file"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"state file {path} is not a regular file", reference="invalid-state-file")
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InputError(
            f"state file {path} is not owned by this user or is writable by others",
            reference="unsafe-state-file",
            hint="whoever can write it decides where verification stops: chmod 600 it, or delete it",
        )
    text = data.decode("ascii", "replace").strip()
    if len(data) > _MAX_BYTES or not _OID.fullmatch(text):
        raise InputError(f"state file {path} does not hold a commit id", reference="invalid-state-file")
    return text


def write_anchor(path: Path, commit: str) -> None:
    """Record ``commit`` as the new anchor (atomically, mode 0600)."""
    if not _OID.fullmatch(commit):
        raise ValueError("commit must be a full lower-case object id")
    atomic_write(path, f"{commit}\n".encode("ascii"), mode=0o600)
