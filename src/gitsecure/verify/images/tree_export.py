"""The files of one commit, written to a directory, for reading the manifests a revision deploys.

Not ``git archive``: it honours the tree's own ``.gitattributes`` (``export-ignore``, ``export-subst``), so a
commit could hide a manifest from the gate while the reconciler still applies it. Here the tree is listed with
``git ls-tree -r -z`` and every blob is written byte for byte from ``git cat-file --batch``. Symbolic links are
recreated only when relative and pointing inside the tree (a reconciler would not follow others either);
submodules are not followed. Each skipped entry is a warning, so nothing disappears silently.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from pathlib import Path

from gitsecure.errors import InputError
from gitsecure.verify.gitrun import git_argv, git_env, run_git

__all__ = ["export_tree"]

MAX_FILES = 200_000
MAX_BYTES = 1 << 30  # a deploy repository far below this; a bound keeps a hostile one from filling the disk


def export_tree(repo: Path, commit: str, destination: Path, *, path: str = "") -> list[str]:
    """Write the files of ``commit`` (under ``path``, "" for all) into ``destination``; return warnings."""
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if path:
        args += ["--", path.strip("/")]
    listing = run_git(repo, *args).stdout
    blobs: list[tuple[str, str, str]] = []
    warnings: list[str] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_name = record.partition(b"\t")
        mode, kind, oid = meta.decode("ascii").split(" ")
        name = raw_name.decode("utf-8", "surrogateescape")
        if kind == "commit":
            warnings.append(f"{name}: submodule not followed")
        elif not _safe(name):
            warnings.append(f"{name}: unsafe path skipped")
        else:
            blobs.append((mode, oid, name))
    if len(blobs) > MAX_FILES:
        raise InputError(f"{commit} has more than {MAX_FILES} files", reference="tree-too-large")
    _write(repo, blobs, destination, warnings)
    return warnings


def _safe(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(part not in ("", ".", "..", ".git") for part in parts)


def _write(repo: Path, blobs: list[tuple[str, str, str]], destination: Path, warnings: list[str]) -> None:
    if not blobs:
        return
    request = b"".join(oid.encode("ascii") + b"\n" for _, oid, _ in blobs)
    proc = subprocess.run(  # noqa: S603 (argv built by git_argv, no shell)
        git_argv(repo, "cat-file", "--batch"), input=request, capture_output=True, env=git_env(), check=False
    )
    if proc.returncode != 0:
        raise InputError("git cat-file --batch failed", reference="git-failed")
    out = proc.stdout
    offset = 0
    total = 0
    for mode, oid, name in blobs:
        end = out.index(b"\n", offset)
        header = out[offset:end].split(b" ")
        if len(header) != 3 or header[0].decode("ascii") != oid or header[1] != b"blob":
            raise InputError(f"unexpected object for {name}", reference="git-failed")
        size = int(header[2])
        data = out[end + 1 : end + 1 + size]
        offset = end + 1 + size + 1  # the blob is followed by a newline
        total += size
        if total > MAX_BYTES:
            raise InputError("the revision's files exceed 1 GiB", reference="tree-too-large")
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            _link(target, data.decode("utf-8", "surrogateescape"), name, warnings)
        else:
            target.write_bytes(data)


def _link(target: Path, link: str, name: str, warnings: list[str]) -> None:
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), link))
    if link.startswith("/") or resolved == ".." or resolved.startswith("../"):
        warnings.append(f"{name}: symbolic link out of the tree not followed")
        return
    os.symlink(link, target)
