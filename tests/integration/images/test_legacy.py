"""Legacy cosign ``.sig`` signatures end to end: ``gitsecure sign image`` against a real docker-registry on loopback,
then :func:`verify_legacy` over real HTTP. Each negative asserts its own rejection reason."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gitsecure.cli.main import main
from gitsecure.crypto.cosign_keys import generate_key_pair
from gitsecure.verify.images.authority import Authority, KeylessAuthority, SignatureCheck, TrustedRootBytes
from gitsecure.verify.images.cosign_legacy import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    signature_tag,
    verify_legacy,
)
from gitsecure.verify.images.reference import ImageRef, parse_image_ref
from gitsecure.verify.images.registry import RegistryClient
from gitsecure.verify.images.simplesigning import MEDIA_TYPE, build_payload
from tests.support.cosign_pki import NOW, MiniSigstore
from tests.support.registry import LocalRegistry

REGISTRY = Path("/usr/bin/docker-registry")
pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="Debian docker-registry is not installed")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ISSUER = "https://issuer.example"


@dataclass
class World:
    host: str
    storage: Path
    client: RegistryClient
    key_path: Path
    pub: bytes

    def push_image(self, repo: str, tag: str) -> tuple[ImageRef, str]:
        """Push a small random OCI image; return its tag reference and digest."""
        ref = parse_image_ref(f"{self.host}/{repo}:{tag}")
        layer = os.urandom(64)
        config = json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        self.client.put_blob(ref, layer)
        self.client.put_blob(ref, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": _sha(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer), "digest": _sha(layer)}
            ],
        }
        descriptor = self.client.put_manifest(ref, tag, json.dumps(manifest).encode(), OCI_MANIFEST)
        return ref, descriptor.digest

    def sign_cli(self, ref: ImageRef | str, *extra: str, key: Path | None = None) -> int:
        return main(["sign", "image", str(ref), "--key", str(key or self.key_path), "--allow-http-registry", *extra])

    def push_signatures(self, ref: ImageRef, digest: str, layers: list[tuple[bytes, dict[str, str], str]]) -> None:
        """Write a .sig manifest by hand: (payload, annotations, layer media type) per layer."""
        descriptors = []
        for payload, layer_annotations, media_type in layers:
            self.client.put_blob(ref, payload)
            descriptors.append(
                {
                    "mediaType": media_type,
                    "size": len(payload),
                    "digest": _sha(payload),
                    "annotations": layer_annotations,
                }
            )
        config = b"{}"
        self.client.put_blob(ref, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": _sha(config)},
            "layers": descriptors,
        }
        self.client.put_manifest(ref, signature_tag(digest), json.dumps(manifest).encode(), OCI_MANIFEST)

    def sig_manifest(self, ref: ImageRef, digest: str) -> dict[str, object]:
        raw, _ = self.client.get_manifest(ref, signature_tag(digest))
        doc: dict[str, object] = json.loads(raw)
        return doc


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def world(oci_registry: LocalRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("COSIGN_PASSWORD", "correct horse")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    private_pem, public_pem = generate_key_pair(b"correct horse")
    key_path = tmp_path / "cosign.key"
    key_path.write_bytes(private_pem)
    client = RegistryClient(allow_http=True)
    return World(oci_registry.host, oci_registry.storage, client, key_path, public_pem)


def _verify(
    world: World,
    ref: ImageRef,
    digest: str,
    *authorities: Authority,
    require_tlog: bool = False,
    trusted_root: bytes | None = None,
) -> list[SignatureCheck]:
    root = TrustedRootBytes(trusted_root) if trusted_root is not None else None
    return verify_legacy(world.client, ref, digest, list(authorities), require_tlog=require_tlog, trusted_root=root)


def _only(checks: list[SignatureCheck]) -> SignatureCheck:
    assert len(checks) == 1, checks
    return checks[0]


def _key_sig(key: ec.EllipticCurvePrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- key-based, signed with `gitsecure sign image` ---------------------------------------------------------------


def test_sign_then_verify(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    assert world.sign_cli(ref, "-a", "build=42", "-a", "team=core") == 0
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert check.ok and check.reason == "ok" and check.source == "legacy" and not check.tlog
    assert check.signer.startswith("sha256:")
    assert dict(check.annotations) == {"build": "42", "team": "core"}
    layer = world.sig_manifest(ref, digest)["layers"][0]  # type: ignore[index]
    payload = world.client.get_blob(ref, layer["digest"])
    # Byte layout as cosign writes it (docker-reference is the repository, no tag).
    assert payload == build_payload(f"{world.host}/app", digest, {"build": "42", "team": "core"})
    assert layer["mediaType"] == MEDIA_TYPE and set(layer["annotations"]) == {SIGNATURE_ANNOTATION}


def test_two_signers_share_one_manifest(world: World, tmp_path: Path) -> None:
    ref, digest = world.push_image("app", "v1")
    second_private, second_pub = generate_key_pair(b"correct horse")
    second = tmp_path / "second.key"
    second.write_bytes(second_private)
    assert world.sign_cli(ref) == 0
    assert world.sign_cli(ref, key=second) == 0
    assert world.sign_cli(ref) == 0  # ECDSA signatures are randomized: a third, distinct layer
    checks = _verify(world, ref, digest, Authority("a", keys=(world.pub,)), Authority("b", keys=(second_pub,)))
    assert len(checks) == 3 and all(c.ok for c in checks)
    only_second = _verify(world, ref, digest, Authority("b", keys=(second_pub,)))
    assert [c.reason for c in only_second] == ["bad-signature", "ok", "bad-signature"]


def test_wrong_key(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    assert world.sign_cli(ref) == 0
    _, other_pub = generate_key_pair(b"x")
    check = _only(_verify(world, ref, digest, Authority("other", keys=(other_pub,))))
    assert (check.ok, check.reason) == (False, "bad-signature")


def test_no_signature(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "no-signature")


def test_tag_moved_after_signing(world: World) -> None:
    ref, signed_digest = world.push_image("app", "v1")
    assert world.sign_cli(ref) == 0
    _, moved_digest = world.push_image("app", "v1")  # the tag now names another image
    assert world.client.resolve(ref).digest == moved_digest != signed_digest
    check = _only(_verify(world, ref, moved_digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "no-signature")
    assert _only(_verify(world, ref, signed_digest, Authority("ci", keys=(world.pub,)))).ok


def test_signature_of_another_image_copied_to_this_one(world: World) -> None:
    ref_a, digest_a = world.push_image("app", "a")
    ref_b, digest_b = world.push_image("app", "b")
    assert world.sign_cli(ref_a) == 0
    raw, _ = world.client.get_manifest(ref_a, signature_tag(digest_a))
    world.client.put_manifest(ref_b, signature_tag(digest_b), raw, OCI_MANIFEST)
    check = _only(_verify(world, ref_b, digest_b, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "digest-mismatch")


def test_payload_naming_another_digest(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    key = ec.generate_private_key(ec.SECP256R1())
    payload = build_payload(f"{world.host}/app", "sha256:" + "ab" * 32)
    world.push_signatures(ref, digest, [(payload, {SIGNATURE_ANNOTATION: _key_sig(key, payload)}, MEDIA_TYPE)])
    check = _only(_verify(world, ref, digest, Authority("k", keys=(_pem(key),))))
    assert (check.ok, check.reason) == (False, "digest-mismatch")


def test_wrong_payload_type(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    key = ec.generate_private_key(ec.SECP256R1())
    payload = build_payload(f"{world.host}/app", digest).replace(
        b"cosign container image signature", b"atomic container signature"
    )
    world.push_signatures(ref, digest, [(payload, {SIGNATURE_ANNOTATION: _key_sig(key, payload)}, MEDIA_TYPE)])
    check = _only(_verify(world, ref, digest, Authority("k", keys=(_pem(key),))))
    assert (check.ok, check.reason) == (False, "wrong-payload-type")


def test_wrong_layer_media_type(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    key = ec.generate_private_key(ec.SECP256R1())
    payload = build_payload(f"{world.host}/app", digest)
    world.push_signatures(ref, digest, [(payload, {SIGNATURE_ANNOTATION: _key_sig(key, payload)}, "application/json")])
    check = _only(_verify(world, ref, digest, Authority("k", keys=(_pem(key),))))
    assert (check.ok, check.reason) == (False, "unknown-media-type")


def test_tampered_signature(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    assert world.sign_cli(ref) == 0
    manifest = world.sig_manifest(ref, digest)
    layer = manifest["layers"][0]  # type: ignore[index]
    sig = bytearray(base64.b64decode(layer["annotations"][SIGNATURE_ANNOTATION]))
    sig[-3] ^= 0x01
    layer["annotations"][SIGNATURE_ANNOTATION] = base64.b64encode(bytes(sig)).decode()
    world.client.put_manifest(ref, signature_tag(digest), json.dumps(manifest).encode(), OCI_MANIFEST)
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "bad-signature")
    layer["annotations"][SIGNATURE_ANNOTATION] = "not base64!"
    world.client.put_manifest(ref, signature_tag(digest), json.dumps(manifest).encode(), OCI_MANIFEST)
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "malformed-signature")


def test_tampered_blob(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    assert world.sign_cli(ref) == 0
    layer_digest = world.sig_manifest(ref, digest)["layers"][0]["digest"]  # type: ignore[index]
    hexpart = layer_digest.split(":")[1]
    data = world.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"
    raw = bytearray(data.read_bytes())
    raw[-2:-1] = b"X"  # same size, other bytes: served as is by the filesystem driver
    data.write_bytes(bytes(raw))
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "blob-digest-mismatch")


def test_index_at_the_signature_tag_is_rejected(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    _, image = world.client.get_manifest(ref, digest)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.size}],
    }
    index_type = "application/vnd.oci.image.index.v1+json"
    world.client.put_manifest(ref, signature_tag(digest), json.dumps(index).encode(), index_type)
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "malformed-signature-manifest")


def test_sign_refuses_without_password(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ref, digest = world.push_image("app", "v1")
    monkeypatch.delenv("COSIGN_PASSWORD")
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115
    assert world.sign_cli(ref) == 2
    monkeypatch.setenv("COSIGN_PASSWORD", "wrong")
    assert world.sign_cli(ref) == 2
    assert _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,)))).reason == "no-signature"


# --- transparency log: key-based with a Rekor bundle of our own Rekor --------------------------------------------


def _key_signed_with_bundle(world: World, sigstore: MiniSigstore, **bundle_args: object) -> tuple[ImageRef, str, bytes]:
    ref, digest = world.push_image("app", "v1")
    key = ec.generate_private_key(ec.SECP256R1())
    payload = build_payload(f"{world.host}/app", digest)
    sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    bundle = sigstore.rekor_bundle(payload=payload, signature=sig, verifier_pem=_pem(key), **bundle_args)  # type: ignore[arg-type]
    annotations = {SIGNATURE_ANNOTATION: base64.b64encode(sig).decode(), BUNDLE_ANNOTATION: bundle}
    world.push_signatures(ref, digest, [(payload, annotations, MEDIA_TYPE)])
    return ref, digest, _pem(key)


def test_tlog_required_and_present(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest, pub = _key_signed_with_bundle(world, sigstore)
    check = _only(
        _verify(
            world,
            ref,
            digest,
            Authority("k", keys=(pub,)),
            require_tlog=True,
            trusted_root=sigstore.trusted_root_json(),
        )
    )
    assert check.ok and check.tlog


def test_tlog_required_but_missing(world: World) -> None:
    ref, digest = world.push_image("app", "v1")
    assert world.sign_cli(ref) == 0
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,)), require_tlog=True))
    assert (check.ok, check.reason) == (False, "tlog-missing")


def test_tlog_from_an_unknown_log_is_rejected_even_when_not_required(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest, pub = _key_signed_with_bundle(world, sigstore, rekor_key=ec.generate_private_key(ec.SECP256R1()))
    check = _only(_verify(world, ref, digest, Authority("k", keys=(pub,)), trusted_root=sigstore.trusted_root_json()))
    assert (check.ok, check.reason) == (False, "unknown-transparency-log")


# --- keyless, with our own CA, CT log and Rekor in a custom trusted_root.json ------------------------------------


def _keyless(
    world: World,
    sigstore: MiniSigstore,
    *,
    issuing: MiniSigstore | None = None,
    email: str = "alice@example.com",
    rekor_key: ec.EllipticCurvePrivateKey | None = None,
    integrated_time: int | None = None,
    bundle: bool = True,
    bundle_payload: bytes | None = None,
) -> tuple[ImageRef, str]:
    ref, digest = world.push_image("app", "v1")
    key, cert_pem = (issuing or sigstore).issue(email=email, issuer=ISSUER)
    payload = build_payload(f"{world.host}/app", digest)
    sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    annotations = {SIGNATURE_ANNOTATION: base64.b64encode(sig).decode(), CERTIFICATE_ANNOTATION: cert_pem.decode()}
    if bundle:
        annotations[BUNDLE_ANNOTATION] = sigstore.rekor_bundle(
            payload=bundle_payload or payload,
            signature=sig,
            verifier_pem=cert_pem,
            rekor_key=rekor_key,
            integrated_time=integrated_time,
        )
    world.push_signatures(ref, digest, [(payload, annotations, MEDIA_TYPE)])
    return ref, digest


def _keyless_authority(sigstore: MiniSigstore, **overrides: str | None) -> Authority:
    fields: dict[str, str | None] = {
        "identity": "alice@example.com",
        "identity_regexp": None,
        "issuer": ISSUER,
        "issuer_regexp": None,
    }
    fields.update(overrides)
    return Authority("keyless", keyless=KeylessAuthority(trusted_root_json=sigstore.trusted_root_json(), **fields))


def test_keyless_ok(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore)
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore)))
    assert check.ok and check.tlog and check.signer == f"alice@example.com ({ISSUER})"
    regexp = _keyless_authority(
        sigstore, identity=None, identity_regexp=r".*@example\.com", issuer=None, issuer_regexp=r"https://issuer\..*"
    )
    assert _only(_verify(world, ref, digest, regexp)).ok


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"identity": "mallory@example.com"}, "identity-mismatch"),
        ({"identity": None, "identity_regexp": "alice@example"}, "identity-mismatch"),  # full match, not search
        ({"issuer": "https://other.example"}, "issuer-mismatch"),
        ({"issuer": None, "issuer_regexp": "https://issuer"}, "issuer-mismatch"),
    ],
)
def test_keyless_wrong_identity_or_issuer(world: World, overrides: dict[str, str | None], reason: str) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore)
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore, **overrides)))
    assert (check.ok, check.reason) == (False, reason)


def test_keyless_chain_to_an_untrusted_root(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore, issuing=MiniSigstore(name="rogue"))
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore)))
    assert (check.ok, check.reason) == (False, "untrusted-certificate")


def test_keyless_set_by_an_unknown_log(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore, rekor_key=ec.generate_private_key(ec.SECP256R1()))
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore)))
    assert (check.ok, check.reason) == (False, "unknown-transparency-log")


def test_keyless_integrated_time_outside_certificate_validity(world: World) -> None:
    sigstore = MiniSigstore()
    later = int((NOW + dt.timedelta(hours=2)).timestamp())
    ref, digest = _keyless(world, sigstore, integrated_time=later)
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore)))
    assert (check.ok, check.reason) == (False, "certificate-not-valid-at-signing")


def test_keyless_without_tlog_entry(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore, bundle=False)
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore)))
    assert (check.ok, check.reason) == (False, "tlog-missing")


def test_keyless_tlog_entry_for_another_payload(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore, bundle_payload=b"something else")
    check = _only(_verify(world, ref, digest, _keyless_authority(sigstore)))
    assert (check.ok, check.reason) == (False, "tlog-entry-mismatch")


def test_key_authority_does_not_accept_a_keyless_signature(world: World) -> None:
    sigstore = MiniSigstore()
    ref, digest = _keyless(world, sigstore)
    check = _only(_verify(world, ref, digest, Authority("ci", keys=(world.pub,))))
    assert (check.ok, check.reason) == (False, "bad-signature")


def test_generate_key_pair_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", "pw")
    assert main(["sign", "generate-key-pair"]) == 0
    key = (tmp_path / "cosign.key").read_bytes()
    assert key.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert (tmp_path / "cosign.key").stat().st_mode & 0o077 == 0
    assert main(["sign", "generate-key-pair"]) == 2  # refuses to overwrite
