"""``gitsecure hooks install``: the plain git hooks, for teams without the pre-commit framework.

The hooks go where git looks for them (``git rev-parse --git-path hooks``),
which honours ``core.hooksPath`` and linked worktrees. A hook gitsecure did not
write is never replaced without ``--force``; with it, the old hook is kept
next to the new one as ``<name>.gitsecure-backup``. The scripts are the ones
in the repository's ``hooks/`` directory (a test keeps both copies equal).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gitsecure.cli.options import ArgumentParser
from gitsecure.errors import EXIT_OK, UsageError
from gitsecure.fileio import atomic_write
from gitsecure.scan.sources.gitrepo import run_git

#: A line every hook gitsecure writes carries: reinstalling over such a hook needs no --force.
MARKER = "# gitsecure-hook:"

_FIND = """if [ -z "${GITSECURE:-}" ]; then
    if command -v gitsecure >/dev/null 2>&1; then
        GITSECURE=gitsecure
    else
        echo "gitsecure %(hook)s hook: 'gitsecure' is not on PATH; install it or set GITSECURE" >&2
        echo "(to skip the check once: git %(verb)s --no-verify)" >&2
        exit 1
    fi
fi
"""

PRE_COMMIT = (
    f"""#!/bin/sh
{MARKER} pre-commit (installed by 'gitsecure hooks install')
# Blocks a commit whose staged changes add a secret. Skip once: git commit --no-verify.
# GITSECURE may name the command to run (e.g. "python3 -m gitsecure").
"""
    + _FIND % {"hook": "pre-commit", "verb": "commit"}
    + """# shellcheck disable=SC2086 # GITSECURE may hold a command with arguments
exec $GITSECURE scan --staged
"""
)

PRE_PUSH = (
    f"""#!/bin/sh
{MARKER} pre-push (installed by 'gitsecure hooks install')
# Blocks a push whose new commits add a secret. Skip once: git push --no-verify.
# git passes "<local ref> <local id> <remote ref> <remote id>" lines on stdin.
"""
    + _FIND % {"hook": "pre-push", "verb": "push"}
    + """zero=$(git hash-object --stdin </dev/null | tr '0-9a-f' '0')
status=0
# shellcheck disable=SC2034 # the refs are read to reach the ids
while read -r local_ref local_id remote_ref remote_id; do
    [ "$local_id" = "$zero" ] && continue  # deleting a ref pushes nothing
    if [ "$remote_id" = "$zero" ]; then
        # A new branch: scan the commits no remote has yet.
        first=$(git rev-list --reverse "$local_id" --not --remotes | head -n 1)
        [ -z "$first" ] && continue
        # "..id" (no start) when the branch begins at a root commit: all of its history.
        base=$(git rev-parse --quiet --verify "$first^" || true)
        range="$base..$local_id"
    else
        range="$remote_id..$local_id"
    fi
    # shellcheck disable=SC2086 # GITSECURE may hold a command with arguments
    $GITSECURE scan --history --since "$range" </dev/null || status=$?
done
exit $status
"""
)

SCRIPTS = {"pre-commit": PRE_COMMIT, "pre-push": PRE_PUSH}

DESCRIPTION = """Install gitsecure's git hooks in the current repository.

  pre-commit  blocks a commit whose staged changes add a secret ('gitsecure scan --staged')
  pre-push    blocks a push whose new commits add a secret ('gitsecure scan --history --since')

Hooks go where git runs them (core.hooksPath and worktrees are honoured). An
existing hook that gitsecure did not write is kept unless --force is given;
then it is saved as <hook>.gitsecure-backup. Teams using the pre-commit
framework add the 'gitsecure' hook to .pre-commit-config.yaml instead.

exit codes: 0 installed, 2 not in a git repository or a foreign hook is in the way."""


def build_parser() -> argparse.ArgumentParser:
    """The ``hooks`` command and its ``install`` action."""
    p = ArgumentParser(
        prog="gitsecure hooks", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=ArgumentParser)
    install = sub.add_parser("install", help="install the pre-commit (and optionally pre-push) hook")
    install.add_argument(
        "--hook",
        action="append",
        choices=sorted(SCRIPTS),
        help="hook to install; repeat for several (default: pre-commit)",
    )
    install.add_argument("--force", action="store_true", help="replace a hook gitsecure did not write (kept as backup)")
    return p


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point from the command table."""
    args = build_parser().parse_args(argv)
    if args.action != "install":
        raise UsageError("choose an action: install", hint="see 'gitsecure hooks --help'")
    directory = hooks_directory(Path.cwd())
    for name in dict.fromkeys(args.hook or ["pre-commit"]):
        target = install_hook(directory, name, force=args.force)
        if verbosity >= 0:
            print(f"installed {name} hook: {target}")
    return EXIT_OK


def hooks_directory(cwd: Path) -> Path:
    """Where git runs hooks for the repository at ``cwd``; :class:`UsageError` outside a repository."""
    proc = run_git(cwd, "rev-parse", "--git-path", "hooks", check=False)
    if proc.returncode != 0:
        raise UsageError(f"{cwd} is not inside a git repository", hint="run 'gitsecure hooks install' in a repository")
    return cwd / os.fsdecode(proc.stdout.rstrip(b"\n"))


def install_hook(directory: Path, name: str, *, force: bool) -> Path:
    """Write hook ``name`` into ``directory`` (mode 0755) and return its path."""
    target = directory / name
    try:
        existing = target.read_bytes()
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise UsageError(f"cannot read the existing hook {target}: {exc.strerror}") from None
    if existing is not None and MARKER.encode() not in existing:
        if not force:
            raise UsageError(
                f"{target} exists and was not written by gitsecure",
                hint="rerun with --force to replace it (the old hook is kept as a backup)",
                reference="foreign-hook",
            )
        atomic_write(target.with_name(f"{name}.gitsecure-backup"), existing, mode=0o755)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(target, SCRIPTS[name].encode(), mode=0o755)
    return target
