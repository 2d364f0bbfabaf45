"""Which commits a revision's verdict rests on: the revision alone, or its history back to a trusted anchor.

``strict`` mode checks every commit reachable from the revision, so one
unsigned commit in the middle of a range is caught, not only the tip. The
walk is bounded by two kinds of anchor:

* the recorded last-verified revision (``anchor``): commits reachable from it
  were verified before and are not listed again; it must be an ancestor of
  the revision (a force-push that drops it is an error, not a shortcut);
* seal commits: a commit whose message carries the seal trailer (by default
  ``Gitsecure-Seal: <justification>``, key matched case-insensitively by git's
  own trailer parser) *and* whose signature the caller trusts (``is_trusted``).
  The walk stops at the most recent trusted seal on each ancestral line: the
  seal itself is listed (and verified like any commit), everything reachable
  from it is not. A commit with the trailer that ``is_trusted`` rejects is an
  ordinary commit, so an attacker cannot end the walk by writing a trailer.

Merge commits are verified like any other commit: their own signature must
be trusted, and by default every parent line is walked, so a merge of an
unsigned branch is caught. With ``first_parent`` only the first-parent chain
is listed; commits brought in by merges are then trusted through the
signature of the merge commit that brought them in (the model of a protected
branch whose merges are made and signed by a trusted party).

A shallow clone cannot show what lies behind its boundary: a walk that
reaches the boundary without an anchor or seal is an error. Replace refs and
grafts are ignored (see :mod:`gitsecure.verify.gitrun`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from gitsecure.errors import InputError, UsageError
from gitsecure.verify.gitrun import first_error_line, run_git

WalkMode = Literal["head", "strict"]
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def resolve(repo: Path, rev: str) -> tuple[str, str | None]:
    """The commit ``rev`` names and, when ``rev`` names an annotated tag, that tag's object id.

    A tag of a tag reports the outermost tag. A name that is ambiguous (a tag
    and a branch both called ``main``) is refused rather than resolved the way
    git would silently pick; so is a tag of a tree or blob.
    """
    oid = _rev_parse(repo, rev, "object")
    kind = run_git(repo, "cat-file", "-t", oid).stdout.strip().decode("ascii")
    if kind == "commit":
        return oid, None
    if kind != "tag":
        raise InputError(f"{rev!r} names a {kind}, not a commit or tag", reference="not-a-commit")
    commit = run_git(repo, "rev-parse", "--verify", "--quiet", f"{oid}^{{commit}}", ok_codes=(0, 1))
    if commit.returncode != 0:
        raise InputError(f"tag {rev!r} does not point to a commit", reference="not-a-commit")
    return commit.stdout.strip().decode("ascii"), oid


def commits_to_verify(
    repo: Path,
    revision: str,
    *,
    mode: WalkMode,
    anchor: str | None,
    is_trusted: Callable[[str], bool],
    seal_trailer: str = "Gitsecure-Seal",
    first_parent: bool = False,
) -> list[str]:
    """The commit ids to verify for ``revision``, newest first (git's topological order).

    ``head``: the commit the revision names (``anchor`` and seals are not
    consulted). ``strict``: see the module documentation; an empty list means
    the revision is the anchor itself. A revision naming an annotated tag
    walks from the tagged commit; the tag's own signature is the caller's to
    check (:func:`resolve` gives its id). ``is_trusted(oid)`` is called only for
    commits that carry the seal trailer and are reached by the walk, at most
    once each. Raises :class:`InputError` with reference ``anchor-not-ancestor``
    or ``shallow-history`` when the range cannot be bounded safely.
    """
    if not _TRAILER_KEY.fullmatch(seal_trailer):
        raise UsageError(f"seal trailer {seal_trailer!r} is not a trailer key", reference="invalid-seal-trailer")
    tip = resolve(repo, revision)[0]
    if mode == "head":
        return [tip]
    if mode != "strict":
        raise UsageError(f"unknown walk mode {mode!r}", reference="invalid-walk-mode")
    exclude: list[str] = []
    if anchor is not None:
        base = resolve(repo, anchor)[0]
        if run_git(repo, "merge-base", "--is-ancestor", base, tip, ok_codes=(0, 1)).returncode != 0:
            raise InputError(f"anchor {anchor} is not an ancestor of {revision}", reference="anchor-not-ancestor")
        exclude.append(f"^{base}")
    order, parents, sealed = _range(repo, tip, exclude, seal_trailer, first_parent=first_parent)
    if tip not in parents:
        return []  # the revision is the anchor: nothing new since it was verified
    reached, seals = _walk(tip, parents, sealed, is_trusted)
    behind_seals = _ancestors([p for seal in seals for p in parents[seal]], parents)
    listed = [oid for oid in order if oid in reached and oid not in behind_seals]
    shallow = _shallow_boundary(repo).intersection(listed).difference(seals)
    if shallow:
        raise InputError(
            f"history of {revision} is shallow at {min(shallow)} and no anchor or seal bounds it",
            reference="shallow-history",
            hint="fetch the full history, or record an anchor",
        )
    return listed


def _rev_parse(repo: Path, rev: str, peel: str) -> str:
    if not rev or rev.startswith("-") or any(c in rev for c in "\n\r\x00"):
        raise InputError(f"{rev!r} is not a revision", reference="unknown-revision")
    proc = run_git(repo, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{{peel}}}", ok_codes=(0, 128))
    if b"is ambiguous" in proc.stderr:
        raise InputError(f"revision {rev!r} is ambiguous", reference="ambiguous-revision", hint="use a full ref name")
    if proc.returncode != 0:
        raise InputError(f"unknown revision {rev!r}: {first_error_line(proc.stderr)}", reference="unknown-revision")
    return proc.stdout.strip().decode("ascii")


def _range(
    repo: Path, tip: str, exclude: list[str], trailer: str, *, first_parent: bool
) -> tuple[list[str], dict[str, tuple[str, ...]], set[str]]:
    # One rev-list: ids, parents and whether git's trailer parser sees the seal key. Only the key is printed
    # ("keyonly"), never a trailer value, so no commit message text can forge a line of this output.
    fmt = f"--format=%H %P%x09%(trailers:key={trailer},keyonly,separator=%x2C)"
    args = ["rev-list", "--topo-order", fmt, *(["--first-parent"] if first_parent else []), tip, *exclude, "--"]
    order: list[str] = []
    parents: dict[str, tuple[str, ...]] = {}
    sealed: set[str] = set()
    for line in run_git(repo, *args).stdout.decode("ascii", "strict").splitlines():
        if line.startswith("commit "):
            continue  # the header rev-list prints before each formatted record
        ids, _, keys = line.partition("\t")
        oid, *rest = ids.split()
        order.append(oid)
        parents[oid] = tuple(rest[:1] if first_parent else rest)
        if keys:
            sealed.add(oid)
    return order, parents, sealed


def _walk(
    tip: str, parents: dict[str, tuple[str, ...]], sealed: set[str], is_trusted: Callable[[str], bool]
) -> tuple[set[str], set[str]]:
    # Depth-first from the tip inside the range, not going past a trusted seal.
    reached, seals, stack = {tip}, set(), [tip]
    while stack:
        oid = stack.pop()
        if oid in sealed and is_trusted(oid):
            seals.add(oid)
            continue
        for parent in parents[oid]:
            if parent in parents and parent not in reached:
                reached.add(parent)
                stack.append(parent)
    return reached, seals


def _ancestors(starts: list[str], parents: dict[str, tuple[str, ...]]) -> set[str]:
    # Everything in the range reachable from ``starts``: what a seal vouches for, whichever path reaches it.
    seen = {oid for oid in starts if oid in parents}
    stack = list(seen)
    while stack:
        for parent in parents[stack.pop()]:
            if parent in parents and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _shallow_boundary(repo: Path) -> set[str]:
    path = run_git(repo, "rev-parse", "--git-path", "shallow").stdout.decode().strip()
    try:
        with open(os.path.join(repo, path), encoding="ascii") as handle:
            return {line.strip() for line in handle if line.strip()}
    except FileNotFoundError:
        return set()
