"""The signature gate: may this revision be applied? One verdict from the policy, the mode and the signatures.

:func:`verify_revision` is the whole decision for one revision; :class:`SignatureGate` keeps the
policy's trust material loaded for many (the HTTP server). The steps:

1. **Rule.** ``policy.rule_for(repo_name, branch)``. The repository name defaults to the
   ``origin`` remote's URL (normalised by the policy), else the repository's absolute path; the
   branch defaults to the branch the revision names (``main``, ``refs/heads/main``, or ``HEAD``
   when it points to a branch), else None (a tag or a commit id).
2. **Mode.** The ``mode`` argument (the CLI's ``--mode``) is *added* to the rule's mode: the objects
   both modes name are checked, so a caller can ask for more than the policy but never for less
   (``--mode head`` on a ``strict`` rule still checks the whole range). ``require_tag``
   (``verify tag``) makes the tag part of every mode.
3. **Objects.** ``head``: the commit the revision names. ``tag``: the annotated tag (a revision
   that is not one is rejected). ``tag-and-head``: both. ``strict``: every commit from the
   revision back to the anchor or the most recent trusted seal commit (see
   :mod:`gitsecure.verify.walk`), plus the tag when the revision is an annotated tag; the tip
   commit is always checked, even when it is the anchor. Every checked merge commit's
   ``mergetag`` (a merged signed tag) is checked too, as a ``tag``.
4. **Checks.** Each object must be signed by a signer of the rule, with a good signature, a key
   valid at the object's own time, and emails the signer may sign for
   (:mod:`gitsecure.verify.objects`).
5. **Threshold.** ``threshold``/``require`` count the distinct rule signers of the revision's own
   objects (its commit and its tag, as far as the mode checks them).

A ``state_file`` ratchets strict mode: its revision is the anchor when none is given, and a
trusted strict verification records the verified commit there (atomically).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from gitsecure.errors import InputError
from gitsecure.verify.cache import VerifyCache
from gitsecure.verify.gitobject import ObjectReader
from gitsecure.verify.gitrun import require_repository, run_git
from gitsecure.verify.objects import ObjectChecker
from gitsecure.verify.policy import MODES, Mode, Policy
from gitsecure.verify.signatures import TrustedSigners
from gitsecure.verify.state import read_anchor, write_anchor
from gitsecure.verify.verdict import CommitCheck, Verdict
from gitsecure.verify.walk import commits_to_verify, resolve

__all__ = ["SignatureGate", "default_branch", "default_repo_name", "verify_revision"]

NOT_A_TAG = "not an annotated tag"


class SignatureGate:
    """A policy with its trust material loaded (one GnuPG keyring, parsed allowed_signers), for many verdicts.

    Not meant for concurrent :meth:`verify` calls (the HTTP server serialises them).
    """

    def __init__(self, policy: Policy) -> None:
        """Load every signer's keys; :class:`GitsecureError` when the trust material is unusable."""
        self.policy = policy
        self._signers = TrustedSigners(policy)

    def __enter__(self) -> SignatureGate:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the throwaway GnuPG home and temporary files."""
        self._signers.close()

    def verify(
        self,
        repo: Path,
        revision: str,
        *,
        mode: Mode | None = None,
        repo_name: str | None = None,
        branch: str | None = None,
        anchor: str | None = None,
        first_parent: bool = False,
        cache: VerifyCache | None = None,
        require_tag: bool = False,
        state_file: Path | None = None,
    ) -> Verdict:
        """The verdict for ``revision`` in ``repo`` (see the module documentation for each argument)."""
        if mode is not None and mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}", reference="invalid-mode")
        require_repository(repo)
        commit, tag = resolve(repo, revision)
        name = repo_name if repo_name is not None else default_repo_name(repo)
        ref = _full_ref(repo, revision)
        if branch is None:
            branch = _branch_of(ref)
        rule = self.policy.rule_for(name, branch)
        modes = {rule.mode, mode or rule.mode}
        if require_tag:
            modes.add("tag")
        wants_range = "strict" in modes
        wants_tag = bool(modes & {"tag", "tag-and-head"})
        wants_head = bool(modes & {"head", "tag-and-head"})
        effective = _mode_label(wants_range=wants_range, wants_tag=wants_tag, wants_head=wants_head)
        if wants_range and anchor is None and state_file is not None:
            anchor = read_anchor(state_file)
        problems: list[str] = []
        checks: list[CommitCheck] = []
        own: list[CommitCheck] = []
        with ObjectReader(repo) as reader:
            checker = ObjectChecker(reader, self._signers, policy=self.policy, rule=rule, cache=cache)
            if wants_tag or (wants_range and tag is not None):
                if tag is None:
                    problems.append(f"{revision} is {NOT_A_TAG}")
                else:
                    tag_name = ref.removeprefix("refs/tags/") if ref and ref.startswith("refs/tags/") else None
                    own.append(checker.tag(tag, ref_name=tag_name))
                    checks.append(own[-1])
            commits: list[str] = []
            if wants_head and not wants_range:
                commits = [commit]
            elif wants_range:
                commits = commits_to_verify(
                    repo, commit, mode="strict", anchor=anchor, is_trusted=checker.trusted, first_parent=first_parent
                )
                if commit not in commits:
                    commits.insert(0, commit)  # the revision itself is anchor: its own signature still counts
            for oid in commits:
                checks.append(checker.commit(oid))
                checks.extend(checker.mergetags(oid))
            if commits:
                own.append(checker.commit(commit))
        if own:
            problems.extend(rule.quorum_problems(check.signer for check in own if check.ok and check.signer))
        verdict = Verdict.decide(
            revision=revision, mode=effective, policy_hash=self.policy.hash, checks=checks, problems=problems
        )
        if verdict.trusted and effective == "strict" and state_file is not None:
            write_anchor(state_file, commit)
        return verdict


def verify_revision(
    repo: Path,
    revision: str,
    *,
    policy: Policy,
    mode: Mode | None,
    repo_name: str | None,
    branch: str | None,
    anchor: str | None,
    first_parent: bool,
    cache: VerifyCache | None,
    require_tag: bool = False,
    state_file: Path | None = None,
) -> Verdict:
    """The verdict for one revision: :class:`SignatureGate` for a single call (its trust material freed after)."""
    with SignatureGate(policy) as gate:
        return gate.verify(
            repo,
            revision,
            mode=mode,
            repo_name=repo_name,
            branch=branch,
            anchor=anchor,
            first_parent=first_parent,
            cache=cache,
            require_tag=require_tag,
            state_file=state_file,
        )


def default_repo_name(repo: Path) -> str:
    """The ``origin`` remote's URL when there is one, else the repository's absolute path."""
    proc = run_git(repo, "remote", "get-url", "origin", ok_codes=(0, 2, 128))
    url = proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""
    return url if url and "\n" not in url else str(repo.resolve())


def default_branch(repo: Path, revision: str) -> str | None:
    """The local branch ``revision`` names (``HEAD`` counts as the branch it points to), else None."""
    return _branch_of(_full_ref(repo, revision))


def _branch_of(ref: str | None) -> str | None:
    return ref.removeprefix("refs/heads/") if ref is not None and ref.startswith("refs/heads/") else None


def _full_ref(repo: Path, revision: str) -> str | None:
    # The full ref name a revision spells (refs/heads/x, refs/tags/v1), or None for ids and expressions.
    if not revision or revision.startswith("-") or any(c in revision for c in "\n\r\x00"):
        return None
    proc = run_git(repo, "rev-parse", "--symbolic-full-name", revision, ok_codes=(0, 128))
    lines = [line for line in proc.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
    if proc.returncode != 0 or len(lines) != 1 or not lines[0].startswith("refs/"):
        return None
    return lines[0]


def _mode_label(*, wants_range: bool, wants_tag: bool, wants_head: bool) -> str:
    """The verdict's ``mode``: the mode name when one covers exactly what is checked, else ``strict+tag``."""
    if wants_range:
        return "strict+tag" if wants_tag else "strict"
    if wants_tag:
        return "tag-and-head" if wants_head else "tag"
    return "head"
