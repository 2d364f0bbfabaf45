"""The image gate: may this image be deployed? One :class:`ImageVerdict` from the policy and the signatures.

For one image reference (:meth:`ImageGate.verify`):

1. **Rule.** The most specific ``images:`` rule for ``registry/repository`` (:mod:`rules`); none: denied.
2. **Pinning.** With ``require_digest`` (the gate's or the rule's) a reference without ``@sha256:`` is rejected
   before the registry is asked anything.
3. **Digest.** Tags are resolved once through the registry; everything after is bound to that digest, and the
   verdict reports the digest-pinned reference so a reconciler deploys exactly what was verified.
4. **Signatures.** Per authority of the rule: legacy ``.sig`` signatures (:mod:`cosign_legacy`) and Sigstore
   bundles stored as OCI referrers (:mod:`bundles`); an authority is satisfied by one valid signature.
5. **Decision.** Distinct satisfied authorities against ``threshold`` and ``require``; one signer that satisfies
   two authorities counts for neither (fail closed); every ``attestations`` predicate type must be attested by
   an authority of the rule. ``warn`` rules report a rejection without blocking.

Accepted results are cached by (image name, digest, tlog requirement) under the policy hash, in a
:class:`VerifyCache` of their own: facts about signatures already found never expire, but a rejection is never
cached, since a signature may be added later. A cached, digest-pinned reference needs no registry round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gitsecure.errors import GitsecureError
from gitsecure.verify.cache import VerifyCache
from gitsecure.verify.images.authority import SignatureCheck
from gitsecure.verify.images.reference import ImageRef, parse_image_ref
from gitsecure.verify.images.registry import RegistryClient
from gitsecure.verify.images.rules import ImageAuthority, ImageRule
from gitsecure.verify.images.verdict import AuthorityOutcome, ImageVerdict, check_from_dict, check_to_dict
from gitsecure.verify.policy import Policy

__all__ = ["ImageGate", "SignatureFinder", "SignatureTarget", "bundle_signatures", "legacy_signatures"]


@dataclass(frozen=True)
class SignatureTarget:
    """What signatures are looked up for: the image (its repository) at a resolved digest, over one client."""

    client: RegistryClient
    ref: ImageRef
    digest: str
    require_tlog: bool


SignatureFinder = Callable[[SignatureTarget, ImageAuthority], list[SignatureCheck]]
"""One way of finding and checking signatures of a target against one authority."""


def legacy_signatures(target: SignatureTarget, entry: ImageAuthority) -> list[SignatureCheck]:
    """Legacy cosign ``.sig`` signatures checked against one authority."""
    from gitsecure.verify.images.cosign_legacy import verify_legacy  # noqa: PLC0415

    return verify_legacy(
        target.client,
        target.ref,
        target.digest,
        [entry.authority],
        require_tlog=target.require_tlog,
        trusted_root=entry.trusted_root,
    )


def bundle_signatures(target: SignatureTarget, entry: ImageAuthority) -> list[SignatureCheck]:
    """Sigstore bundles stored as OCI referrers (cosign v3 signatures) checked against one authority."""
    from gitsecure.verify.images.bundles import verify_bundles  # noqa: PLC0415

    return verify_bundles(
        target.client,
        target.ref,
        target.digest,
        [entry.authority],
        require_tlog=target.require_tlog,
        trusted_root=entry.trusted_root,
    )


class ImageGate:
    """A policy, a registry client and an optional cache, for many image verdicts."""

    def __init__(
        self,
        policy: Policy,
        client: RegistryClient,
        *,
        cache: VerifyCache | None = None,
        require_digest: bool = False,
        require_tlog: bool = False,
        sources: Sequence[SignatureFinder] = (legacy_signatures, bundle_signatures),
    ) -> None:
        """``require_digest``/``require_tlog`` add to every rule (a caller can ask for more, never for less)."""
        self.policy = policy
        self.client = client
        self.cache = cache
        self.require_digest = require_digest
        self.require_tlog = require_tlog
        self.sources = tuple(sources)

    def verify(self, image: str) -> ImageVerdict:
        """The verdict for one reference. Raises only for a policy error (two rules tie); the rest is a reason."""
        try:
            ref = parse_image_ref(image)
        except GitsecureError as exc:
            return self._reject(image, None, f"invalid image reference: {exc.message}")
        name = f"{ref.registry}/{ref.repository}"
        rule = self.policy.image_rule_for(name)
        if rule is None:
            return self._reject(image, None, f"no image rule matches {name} (denied by default)")
        if (self.require_digest or rule.require_digest) and ref.digest is None:
            return self._reject(image, rule, "not pinned by digest (name@sha256:...), and the policy requires it")
        require_tlog = self.require_tlog or rule.require_tlog
        if ref.digest is not None:
            cached = self._cached(image, ref, ref.digest, rule, require_tlog)
            if cached is not None:
                return cached
        try:
            digest = self.client.resolve(ref).digest
        except GitsecureError as exc:
            return self._reject(image, rule, f"cannot resolve {ref}: {exc.message}")
        if ref.digest is None:
            cached = self._cached(image, ref, digest, rule, require_tlog)
            if cached is not None:
                return cached
        try:
            outcomes = tuple(self._authority(ref, digest, name, rule, require_tlog) for name in rule.authorities)
            attestations = self._attestations(ref, digest, rule, require_tlog)
        except GitsecureError as exc:
            return self._reject(image, rule, f"cannot verify {ref.with_digest(digest)}: {exc.message}", digest)
        verdict = self._decide(
            image=image, ref=ref, digest=digest, rule=rule, outcomes=outcomes, attestations=attestations
        )
        if verdict.accepted and self.cache is not None:
            self.cache.put(_cache_key(ref, digest, require_tlog), self.policy.hash, _facts(name, verdict))
        return verdict

    # ------------------------------------------------------------------------------------

    def _authority(
        self, ref: ImageRef, digest: str, name: str, rule: ImageRule, require_tlog: bool
    ) -> AuthorityOutcome:
        entry = self.policy.authorities[name]
        target = SignatureTarget(self.client, ref, digest, require_tlog)
        checks: list[SignatureCheck] = []
        for source in self.sources:
            checks.extend(source(target, entry))
        return AuthorityOutcome(name, any(check.ok for check in checks), tuple(checks))

    def _attestations(
        self, ref: ImageRef, digest: str, rule: ImageRule, require_tlog: bool
    ) -> tuple[SignatureCheck, ...]:
        """Per predicate type of the rule, the first valid attestation by one of its authorities (else why not)."""
        if not rule.attestations:
            return ()
        from gitsecure.verify.images.bundles import verify_bundles  # noqa: PLC0415

        checks: list[SignatureCheck] = []
        for predicate in rule.attestations:
            found: list[SignatureCheck] = []
            for name in rule.authorities:
                entry = self.policy.authorities[name]
                found.extend(
                    verify_bundles(
                        self.client,
                        ref,
                        digest,
                        [entry.authority],
                        require_tlog=require_tlog,
                        trusted_root=entry.trusted_root,
                        predicate_types=(predicate,),
                        attestation=True,
                    )
                )
                if any(check.ok for check in found):
                    break
            ok = [check for check in found if check.ok]
            checks.append(ok[0] if ok else _best_failure(found))
        return tuple(checks)

    def _decide(
        self,
        *,
        image: str,
        ref: ImageRef,
        digest: str,
        rule: ImageRule,
        outcomes: tuple[AuthorityOutcome, ...],
        attestations: tuple[SignatureCheck, ...],
        cached: bool = False,
    ) -> ImageVerdict:
        reasons: list[str] = []
        satisfied = {o.name for o in outcomes if o.satisfied}
        by_signer: dict[str, set[str]] = {}
        for outcome in outcomes:
            for check in outcome.checks:
                if check.ok and check.signer:
                    by_signer.setdefault(check.signer, set()).add(outcome.name)
        for signer, names in sorted(by_signer.items()):
            if len(names) > 1:
                satisfied -= names
                reasons.append(f"signer {signer} satisfies {', '.join(sorted(names))}: one signature counts once")
        quorum = rule.quorum_problems(satisfied)
        if quorum:  # an authority that did not sign matters only when it was needed; then say why it is missing
            reasons.extend(f"authority {o.name}: {o.why_not}" for o in outcomes if o.name not in satisfied)
            reasons.extend(quorum)
        for predicate, check in zip(rule.attestations, attestations, strict=True):
            if not check.ok:
                reasons.append(f"attestation {predicate}: {check.reason}")
        return ImageVerdict(
            image=image,
            accepted=not reasons,
            policy_hash=self.policy.hash,
            mode=rule.mode,
            rule=rule.name,
            digest=digest,
            reference=str(_pinned(ref, digest)),
            reasons=tuple(reasons),
            authorities=outcomes,
            attestations=attestations,
            cached=cached,
        )

    def _cached(
        self, image: str, ref: ImageRef, digest: str, rule: ImageRule, require_tlog: bool
    ) -> ImageVerdict | None:
        if self.cache is None:
            return None
        facts = self.cache.get(_cache_key(ref, digest, require_tlog), self.policy.hash)
        try:
            if (
                facts is None
                or facts.get("digest") != digest
                or facts.get("image") != f"{ref.registry}/{ref.repository}"
            ):
                return None
            outcomes = tuple(
                AuthorityOutcome(name, True, tuple(check_from_dict(c) for c in facts["authorities"][name]))
                for name in rule.authorities
                if name in facts["authorities"]
            )
            attestations = tuple(check_from_dict(c) for c in facts["attestations"])
            if not all(check.ok for outcome in outcomes for check in outcome.checks):
                return None
            verdict = self._decide(
                image=image,
                ref=ref,
                digest=digest,
                rule=rule,
                outcomes=outcomes,
                attestations=attestations,
                cached=True,
            )
        except (KeyError, TypeError, ValueError, AttributeError):  # a malformed entry is a miss, never a verdict
            return None
        return verdict if verdict.accepted else None

    def _reject(self, image: str, rule: ImageRule | None, reason: str, digest: str | None = None) -> ImageVerdict:
        mode = rule.mode if rule is not None else "enforce"
        return ImageVerdict(
            image, False, self.policy.hash, mode, rule.name if rule else None, digest, reasons=(reason,)
        )


def _pinned(ref: ImageRef, digest: str) -> ImageRef:
    return ImageRef(ref.registry, ref.repository, None, digest)


def _cache_key(ref: ImageRef, digest: str, require_tlog: bool) -> str:
    # Signatures live next to the image in its repository, so the same digest elsewhere is another object.
    key = f"{ref.registry}/{ref.repository}@{digest}|tlog={int(require_tlog)}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _facts(name: str, verdict: ImageVerdict) -> dict[str, Any]:
    # Per-object facts only: which authorities signed with which valid signatures; the rule decides again.
    return {
        "image": name,
        "digest": verdict.digest,
        "authorities": {
            outcome.name: [check_to_dict(c) for c in outcome.checks if c.ok]
            for outcome in verdict.authorities
            if outcome.satisfied
        },
        "attestations": [check_to_dict(c) for c in verdict.attestations],
    }


def _best_failure(found: list[SignatureCheck]) -> SignatureCheck:
    # A candidate that names a signer got further than "nothing there"; report that one.
    named = [check for check in found if check.signer]
    if named or found:
        return (named or found)[0]
    return SignatureCheck(ok=False, reason="no-attestation", signer="", source="attestation", tlog=False)
