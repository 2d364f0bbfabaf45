"""``gitsecure verify image | manifests | revision`` end to end: the real CLI entry point, a real docker-registry on
loopback, images pushed over the OCI API and signed with ``gitsecure sign image`` (cosign's legacy layout)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitsecure.cli.main import main
from gitsecure.crypto.cosign_keys import generate_key_pair
from gitsecure.verify.images.reference import parse_image_ref
from gitsecure.verify.images.registry import RegistryClient
from tests.support.gitrepo import GitRepo
from tests.support.registry import LocalRegistry

REGISTRY = Path("/usr/bin/docker-registry")
pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="Debian docker-registry is not installed")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
PASSWORD = "correct horse"


@pytest.fixture
def registry(oci_registry: LocalRegistry) -> str:
    """The shared loopback docker-registry (tests/integration/images/conftest.py) as ``host:port``."""
    return oci_registry.host


@dataclass
class World:
    host: str
    dir: Path
    client: RegistryClient

    def push(self, repo: str, tag: str = "v1") -> str:
        """Push a small random OCI image as ``repo:tag``; return its digest."""
        ref = parse_image_ref(f"{self.host}/{repo}:{tag}")
        layer = os.urandom(64)
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
        self.client.put_blob(ref, layer)
        self.client.put_blob(ref, config.encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": _sha(config.encode()),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer), "digest": _sha(layer)}
            ],
        }
        return self.client.put_manifest(ref, tag, json.dumps(manifest).encode(), OCI_MANIFEST).digest

    def sign(self, image: str, signer: str) -> None:
        assert main(["sign", "image", image, "--key", str(self.dir / f"{signer}.key"), "--allow-http-registry"]) == 0

    def key(self, name: str) -> str:
        return str(self.dir / f"{name}.pub")

    def policy(self, text: str) -> str:
        path = self.dir / "policy.yaml"
        path.write_text(text.replace("HOST", self.host))
        return str(path)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def world(registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("ci", "release", "qa"):
        private, public = generate_key_pair(PASSWORD.encode())
        (tmp_path / f"{name}.key").write_bytes(private)
        (tmp_path / f"{name}.pub").write_bytes(public)
    return World(registry, tmp_path, RegistryClient(allow_http=True))


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    """Run ``gitsecure verify ARGS --json --allow-http-registry``; the exit code and the parsed JSON verdict."""
    capsys.readouterr()
    code = main(["verify", *args, "--json", "--allow-http-registry"])
    return code, json.loads(capsys.readouterr().out)


THREE = """\
version: 1
authorities:
  - {name: ci, keys: [ci.pub]}
  - {name: release, keys: [release.pub]}
  - {name: qa, keys: [qa.pub]}
images:
  - glob: "HOST/acme/**"
    authorities: [ci, release, qa]
    threshold: 2
    require: [release]
  - glob: "HOST/acme/tools/*"
    authorities: [ci]
    mode: warn
