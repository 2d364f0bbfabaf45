"""Running git for the signature gate: what git shows us must be what the repository holds.

Verification reads objects and history with git plumbing, so anything that
lets a repository or an environment substitute objects is switched off:
replace refs (``refs/replace/*``, which a fetch can bring in), the deprecated
``info/grafts`` file, and every inherited ``GIT_*`` variable that points git at
another object store, index or namespace (a hook or a CI job may set them).
Output-shaping settings are pinned so the parsers see one format.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitsecure.errors import InputError, UsageError

# Settings that change what git prints or which objects it shows; forced for every call.
_CONFIG = (
    "core.quotePath=false",
    "color.ui=false",
    "log.showSignature=false",
    "core.pager=cat",
    "core.useReplaceRefs=false",
    "core.warnAmbiguousRefs=true",
    # The seal trailer is found by git's trailer parser; a repository-local separator set must not widen it.
    "trailer.separators=:",
    # GIT_GRAFT_FILE (below) makes git print a deprecation hint, which would hide the real error line.
    "advice.graftFileDeprecated=false",
)
# Inherited variables kept: they only choose which configuration files git reads (tests isolate with them).
_KEEP = ("GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM")


def git_env() -> dict[str, str]:
    """The environment for git: inherited ``GIT_*`` variables dropped, replacements and grafts off, no prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}
    env.pop("PAGER", None)
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    # An empty graft file: a repository's info/grafts would otherwise rewrite parents and hide commits.
    env["GIT_GRAFT_FILE"] = os.devnull
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    return env


def git_argv(repo: Path, *args: str) -> list[str]:
    """The argv running ``git args`` in ``repo`` with the pinned settings."""
    command = ["git", "-C", str(repo)]
    for setting in _CONFIG:
        command += ["-c", setting]
    return [*command, *args]


def run_git(repo: Path, *args: str, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[bytes]:
    """Run git to completion; raise :class:`InputError` (``git-failed``) when its exit code is not in ``ok_codes``."""
    try:
        proc = subprocess.run(git_argv(repo, *args), capture_output=True, env=git_env(), check=False)  # noqa: S603
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH", reference="git-missing") from None
    if proc.returncode not in ok_codes:
        raise InputError(f"git {args[0]} failed: {first_error_line(proc.stderr)}", reference="git-failed")
    return proc


def require_repository(repo: Path) -> Path:
    """``repo`` if it is a git repository (bare ones included), else a one-line :class:`UsageError`."""
    if not repo.is_dir():
        raise UsageError(f"{repo} is not a directory", reference="not-a-repository")
    if run_git(repo, "rev-parse", "--git-dir", ok_codes=(0, 128)).returncode != 0:
        raise UsageError(f"{repo} is not a git repository", reference="not-a-repository")
    return repo


def first_error_line(stderr: bytes) -> str:
    """The first non-blank line of git's stderr without its ``fatal:``/``error:`` prefix, for a one-line error."""
    lines = [
        line
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith("hint: ")
    ]
    if not lines:
        return "no error message"
    return lines[0].removeprefix("fatal: ").removeprefix("error: ").strip()
