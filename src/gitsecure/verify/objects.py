"""Checking one commit or tag: its signature, who made it, the emails it vouches for, and the rule's view.

Two layers, so that the cache never stores a rule's decision:

* **facts** (:meth:`ObjectChecker.facts`): signed or not, by which signer and key, and what
  is wrong with the signature or with the emails the signer may sign for. They depend only
  on the object and the policy, and are cached by (object id, policy hash);
* **the rule's view** (:meth:`ObjectChecker.commit`, :meth:`ObjectChecker.tag`): the facts
  plus "this signer is not one the rule trusts", added on every run.

Fail closed: an object git would read two ways is a problem on that object, as is any
unexpected exception while checking it (logged, never a pass). Errors about the repository
or the configuration (:class:`~gitsecure.errors.GitsecureError` other than a malformed
object) propagate and end the run.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from gitsecure.errors import GitsecureError, InputError
from gitsecure.verify.cache import VerifyCache
from gitsecure.verify.commitinfo import commit_info, tag_info
from gitsecure.verify.gitobject import GitObject, ObjectReader, mergetags, signed_payload
from gitsecure.verify.policy import Policy, Rule
from gitsecure.verify.signatures import TrustedSigners
from gitsecure.verify.verdict import CommitCheck, Kind

__all__ = ["ObjectChecker"]

log = logging.getLogger("gitsecure.verify")

UNSIGNED = "unsigned"


class ObjectChecker:
    """Checks objects read through one :class:`ObjectReader` against one rule; results memoised per run."""

    def __init__(
        self, reader: ObjectReader, signers: TrustedSigners, *, policy: Policy, rule: Rule, cache: VerifyCache | None
    ) -> None:
        self._reader = reader
        self._signers = signers
        self._policy = policy
        self._rule = rule
        self._cache = cache
        self._commits: dict[str, tuple[CommitCheck, list[CommitCheck]]] = {}

    def commit(self, oid: str) -> CommitCheck:
        """The rule's view of commit ``oid``."""
        return self._commit(oid)[0]

    def mergetags(self, oid: str) -> list[CommitCheck]:
        """The rule's view of the signed tags merged by commit ``oid`` (kind ``tag``); [] for other commits."""
        return self._commit(oid)[1]

    def trusted(self, oid: str) -> bool:
        """Whether commit ``oid`` is signed by one of the rule's signers with nothing wrong (seal commits)."""
        return self.commit(oid).ok

    def tag(self, oid: str, *, ref_name: str | None = None) -> CommitCheck:
        """The rule's view of annotated tag ``oid``; with ``ref_name``, the tag must carry that name.

        A signed tag object moved under another name (``v0.9-rc`` re-published as ``v1.0``) is
        the signed claim of another release, so a name mismatch is a problem.
        """
        obj = self._reader.read(oid)
        if obj.kind != "tag":
            return CommitCheck(oid, "tag", problems=(f"is a {obj.kind}, not an annotated tag",))
        check = self._rule_view(self.facts(obj, "tag"))
        if ref_name is not None:
            try:
                name = tag_info(obj).name
            except InputError:
                name = None  # already a problem of the facts
            if name is not None and name != ref_name:
                check = replace(check, problems=(*check.problems, f"tag object is named {name!r}, not {ref_name!r}"))
        return check

    def facts(self, obj: GitObject, kind: Kind) -> CommitCheck:
        """The policy-wide facts of one object (cached by object id and policy hash)."""
        cached = self._cached(obj.oid, kind)
        if cached is not None:
            return cached
        try:
            check, cacheable = self._compute(obj, kind)
        except GitsecureError as exc:
            if exc.reference == "malformed-git-object":
                check = CommitCheck(obj.oid, kind, problems=(f"malformed object: {exc.message}",))
            elif exc.reference == "bad-signature":  # the crypto core's opaque verdict on a malformed signature
                check = CommitCheck(obj.oid, kind, problems=("bad signature",))
            else:
                raise
            cacheable = True
        except Exception as exc:  # fail closed: a bug or a parser surprise rejects the object
            log.warning("checking %s %s failed: %s", kind, obj.oid, type(exc).__name__, exc_info=True)
            check, cacheable = CommitCheck(obj.oid, kind, problems=(f"check failed ({type(exc).__name__})",)), False
        if cacheable and self._cache is not None:
            self._cache.put(obj.oid, self._policy.hash, check.to_dict())
        return check

    # -----------------------------------------------------------------------------------------------

    def _commit(self, oid: str) -> tuple[CommitCheck, list[CommitCheck]]:
        known = self._commits.get(oid)
        if known is not None:
            return known
        obj = self._reader.read(oid)
        if obj.kind != "commit":
            result: tuple[CommitCheck, list[CommitCheck]] = (
                CommitCheck(oid, "commit", problems=(f"is a {obj.kind}, not a commit",)),
                [],
            )
        else:
            check = self._rule_view(self.facts(obj, "commit"))
            merged: list[CommitCheck] = []
            try:
                merged = [self._rule_view(self.facts(tag, "tag")) for tag in mergetags(obj)]
            except InputError as exc:
                if exc.reference != "malformed-git-object":
                    raise
                check = replace(check, problems=(*check.problems, f"malformed mergetag: {exc.message}"))
            result = (check, merged)
        self._commits[oid] = result
        return result

    def _compute(self, obj: GitObject, kind: Kind) -> tuple[CommitCheck, bool]:
        signed = signed_payload(obj)
        emails: list[tuple[str, str | None]]
        hint: str | None
        at: dt.datetime | None
        if kind == "commit":
            info = commit_info(obj)
            hint, at = info.committer_email, info.committer_time
            emails = [("author", info.author_email), ("committer", info.committer_email)]
        else:
            tag = tag_info(obj)
            hint, at = tag.tagger_email, tag.tagger_time
            emails = [("tagger", tag.tagger_email)]
        if signed is None:
            return CommitCheck(obj.oid, kind, problems=(UNSIGNED,)), True
        facts = self._signers.check(signed, principal_hint=hint, at=_aware(at))
        problems = [facts.problem] if facts.problem else []
        if facts.problem is None and facts.signer is not None:
            problems.extend(self._policy.signers[facts.signer].role_email_problems(emails))
        check = CommitCheck(obj.oid, kind, facts.signer, facts.key, facts.format, tuple(problems))
        return check, facts.cacheable

    def _rule_view(self, check: CommitCheck) -> CommitCheck:
        if check.signer is None or check.signer in self._rule.signers:
            return check
        extra = f"signer {check.signer} is not trusted by {self._rule.name}"
        return replace(check, problems=(*check.problems, extra))

    def _cached(self, oid: str, kind: Kind) -> CommitCheck | None:
        if self._cache is None:
            return None
        stored = self._cache.get(oid, self._policy.hash)
        if stored is None:
            return None
        try:
            check = CommitCheck.from_dict(stored)
        except (ValueError, TypeError, KeyError):
            return None
        # A result for another object or kind, or naming a signer this policy lacks, is not ours: recompute.
        if (
            check.oid != oid
            or check.kind != kind
            or (check.signer is not None and check.signer not in self._policy.signers)
        ):
            return None
        return check


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
