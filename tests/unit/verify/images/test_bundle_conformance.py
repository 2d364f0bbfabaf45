"""sigstore-conformance ``bundle-verify`` cases run through gitsecure's bundle verifier, offline.

Each case directory holds a bundle and optionally the artifact, identity, issuer, a managed key and a trusted root
(defaults per the suite's README). Cases ending in ``_fail`` must be rejected, the others accepted, except the
ones listed in ``KNOWN_DIFFERENCES`` with the reason we knowingly differ. A DSSE case is accepted only when its
in-toto Statement names the artifact's digest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gitsecure.verify.images.attestations import StatementRejected, check_statement
from gitsecure.verify.images.authority import Authority, KeylessAuthority, public_good_trusted_root
from gitsecure.verify.images.bundle_format import BundleRejected, parse_bundle
from gitsecure.verify.images.bundle_verify import verify_bundle
from gitsecure.verify.images.legacy_signer import trusted_root

CASES = Path(__file__).parents[3] / "fixtures" / "sigstore" / "conformance"
DEFAULT_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"

# case -> (our outcome, why it differs from the suite's expectation)
KNOWN_DIFFERENCES = {
    "intoto-with-custom-trust-root": (
        "unsupported-tlog-entry",
        "intoto/0.0.2 log entries are refused: sigstore-python cannot bind them to the bundle (its #1384)",
    ),
}
# The reason each _fail case is rejected for. Where it is not the case's intended one the README says why
# (an earlier check fails first).
EXPECTED_REJECTIONS = {
    "bundle-empty-certificate-chain_fail": "malformed-bundle",
    "bundle-from-wrong-instance_fail": "untrusted-certificate",
    "bundle-invalid-base64-signature_fail": "malformed-bundle",
    "bundle-malformed-json_fail": "malformed-bundle",
    "bundle-unknown-version_fail": "unknown-bundle-media-type",
    "bundle-with-root-cert_fail": "malformed-tlog-entry",
    "checkpoint-wrong-roothash_fail": "bad-tlog-entry",
    "dsse-invalid-sig_fail": "bad-signature",
    "dsse-mismatch-envelope_fail": "tlog-entry-mismatch",
    "dsse-mismatch-sig_fail": "tlog-entry-mismatch",
    "inclusion-proof-corrupted-hash_fail": "bad-tlog-entry",
    "incorrect-public-key_fail": "bad-tlog-entry",
    "integrated-time-in-future_fail": "certificate-not-valid-at-signing",
    "intoto-expired-certificate_fail": "unsupported-tlog-entry",
    "invalid-checkpoint-signature_fail": "bad-tlog-entry",
    "invalid-ct-key_fail": "bad-sct",
    "invalid-inclusion-proof_fail": "malformed-tlog-entry",
    "managed-key-no-key_fail": "no-matching-authority",
    "managed-key-wrong-key_fail": "invalid-public-key",
    "message-digest-mismatch_fail": "digest-mismatch",
    "rekor2-dsse-invalid-sig_fail": "bad-signature",
    "rekor2-no-timestamp_fail": "malformed-bundle",
    "set-invalid-signature_fail": "bad-tlog-entry",
    "signature-mismatch_fail": "bad-signature",
    "trust-root-tlog-missing-validity-start_fail": "invalid-trusted-root",
    "wrong-hashedrekord-artifact_fail": "tlog-entry-mismatch",
    "wrong-hashedrekord-cert-and-sig_fail": "tlog-entry-mismatch",
    "wrong-hashedrekord-entry_fail": "tlog-entry-mismatch",
    "wrong-material_fail": "digest-mismatch",
}


def _cases() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _run(case: Path) -> str:
    """Our verdict on one case: "ok" or the rejection reason."""
    artifact = (case / "artifact") if (case / "artifact").exists() else CASES / "a.txt"
    data = artifact.read_bytes()
    root = (case / "trusted_root.json").read_bytes() if (case / "trusted_root.json").exists() else None
    root = root if root is not None else bytes(public_good_trusted_root())
    if (case / "key.pub").exists():
        authority = Authority(name="key", keys=((case / "key.pub").read_bytes(),))
    else:
        identity = (case / "identity").read_text().strip() if (case / "identity").exists() else DEFAULT_IDENTITY
        issuer = (case / "issuer").read_text().strip() if (case / "issuer").exists() else DEFAULT_ISSUER
        keyless = KeylessAuthority(
            identity=identity, identity_regexp=None, issuer=issuer, issuer_regexp=None, trusted_root_json=root
        )
        authority = Authority(name="keyless", keyless=keyless)
    try:
        bundle = parse_bundle((case / "bundle.sigstore.json").read_bytes())
        tlog_root = trusted_root(root)
    except BundleRejected as exc:
        return exc.reference
    except Exception as exc:  # an unusable trusted root rejects the case too
        return getattr(exc, "reference", type(exc).__name__)
    digest = hashlib.sha256(data).digest()
    try:
        outcome = verify_bundle(
            bundle, [authority], digest=digest, artifact=data, require_tlog=True, tlog_root=tlog_root
        )
    except Exception as exc:
        return getattr(exc, "reference", type(exc).__name__)
    if not outcome.ok or bundle.content == "message-signature":
        return outcome.reason
    assert outcome.payload is not None
    predicate = json.loads(outcome.payload).get("predicateType", "")
    try:
        check_statement(bundle.payload_type, outcome.payload, "sha256:" + digest.hex(), {predicate})
    except StatementRejected as exc:
        return exc.reference
    return "ok"


@pytest.mark.parametrize("name", _cases())
def test_conformance_case(name: str) -> None:
    verdict = _run(CASES / name)
    if name in KNOWN_DIFFERENCES:
        assert verdict == KNOWN_DIFFERENCES[name][0]
    elif name.endswith("_fail"):
        assert verdict == EXPECTED_REJECTIONS[name]
    else:
        assert verdict == "ok"


def test_selection_has_both_outcomes() -> None:
    names = _cases()
    assert sum(n.endswith("_fail") for n in names) >= 25
    assert sum(not n.endswith("_fail") for n in names) >= 10
