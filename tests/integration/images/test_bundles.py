"""Sigstore bundles as OCI 1.1 referrers, end to end: bundles made by a third-party signer (npm ``sigstore`` with
``@sigstore/mock`` Fulcio/Rekor/TSA on loopback) and managed-key bundles, pushed to a real docker-registry through
the referrers tag schema (docker-registry 2.8 has no referrers API), then :func:`verify_bundles` over real HTTP.
Each negative asserts its own rejection reason."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitsecure.crypto.cosign import CosignSigner
from gitsecure.crypto.sigstore_bundle import dsse_pae
from gitsecure.verify.images.authority import Authority, KeylessAuthority, SignatureCheck
from gitsecure.verify.images.bundles import verify_bundles
from gitsecure.verify.images.reference import ImageRef, parse_image_ref
from gitsecure.verify.images.registry import RegistryClient
from tests.support.registry import LocalRegistry

REGISTRY = Path("/usr/bin/docker-registry")
SIGNER = Path(__file__).parents[2] / "support" / "sigstore_js"
pytestmark = [
    pytest.mark.skipif(not REGISTRY.exists(), reason="Debian docker-registry is not installed"),
    pytest.mark.skipif(not (SIGNER / "node_modules").is_dir(), reason="run npm ci in tests/support/sigstore_js"),
]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = b"{}"
SUBJECT = "https://signer.example/ci@refs/heads/main"
ISSUER = "https://issuer.example"
SIGN = "https://sigstore.dev/cosign/sign/v1"
SLSA = "https://slsa.dev/provenance/v1"


@pytest.fixture
def registry(oci_registry: LocalRegistry) -> str:
    """The shared loopback docker-registry (tests/integration/images/conftest.py) as ``host:port``."""
    return oci_registry.host


@dataclass
class Signed:
    """One run of the third-party signer: its trusted root and the two bundles."""

    root: bytes
    message: bytes
    dsse: bytes


def _sign(out: Path, manifest: bytes, *extra: str) -> Signed:
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_bytes(manifest)
    node = shutil.which("node")
    assert node is not None
    subprocess.run(
        [node, str(SIGNER / "sign.js"), "--manifest", str(out / "manifest.json"), "--out", str(out), *extra],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Signed(
        root=(out / "trusted_root.json").read_bytes(),
        message=(out / "message.sigstore.json").read_bytes(),
        dsse=(out / "dsse.sigstore.json").read_bytes(),
    )


@dataclass
class World:
    host: str
    client: RegistryClient
    tmp: Path

    def push_image(self, repo: str) -> tuple[ImageRef, str, bytes]:
        """Push a small random OCI image; return its reference, digest and manifest bytes."""
        ref = parse_image_ref(f"{self.host}/{repo}:latest")
        config = self.client.put_blob(ref, json.dumps({"architecture": "amd64", "os": "linux"}).encode())
        layer = self.client.put_blob(ref, os.urandom(64))
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config.digest,
                    "size": config.size,
                },
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.digest, "size": layer.size}
                ],
            }
        ).encode()
        desc = self.client.put_manifest(ref, "latest", manifest, OCI_MANIFEST)
        return ref, desc.digest, manifest

    def attach(
        self, ref: ImageRef, digest: str, bundle: bytes, *, subject: str | None = None, artifact_type: str = BUNDLE_TYPE
    ) -> None:
        """Push ``bundle`` as a referrer of ``subject`` (default ``digest``), listed in ``digest``'s referrers tag."""
        empty = self.client.put_blob(ref, EMPTY)
        blob = self.client.put_blob(ref, bundle)
        referrer: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.digest, "size": 2},
            "layers": [{"mediaType": artifact_type, "digest": blob.digest, "size": blob.size}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject or digest, "size": 0},
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"},
        }
        raw = json.dumps(referrer).encode()
        desc = self.client.put_manifest(ref, "sha256:" + hashlib.sha256(raw).hexdigest(), raw, OCI_MANIFEST)
        tag = "sha256-" + digest.partition(":")[2]
        found = self.client.get_manifest_or_none(ref, tag)
        index = json.loads(found[0]) if found else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        index["manifests"].append(
            {"mediaType": OCI_MANIFEST, "digest": desc.digest, "size": desc.size, "artifactType": artifact_type}
        )
        self.client.put_manifest(ref, tag, json.dumps(index).encode(), OCI_INDEX)