"""


def test_signed_image_accepted_with_its_pinned_digest(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    digest = world.push("app")
    world.sign(f"{world.host}/app:v1", "ci")
    code, verdict = verify(capsys, "image", f"{world.host}/app:v1", "--key", world.key("ci"), "--no-cache")
    assert code == 0, verdict
    assert verdict["accepted"] is True and verdict["digest"] == digest
    assert verdict["reference"] == f"{world.host}/app@{digest}"
    assert verdict["authorities"][0]["satisfied"] is True  # type: ignore[index]


def test_text_output_names_the_verified_reference(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    digest = world.push("app")
    world.sign(f"{world.host}/app:v1", "ci")
    capsys.readouterr()
    code = main(["verify", "image", f"{world.host}/app:v1", "--key", world.key("ci"), "--allow-http-registry"])
    out = capsys.readouterr().out
    assert code == 0 and f"verified: {world.host}/app@{digest}" in out and out.startswith("ok   image")


@pytest.mark.parametrize("signer", [None, "qa"])
def test_unsigned_or_wrong_key_rejected(world: World, capsys: pytest.CaptureFixture[str], signer: str | None) -> None:
    world.push("app")
    if signer:
        world.sign(f"{world.host}/app:v1", signer)
    code, verdict = verify(capsys, "image", f"{world.host}/app:v1", "--key", world.key("ci"))
    assert code == 1 and verdict["accepted"] is False
    reason = "no-signature" if signer is None else "bad-signature"
    assert any(reason in str(r) for r in verdict["reasons"]), verdict  # type: ignore[attr-defined]


def test_a_tag_moved_after_signing_is_rejected(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.push("app")
    world.sign(f"{world.host}/app:v1", "ci")
    moved = world.push("app")  # same tag, new unsigned image
    code, verdict = verify(capsys, "image", f"{world.host}/app:v1", "--key", world.key("ci"))
    assert code == 1 and verdict["digest"] == moved


def test_warn_mode_reports_without_failing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.push("acme/tools/lint")
    policy = world.policy(THREE)
    code, verdict = verify(capsys, "image", f"{world.host}/acme/tools/lint:v1", "--policy", policy)
    assert code == 0
    assert (verdict["accepted"], verdict["mode"], verdict["rule"]) == (False, "warn", "images[1]")
    capsys.readouterr()
    main(["verify", "image", f"{world.host}/acme/tools/lint:v1", "--policy", policy, "--allow-http-registry"])
    assert capsys.readouterr().out.startswith("WARN image")


def test_two_of_three_with_a_required_signer(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.push("acme/app")
    image = f"{world.host}/acme/app:v1"
    policy = world.policy(THREE)
    world.sign(image, "ci")
    world.sign(image, "qa")
    code, verdict = verify(capsys, "image", image, "--policy", policy)
    assert code == 1 and "required authority release did not sign" in verdict["reasons"]  # type: ignore[operator]
    world.sign(image, "release")
    code, verdict = verify(capsys, "image", image, "--policy", policy)
    assert code == 0, verdict
    satisfied = {a["name"] for a in verdict["authorities"] if a["satisfied"]}  # type: ignore[attr-defined]
    assert satisfied == {"ci", "qa", "release"}


def test_required_signer_alone_is_below_threshold(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.push("acme/app")
    world.sign(f"{world.host}/acme/app:v1", "release")
    code, verdict = verify(capsys, "image", f"{world.host}/acme/app:v1", "--policy", world.policy(THREE))
    assert code == 1
    assert "images[0] needs 2 distinct authorities of 3, got release" in verdict["reasons"]  # type: ignore[operator]


def test_flag_threshold_counts_distinct_keys(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.push("app")
    world.sign(f"{world.host}/app:v1", "ci")
    args = ["image", f"{world.host}/app:v1", "--key", world.key("ci"), "--key", world.key("qa"), "--threshold", "2"]
    assert verify(capsys, *args)[0] == 1
    world.sign(f"{world.host}/app:v1", "qa")
    assert verify(capsys, *args)[0] == 0


def test_no_matching_rule_is_denied(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.push("other/app")
    world.sign(f"{world.host}/other/app:v1", "ci")
    code, verdict = verify(capsys, "image", f"{world.host}/other/app:v1", "--policy", world.policy(THREE))
    assert code == 1 and verdict["rule"] is None
    assert "no image rule matches" in str(verdict["reasons"])


def test_require_digest(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    digest = world.push("app")
    world.sign(f"{world.host}/app:v1", "ci")
    base = ["--key", world.key("ci"), "--require-digest"]
    code, verdict = verify(capsys, "image", f"{world.host}/app:v1", *base)
    assert code == 1 and "not pinned by digest" in str(verdict["reasons"])
    code, verdict = verify(capsys, "image", f"{world.host}/app@{digest}", *base)
    assert code == 0 and verdict["digest"] == digest


def test_second_run_comes_from_the_cache(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    digest = world.push("app")
    world.push("unsigned")
    world.sign(f"{world.host}/app:v1", "ci")
    cache = ["--cache-dir", str(world.dir / "c")]
    for ref in (f"{world.host}/app:v1", f"{world.host}/app@{digest}"):
        assert verify(capsys, "image", ref, "--key", world.key("ci"), *cache)[1]["cached"] in (False, True)
    code, verdict = verify(capsys, "image", f"{world.host}/app@{digest}", "--key", world.key("ci"), *cache)
    assert code == 0 and verdict["cached"] is True
    assert verify(capsys, "image", f"{world.host}/app:v1", "--key", world.key("ci"), "--no-cache")[1]["cached"] is False
    # Another trust configuration is another policy hash: nothing is reused.
    other = verify(capsys, "image", f"{world.host}/app:v1", "--key", world.key("ci"), "--key", world.key("qa"), *cache)
    assert other[1]["cached"] is False
    # Rejections are never cached: a signature may be added later.
    for _ in range(2):
        code, verdict = verify(capsys, "image", f"{world.host}/unsigned:v1", "--key", world.key("ci"), *cache)
        assert code == 1 and verdict["cached"] is False
    world.sign(f"{world.host}/unsigned:v1", "ci")
    assert verify(capsys, "image", f"{world.host}/unsigned:v1", "--key", world.key("ci"), *cache)[0] == 0


def test_usage_errors_exit_2(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "image", f"{world.host}/app:v1"]) == 2  # no trust at all
    assert main(["verify", "image", "UPPER/Case:x", "--key", world.key("ci")]) == 2
    assert main(["verify", "image", "a/b", "--key", world.key("ci"), "--policy", world.policy(THREE)]) == 2
    assert main(["verify", "image", "a/b", "--key", world.key("ci"), "--threshold", "2"]) == 2


def _deployment(name: str, *images: str) -> str:
    containers = "\n".join(f"        - name: c{i}\n          image: {image}" for i, image in enumerate(images))
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n"
        f"      containers:\n{containers}\n"
    )


def test_manifests_dir_with_mixed_images(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad, lint = f"{world.host}/acme/app:v1", f"{world.host}/acme/api:v1", f"{world.host}/acme/tools/lint:v1"
    for image in (good, bad, lint):
        world.push(parse_image_ref(image).repository)
    world.sign(good, "ci")
    world.sign(good, "release")
    policy = world.policy(THREE)
    deploy = world.dir / "deploy"
    deploy.mkdir()
    (deploy / "app.yaml").write_text(_deployment("app", good, lint) + "---\n" + _deployment("api", bad))
    code, report = verify(capsys, "manifests", str(deploy), "--policy", policy)
    assert code == 1 and report["accepted"] is False
    by_image = {entry["image"]: entry for entry in report["images"]}  # type: ignore[attr-defined]
    assert (by_image[good]["accepted"], by_image[bad]["accepted"], by_image[lint]["accepted"]) == (True, False, False)
    assert by_image[lint]["mode"] == "warn" and by_image[good]["uses"][0]["name"] == "app"
    (deploy / "app.yaml").write_text(_deployment("app", good, lint))
    code, report = verify(capsys, "manifests", str(deploy), "--policy", policy)
    assert code == 0 and report["accepted"] is True  # the warn-mode image is reported, never fatal
    assert [entry["accepted"] for entry in report["images"]] == [True, False]  # type: ignore[attr-defined]


# -- revision: commits and images, one verdict ------------------------------------------------


@pytest.fixture
def repo(world: World, tmp_path: Path) -> tuple[GitRepo, Path]:
    home = tmp_path / "home"
    home.mkdir()
    key = tmp_path / "dev_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git = GitRepo(tmp_path / "repo", home=home)
    git.git("config", "gpg.format", "ssh")
    git.git("config", "user.signingkey", str(key))
    return git, key


def _revision_policy(world: World, key: Path) -> str:
    pub = " ".join(Path(f"{key}.pub").read_text().split()[:2])
    commit_part = (
        f"signers:\n  - name: dev\n    ssh: {{keys: ['{pub}']}}\n"
        "rules:\n  - repos: ['**']\n    mode: head\n    signers: [dev]\n"
    )
    return world.policy(THREE.replace("version: 1\n", "version: 1\n" + commit_part))


def _commit(git: GitRepo, image: str, *, signed: bool) -> None:
    git.write("deploy/app.yaml", _deployment("app", image))
    git.git("add", "-A")
    git.git("commit", "-q", "-S" if signed else "--no-gpg-sign", "-m", "deploy")


def test_revision_commits_and_images(
    world: World, repo: tuple[GitRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    git, key = repo
    signed, unsigned = f"{world.host}/acme/app:v1", f"{world.host}/acme/api:v1"
    world.push("acme/app")
    world.push("acme/api")
    world.sign(signed, "ci")
    world.sign(signed, "release")
    policy = _revision_policy(world, key)
    base = ["--policy", policy, "--repo", str(git.path), "--no-cache"]

    _commit(git, signed, signed=True)
    code, report = verify(capsys, "revision", "HEAD", *base)
    assert code == 0, report
    assert report["trusted"] is True and report["commits"]["trusted"] is True  # type: ignore[index]
    assert [entry["image"] for entry in report["images"]] == [signed]  # type: ignore[attr-defined]
    assert report["images"][0]["uses"][0]["file"] == "deploy/app.yaml"  # type: ignore[index]

    _commit(git, unsigned, signed=True)  # signed commit, unsigned image
    code, report = verify(capsys, "revision", "HEAD", *base)
    assert code == 1 and report["commits"]["trusted"] is True and report["images"][0]["accepted"] is False  # type: ignore[index]

    _commit(git, signed, signed=False)  # signed image, unsigned commit
    code, report = verify(capsys, "revision", "HEAD", *base)
    assert code == 1 and report["commits"]["trusted"] is False and report["images"][0]["accepted"] is True  # type: ignore[index]


def test_revision_sees_manifests_hidden_by_export_ignore(
    world: World, repo: tuple[GitRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    git, key = repo
    world.push("acme/api")
    git.write(".gitattributes", "deploy/** export-ignore\n")
    _commit(git, f"{world.host}/acme/api:v1", signed=True)
    code, report = verify(capsys, "revision", "HEAD", "--policy", _revision_policy(world, key), "--repo", str(git.path))
    assert code == 1 and report["images"][0]["accepted"] is False  # type: ignore[index]
