"""Upstream bundles outside the conformance suite: sigstore-python's test assets and cosign's OCI attestation,
verified offline with their own trusted roots; plus the in-toto Statement checks on crafted payloads."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from gitsecure.verify.images.attestations import SIGN_PREDICATE, StatementRejected, check_statement
from gitsecure.verify.images.authority import Authority, KeylessAuthority
from gitsecure.verify.images.bundle_format import BundleRejected, parse_bundle
from gitsecure.verify.images.bundle_verify import BundleOutcome, verify_bundle
from gitsecure.verify.images.legacy_signer import trusted_root

FIXTURES = Path(__file__).parents[3] / "fixtures" / "sigstore"
PY = FIXTURES / "sigstore_python"
STAGING = (PY / "staging_trusted_root.json").read_bytes()
PRODUCTION = (PY / "production_trusted_root.json").read_bytes()
GITHUB_OAUTH = "https://github.com/login/oauth"
ACTIONS = "https://token.actions.githubusercontent.com"
DIGEST = "sha256:" + "ab" * 32


def _verify(bundle_path: Path, artifact: bytes, root: bytes, identity: str, issuer: str) -> BundleOutcome:
    authority = Authority(
        name="x",
        keyless=KeylessAuthority(
            identity=identity, identity_regexp=None, issuer=issuer, issuer_regexp=None, trusted_root_json=root
        ),
    )
    return verify_bundle(
        parse_bundle(bundle_path.read_bytes()),
        [authority],
        digest=hashlib.sha256(artifact).digest(),
        artifact=artifact,
        require_tlog=True,
        tlog_root=trusted_root(root),
    )


@pytest.mark.parametrize(
    ("name", "root", "identity", "issuer"),
    [
        ("bundle.txt", STAGING, "a@tny.town", GITHUB_OAUTH),
        ("bundle_v3.txt", STAGING, "william@yossarian.net", GITHUB_OAUTH),
        ("staging-rekor-v2.txt", STAGING, "jku@goto.fi", GITHUB_OAUTH),
        (
            "bundle_v3_github.whl",
            PRODUCTION,
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
            ACTIONS,
        ),
    ],
)
def test_sigstore_python_bundles_verify(name: str, root: bytes, identity: str, issuer: str) -> None:
    bundle = next(p for p in PY.iterdir() if p.name.startswith(name + ".sigstore"))
    outcome = _verify(bundle, (PY / name).read_bytes(), root, identity, issuer)
    assert (outcome.ok, outcome.reason, outcome.signer) == (True, "ok", f"{identity} ({issuer})")


def test_sigstore_python_bundle_wrong_identity() -> None:
    outcome = _verify(PY / "bundle_v3.txt.sigstore", (PY / "bundle_v3.txt").read_bytes(), STAGING, "x@y", GITHUB_OAUTH)
    assert outcome.reason == "identity-mismatch"


def test_sigstore_python_bundle_other_instance_root() -> None:
    outcome = _verify(
        PY / "bundle_v3.txt.sigstore",
        (PY / "bundle_v3.txt").read_bytes(),
        PRODUCTION,
        "william@yossarian.net",
        GITHUB_OAUTH,
    )
    assert outcome.reason == "untrusted-certificate"


def test_cve_2022_36056_bundle_is_rejected() -> None:
    artifact = (PY / "bundle_cve_2022_36056.txt").read_bytes()
    outcome = _verify(
        PY / "bundle_cve_2022_36056.txt.sigstore", artifact, STAGING, "william@yossarian.net", GITHUB_OAUTH
    )
    assert outcome.reason == "tlog-entry-mismatch"


def test_invalid_version_and_missing_log_entry() -> None:
    with pytest.raises(BundleRejected) as exc:
        parse_bundle((PY / "bundle_invalid_version.txt.sigstore").read_bytes())
    assert exc.value.reference == "unknown-bundle-media-type"
    outcome = _verify(
        PY / "bundle_no_log_entry.txt.sigstore",
        (PY / "bundle_no_log_entry.txt").read_bytes(),
        STAGING,
        "alex.cameron@trailofbits.com",
        "https://accounts.google.com",
    )
    assert outcome.reason == "malformed-bundle"


def test_cosign_oci_attestation() -> None:
    root = (FIXTURES / "cosign" / "trusted_root_pgi.json").read_bytes()
    bundle = parse_bundle((FIXTURES / "cosign" / "oci-attestation.sigstore.json").read_bytes())
    image = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    authority = Authority(
        name="cody",
        keyless=KeylessAuthority(
            identity="cody@soyland.com",
            identity_regexp=None,
            issuer=GITHUB_OAUTH,
            issuer_regexp=None,
            trusted_root_json=root,
        ),
    )
    outcome = verify_bundle(
        bundle, [authority], digest=bytes.fromhex(image[7:]), require_tlog=True, tlog_root=trusted_root(root)
    )
    assert outcome.ok and outcome.payload is not None
    predicate = "https://cosign.sigstore.dev/attestation/v1"
    assert check_statement(bundle.payload_type, outcome.payload, image, {predicate}).predicate_type == predicate
    with pytest.raises(StatementRejected) as exc:
        check_statement(bundle.payload_type, outcome.payload, image, {SIGN_PREDICATE})
    assert exc.value.reference == "predicate-type-mismatch"
    with pytest.raises(StatementRejected) as exc:
        check_statement(bundle.payload_type, outcome.payload, DIGEST, {predicate})
    assert exc.value.reference == "digest-mismatch"


def _statement(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "img", "digest": {"sha256": DIGEST[7:]}, "annotations": {"team": "a"}}],
        "predicateType": SIGN_PREDICATE,
        "predicate": {},
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_statement_accepted_with_annotations() -> None:
    statement = check_statement("application/vnd.in-toto+json", _statement(), DIGEST, {SIGN_PREDICATE})
    assert statement.annotations == {"team": "a"}


@pytest.mark.parametrize(
    ("payload_type", "payload", "reason"),
    [
        ("application/json", _statement(), "unknown-payload-type"),
        ("application/vnd.in-toto+json", _statement(_type="https://in-toto.io/Statement/v9"), "unknown-statement-type"),
        ("application/vnd.in-toto+json", _statement(subject=[]), "malformed-statement"),
        ("application/vnd.in-toto+json", _statement(subject=[{"digest": {"sha512": "00"}}]), "digest-mismatch"),
        ("application/vnd.in-toto+json", _statement(predicateType=7), "malformed-statement"),
        ("application/vnd.in-toto+json", b"[]", "malformed-statement"),
        (
            "application/vnd.in-toto+json",
            b'{"_type":"https://in-toto.io/Statement/v1","subject":[],"subject":[{"digest":{"sha256":"'
            + DIGEST[7:].encode()
            + b'"}}],"predicateType":"'
            + SIGN_PREDICATE.encode()
            + b'"}',
            "malformed-statement",
        ),
    ],
)
def test_statement_rejections(payload_type: str, payload: bytes, reason: str) -> None:
    with pytest.raises(StatementRejected) as exc:
        check_statement(payload_type, payload, DIGEST, {SIGN_PREDICATE})
    assert exc.value.reference == reason


def test_empty_predicate_selection_is_refused() -> None:
    with pytest.raises(StatementRejected) as exc:
        check_statement("application/vnd.in-toto+json", _statement(), DIGEST, set())
    assert exc.value.reference == "no-predicate-type"


def test_bundle_prechecks() -> None:
    good = json.loads((FIXTURES / "cosign" / "oci-attestation.sigstore.json").read_bytes())
    two = dict(good, messageSignature={"messageDigest": {"algorithm": "SHA2_256", "digest": ""}, "signature": ""})
    for doc, reason in [
        (two, "malformed-bundle"),
        (dict(good, mediaType="application/vnd.dev.sigstore.bundle+json;version=0.4"), "unknown-bundle-media-type"),
        (
            dict(good, dsseEnvelope=dict(good["dsseEnvelope"], signatures=good["dsseEnvelope"]["signatures"] * 2)),
            "malformed-bundle",
        ),
    ]:
        with pytest.raises(BundleRejected) as exc:
            parse_bundle(json.dumps(doc).encode())
        assert exc.value.reference == reason
    entry = good["verificationMaterial"]["tlogEntries"][0]
    odd = json.loads(json.dumps(good))
    odd["verificationMaterial"]["tlogEntries"][0] = dict(entry, kindVersion={"kind": "rekord", "version": "0.0.1"})
    with pytest.raises(BundleRejected) as exc:
        parse_bundle(json.dumps(odd).encode())
    assert exc.value.reference == "unsupported-tlog-entry"
    assert base64.b64decode(good["dsseEnvelope"]["payload"])  # the fixture itself is intact