@pytest.fixture
def world(registry: str, tmp_path: Path) -> World:
    return World(host=registry, client=RegistryClient(allow_http=True), tmp=tmp_path)


def _keyless(root: bytes, *, identity: str = SUBJECT, issuer: str = ISSUER) -> Authority:
    return Authority(
        name="ci",
        keyless=KeylessAuthority(
            identity=identity, identity_regexp=None, issuer=issuer, issuer_regexp=None, trusted_root_json=root
        ),
    )


def _verify(world: World, ref: ImageRef, digest: str, authority: Authority, **kw: Any) -> list[SignatureCheck]:
    return verify_bundles(world.client, ref, digest, [authority], require_tlog=True, trusted_root=None, **kw)


def _reasons(checks: list[SignatureCheck]) -> list[str]:
    return [c.reason for c in checks]


def _tamper(bundle: bytes, edit: Any) -> bytes:
    doc = json.loads(bundle)
    edit(doc)
    return json.dumps(doc).encode()


def test_third_party_bundles_verify(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)
    world.attach(ref, digest, signed.message)
    world.attach(ref, digest, signed.dsse)
    checks = _verify(world, ref, digest, _keyless(signed.root))
    assert [(c.ok, c.reason, c.source, c.tlog) for c in checks] == [(True, "ok", "bundle", True)] * 2
    assert checks[0].signer == f"{SUBJECT} ({ISSUER})"


def test_regexp_identity_and_issuer(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)
    world.attach(ref, digest, signed.dsse)
    authority = Authority(
        name="ci",
        keyless=KeylessAuthority(
            identity=None,
            identity_regexp=r"https://signer\.example/.*",
            issuer=None,
            issuer_regexp=r"https://issuer\.(example|test)",
            trusted_root_json=signed.root,
        ),
    )
    assert _reasons(_verify(world, ref, digest, authority)) == ["ok"]
    partial = Authority(
        name="ci",
        keyless=KeylessAuthority(
            identity=None,
            identity_regexp="https://signer",
            issuer=ISSUER,
            issuer_regexp=None,
            trusted_root_json=signed.root,
        ),
    )
    assert _reasons(_verify(world, ref, digest, partial)) == ["identity-mismatch"]  # full match, not search


def test_no_referrers_is_no_signature(world: World) -> None:
    ref, digest, _ = world.push_image("app")
    assert _reasons(_verify(world, ref, digest, _keyless(b"{}"))) == ["no-signature"]


def test_wrong_identity(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)
    world.attach(ref, digest, signed.dsse)
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root, identity="https://mallory.example"))) == [
        "identity-mismatch"
    ]


def test_wrong_issuer(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)
    world.attach(ref, digest, signed.message)
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root, issuer="https://other.example"))) == [
        "issuer-mismatch"
    ]


def test_bundle_for_another_image(world: World) -> None:
    ref, digest, _ = world.push_image("app")
    _, _, other_manifest = world.push_image("other")
    signed = _sign(world.tmp / "s", other_manifest)
    world.attach(ref, digest, signed.message)
    world.attach(ref, digest, signed.dsse)
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["digest-mismatch", "digest-mismatch"]


def test_referrer_of_another_image_listed_for_this_one(world: World) -> None:
    ref, digest, _ = world.push_image("app")
    _, other_digest, other_manifest = world.push_image("other")
    signed = _sign(world.tmp / "s", other_manifest)
    world.attach(ref, digest, signed.dsse, subject=other_digest)
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["subject-mismatch"]


