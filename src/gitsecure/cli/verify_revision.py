"""The commit half of ``verify commit``/``verify tag`` and ``verify revision``: one call, one cache.

Both commands verify a revision's signatures with the same flags (mode, repository URL, branch, anchor,
first parent, state file) and the same result cache; this module is that shared step, imported lazily so the
CLI's start-up path stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitsecure.verify.cache import VerifyCache
    from gitsecure.verify.policy import Policy
    from gitsecure.verify.verdict import Verdict


def open_cache(args: argparse.Namespace) -> VerifyCache | None:
    """The result cache the flags ask for (None with --no-cache)."""
    if args.no_cache:
        return None
    from gitsecure.verify.cache import VerifyCache  # noqa: PLC0415

    return VerifyCache(Path(args.cache_dir) if args.cache_dir else None)


def commit_verdict(args: argparse.Namespace, repo: Path, policy: Policy, *, require_tag: bool = False) -> Verdict:
    """Verify ``args.revision``'s signatures under ``policy``; the cache is saved whatever happens."""
    from gitsecure.verify.engine import verify_revision  # noqa: PLC0415

    cache = open_cache(args)
    try:
        return verify_revision(
            repo,
            args.revision,
            policy=policy,
            mode=args.mode,
            repo_name=args.repo_url,
            branch=args.branch,
            anchor=args.anchor,
            first_parent=args.first_parent,
            cache=cache,
            require_tag=require_tag,
            state_file=Path(args.state_file) if args.state_file else None,
        )
    finally:
        if cache is not None:
            cache.save()