def test_unknown_bundle_version(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)
    future = _tamper(signed.dsse, lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v0.9+json"))
    world.attach(ref, digest, future)
    world.attach(ref, digest, signed.dsse, artifact_type="application/vnd.dev.sigstore.bundle.v0.9+json")
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["unknown-bundle-media-type"] * 2


def test_unknown_entry_kind(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)

    def intoto(doc: dict[str, Any]) -> None:
        doc["verificationMaterial"]["tlogEntries"][0]["kindVersion"] = {"kind": "intoto", "version": "0.0.2"}

    world.attach(ref, digest, _tamper(signed.dsse, intoto))
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["unsupported-tlog-entry"]


def test_tampered_signature(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)

    def flip(doc: dict[str, Any]) -> None:
        sig = bytearray(base64.b64decode(doc["dsseEnvelope"]["signatures"][0]["sig"]))
        sig[-1] ^= 1
        doc["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()

    world.attach(ref, digest, _tamper(signed.dsse, flip))
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["bad-signature"]


def test_tampered_payload(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)

    def retarget(doc: dict[str, Any]) -> None:
        statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
        statement["predicate"] = {"tampered": True}
        doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    world.attach(ref, digest, _tamper(signed.dsse, retarget))
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["bad-signature"]


def test_predicate_type_selection(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest, "--predicate-type", SLSA)
    world.attach(ref, digest, signed.dsse)
    world.attach(ref, digest, signed.message)
    authority = _keyless(signed.root)
    assert _reasons(_verify(world, ref, digest, authority)) == ["predicate-type-mismatch", "ok"]
    as_attestation = _verify(world, ref, digest, authority, predicate_types=(SLSA,), attestation=True)
    assert [(c.reason, c.source) for c in as_attestation] == [
        ("ok", "attestation"),
        ("not-an-attestation", "attestation"),
    ]


def test_untrusted_root(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    signed = _sign(world.tmp / "s", manifest)
    stranger = _sign(world.tmp / "t", manifest)
    world.attach(ref, digest, signed.dsse)
    assert _reasons(_verify(world, ref, digest, _keyless(stranger.root))) == ["untrusted-certificate"]


def test_certificate_outside_validity_without_timestamp(world: World) -> None:
    ref, digest, manifest = world.push_image("app")
    # The CA's clock runs an hour behind: the ten-minute leaf expired before Rekor logged it, and no TSA vouches.
    signed = _sign(world.tmp / "s", manifest, "--ca-clock-offset-minutes", "-60", "--no-tsa")
    world.attach(ref, digest, signed.message)
    assert _reasons(_verify(world, ref, digest, _keyless(signed.root))) == ["certificate-not-valid-at-signing"]


def _key_bundle(signer: CosignSigner, digest: str, *, predicate: str = SIGN) -> bytes:
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "img", "digest": {"sha256": digest[7:]}}],
            "predicateType": predicate,
            "predicate": {},
        }
    ).encode()
    sig = signer.sign(dsse_pae("application/vnd.in-toto+json", statement))
    return json.dumps(
        {
            "mediaType": BUNDLE_TYPE,
            "verificationMaterial": {"publicKey": {"hint": signer.public_key.fingerprint}, "tlogEntries": []},
            "dsseEnvelope": {
                "payload": base64.b64encode(statement).decode(),
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
            },
        }
    ).encode()


def test_managed_key_bundle(world: World) -> None:
    ref, digest, _ = world.push_image("app")
    signer, stranger = CosignSigner.generate(), CosignSigner.generate()
    world.attach(ref, digest, _key_bundle(signer, digest))
    key = Authority(name="team", keys=(signer.public_key.pem(),))
    checks = verify_bundles(world.client, ref, digest, [key], require_tlog=False, trusted_root=None)
    assert [(c.ok, c.signer, c.tlog) for c in checks] == [(True, signer.public_key.fingerprint, False)]
    required = verify_bundles(world.client, ref, digest, [key], require_tlog=True, trusted_root=None)
    assert _reasons(required) == ["tlog-missing"]
    other = Authority(name="other", keys=(stranger.public_key.pem(),))
    assert _reasons(verify_bundles(world.client, ref, digest, [other], require_tlog=False, trusted_root=None)) == [
        "bad-signature"
    ]
