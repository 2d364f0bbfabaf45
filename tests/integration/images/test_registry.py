"""RegistryClient against the real Debian docker-registry on loopback (open and behind token auth), and the OCI 1.1
referrers API against a tiny loopback server (docker-registry 2.8 has no referrers API, so there the client takes
the ``sha256-<hex>`` referrers-tag fallback)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitsecure.verify.images.reference import ImageRef, parse_image_ref
from gitsecure.verify.images.registry import OCI_INDEX, OCI_MANIFEST, RegistryClient, RegistryError
from tests.support.oci import Pushed, move_tag, push_image, push_index, sha256
from tests.support.registry import LocalRegistry, TokenAuth, docker_config

BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
OTHER = "application/vnd.example.sbom+json"


@pytest.fixture
def client(tmp_path: Path) -> RegistryClient:
    return RegistryClient(allow_http=True, docker_config=tmp_path / "no-docker-config.json")


def _ref(text: str) -> ImageRef:
    return parse_image_ref(text)


def _blob_file(registry: LocalRegistry, digest: str) -> Path:
    hexpart = digest.split(":", 1)[1]
    return registry.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


# -- resolution ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["oci", "docker"])
def test_tag_resolves_to_the_pushed_digest(oci_registry: LocalRegistry, client: RegistryClient, flavour: str) -> None:
    pushed = push_image(client, oci_registry.ref("team/app", "v1"), flavour=flavour)  # type: ignore[arg-type]
    descriptor = client.resolve(_ref(oci_registry.ref("team/app", "v1")))
    assert descriptor.digest == pushed.digest == sha256(pushed.manifest)
    assert descriptor.media_type == pushed.media_type
    assert descriptor.size == len(pushed.manifest)


def test_index_resolves_to_the_index_digest(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    children = [push_image(client, oci_registry.ref("multi", "a")), push_image(client, oci_registry.ref("multi", "b"))]
    index = push_index(client, oci_registry.ref("multi", "v1"), children)
    descriptor = client.resolve(_ref(oci_registry.ref("multi", "v1")))
    assert (descriptor.digest, descriptor.media_type) == (index.digest, OCI_INDEX)
    raw, _ = client.get_manifest(_ref(oci_registry.ref("multi", "v1")), index.digest)
    assert [m["digest"] for m in json.loads(raw)["manifests"]] == [c.digest for c in children]


def test_digest_reference_is_checked_to_exist(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    pushed = push_image(client, oci_registry.ref("app", "v1"))
    assert client.resolve(_ref(pushed.pinned)).digest == pushed.digest
    missing = _ref(f"{oci_registry.host}/app@sha256:{'0' * 64}")
    with pytest.raises(RegistryError) as caught:
        client.resolve(missing)
    assert caught.value.reference == "manifest-unknown"


@pytest.mark.parametrize("name", ["app:nope", "never-pushed:v1"])
def test_missing_image(oci_registry: LocalRegistry, client: RegistryClient, name: str) -> None:
    push_image(client, oci_registry.ref("app", "v1"))
    with pytest.raises(RegistryError) as caught:
        client.resolve(_ref(f"{oci_registry.host}/{name}"))
    assert caught.value.reference == "manifest-unknown"
    assert oci_registry.host in caught.value.message
    assert client.get_manifest_or_none(_ref(f"{oci_registry.host}/{name}"), name.split(":")[1]) is None


def test_moved_tag_resolves_to_the_new_digest(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    first = push_image(client, oci_registry.ref("app", "v1"))
    second = push_image(client, oci_registry.ref("app", "v2"))
    move_tag(client, oci_registry.ref("app", "v1"), "v1", second.digest)
    assert client.resolve(_ref(oci_registry.ref("app", "v1"))).digest == second.digest != first.digest


# -- content verification -----------------------------------------------------------------------------------------


def test_blob_is_verified_against_its_digest(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    pushed = push_image(client, oci_registry.ref("app", "v1"))
    layer = json.loads(pushed.manifest)["layers"][0]
    data = client.get_blob(pushed.ref, layer["digest"])
    assert sha256(data) == layer["digest"] and len(data) == layer["size"]
    _blob_file(oci_registry, layer["digest"]).write_bytes(b"x" * layer["size"])  # the registry serves this as is
    with pytest.raises(RegistryError) as caught:
        client.get_blob(pushed.ref, layer["digest"])
    assert caught.value.reference == "blob-digest-mismatch"


def test_blob_size_is_capped(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    pushed = push_image(client, oci_registry.ref("app", "v1"))
    layer = json.loads(pushed.manifest)["layers"][0]
    with pytest.raises(RegistryError) as caught:
        client.get_blob(pushed.ref, layer["digest"], max_size=layer["size"] - 1)
    assert caught.value.reference == "registry-too-large"
    assert len(client.get_blob(pushed.ref, layer["digest"], max_size=layer["size"])) == layer["size"]


def test_manifest_fetched_by_digest_is_verified(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    pushed = push_image(client, oci_registry.ref("app", "v1"))
    other = push_image(client, oci_registry.ref("app", "v2"))
    # Manifests are blobs in the storage: make the registry serve another manifest's bytes for this digest.
    _blob_file(oci_registry, pushed.digest).write_bytes(other.manifest)
    with pytest.raises(RegistryError) as caught:
        client.get_manifest(pushed.ref, pushed.digest)
    assert caught.value.reference == "manifest-digest-mismatch"


def test_invalid_references_never_reach_a_url(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    ref = _ref(oci_registry.ref("app", "v1"))
    for bad in ("../../v2/_catalog", "sha256:abc", "v1?x=1"):
        with pytest.raises(RegistryError) as caught:
            client.get_manifest(ref, bad)
        assert caught.value.reference == "invalid-image-reference"
    with pytest.raises(RegistryError):
        client.get_blob(ref, "sha256:../../x")


def test_https_is_the_default(oci_registry: LocalRegistry, tmp_path: Path) -> None:
    strict = RegistryClient(docker_config=tmp_path / "none.json", timeout=5)
    with pytest.raises(RegistryError) as caught:
        strict.resolve(_ref(oci_registry.ref("app", "v1")))
    assert caught.value.reference == "registry-unreachable"


# -- referrers: the tag-schema fallback on docker-registry 2.8 ------------------------------------------------------


def _push_referrer(client: RegistryClient, subject: Pushed, artifact_type: str) -> dict[str, object]:
    """An OCI 1.1 artifact manifest whose subject is ``subject``; returns its descriptor as an index entry."""
    blob = json.dumps({"artifact": artifact_type}).encode()
    client.put_blob(subject.ref, blob)
    client.put_blob(subject.ref, b"{}")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": sha256(b"{}")},
            "layers": [{"mediaType": artifact_type, "size": len(blob), "digest": sha256(blob)}],
            "subject": {"mediaType": subject.media_type, "size": len(subject.manifest), "digest": subject.digest},
        }
    ).encode()
    descriptor = client.put_manifest(subject.ref, sha256(manifest), manifest, OCI_MANIFEST)
    return {
        "mediaType": OCI_MANIFEST,
        "digest": descriptor.digest,
        "size": descriptor.size,
        "artifactType": artifact_type,
        "annotations": {"org.example": "yes"},
    }


def test_referrers_from_the_fallback_tag(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    subject = push_image(client, oci_registry.ref("app", "v1"))
    unrelated = push_image(client, oci_registry.ref("app", "v2"))
    assert client.referrers(subject.ref, subject.digest) == []
    entries = [_push_referrer(client, subject, BUNDLE), _push_referrer(client, subject, OTHER)]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    client.put_manifest(subject.ref, subject.digest.replace(":", "-"), index, OCI_INDEX)
    found = client.referrers(subject.ref, subject.digest)
    assert [(d.digest, d.artifact_type) for d in found] == [(e["digest"], e["artifactType"]) for e in entries]
    assert found[0].annotations == {"org.example": "yes"}
    only = client.referrers(subject.ref, subject.digest, artifact_type=BUNDLE)
    assert [d.digest for d in only] == [entries[0]["digest"]]
    assert client.referrers(subject.ref, unrelated.digest) == []


def test_malformed_fallback_index_is_rejected(oci_registry: LocalRegistry, client: RegistryClient) -> None:
    subject = push_image(client, oci_registry.ref("app", "v1"))
    # Accepted by the registry (the entry exists), but an entry without mediaType is not a descriptor.
    entry = {"digest": subject.digest, "size": len(subject.manifest)}
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}).encode()
    client.put_manifest(subject.ref, subject.digest.replace(":", "-"), index, OCI_INDEX)
    with pytest.raises(RegistryError) as caught:
        client.referrers(subject.ref, subject.digest)
    assert caught.value.reference == "malformed-manifest"


# -- referrers: the OCI 1.1 API, served by a tiny loopback server ---------------------------------------------------


class _ReferrersServer:
    """Answers ``GET /v2/<repo>/referrers/<digest>`` (with ``artifactType`` filtering, as the spec allows) behind Basic
    auth; every other path is 404, so a client that fell back to the referrers tag would find nothing."""

    def __init__(self, index: dict[str, list[dict[str, object]]], password: str) -> None:
        outer = self
        self.seen: list[str] = []
        self.link_host: str | None = None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen.append(self.path)
                expected = "Basic " + base64.b64encode(f"bob:{password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, b"{}", "application/json", {"WWW-Authenticate": 'Basic realm="test"'})
                    return
                path, _, query = self.path.partition("?")
                digest = path.rsplit("/", 1)[-1]
                if "/referrers/" not in path or digest not in index:
                    self._send(404, b"{}", "application/json", {})
                    return
                wanted = None
                if "artifactType=" in query:
                    wanted = query.split("artifactType=", 1)[1].replace("%2B", "+").replace("%2F", "/")
                entries = [e for e in index[digest] if wanted is None or e.get("artifactType") == wanted]
                extra = {"OCI-Filters-Applied": "artifactType"} if wanted else {}
                if wanted is None and len(entries) > 1:
                    # Paginate unfiltered answers: one entry per page, the spec's Link header to the next one.
                    page = int(query.split("page=", 1)[1]) if "page=" in query else 0
                    if page + 1 < len(entries):
                        host = outer.link_host or outer.host
                        extra["Link"] = f'<http://{host}{path}?page={page + 1}>; rel="next"'
                    entries = entries[page : page + 1]
                body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
                self._send(200, body, OCI_INDEX, extra)

            def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def referrers_server() -> Iterator[_ReferrersServer]:
    digest = "sha256:" + "ab" * 32
    entry = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "cd" * 32, "size": 10, "artifactType": BUNDLE}
    other = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "ef" * 32, "size": 11, "artifactType": OTHER}
    server = _ReferrersServer({digest: [entry, other]}, password="pw")
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_referrers_api_with_basic_auth(referrers_server: _ReferrersServer, tmp_path: Path) -> None:
    config = docker_config(tmp_path / "docker", referrers_server.host, "bob", "pw")
    client = RegistryClient(allow_http=True, docker_config=config)
    ref = _ref(f"{referrers_server.host}/app:v1")
    found = client.referrers(ref, "sha256:" + "ab" * 32)
    assert [d.artifact_type for d in found] == [BUNDLE, OTHER]
    assert [d.digest for d in client.referrers(ref, "sha256:" + "ab" * 32, artifact_type=OTHER)] == [
        "sha256:" + "ef" * 32
    ]
    assert any("/referrers/" in path and "page=1" in path for path in referrers_server.seen)  # second page read
    assert not any("/manifests/sha256-" in path for path in referrers_server.seen)
    # Unknown subject: the API says 404, the fallback tag is absent too: no referrers, not an error.
    assert client.referrers(ref, "sha256:" + "00" * 32) == []
    assert any("/manifests/sha256-" + "00" * 32 in path for path in referrers_server.seen)


def test_basic_auth_without_credentials_is_denied(referrers_server: _ReferrersServer, tmp_path: Path) -> None:
    client = RegistryClient(allow_http=True, docker_config=tmp_path / "none.json")
    with pytest.raises(RegistryError) as caught:
        client.referrers(_ref(f"{referrers_server.host}/app:v1"), "sha256:" + "ab" * 32)
    assert caught.value.reference == "registry-denied"


# -- token auth (distribution's `auth: token` with a loopback token server) ----------------------------------------


def test_token_auth_with_docker_config_credentials(auth_registry: LocalRegistry, tmp_path: Path) -> None:
    config = docker_config(tmp_path / "docker", auth_registry.host, "alice", "s3cret")
    client = RegistryClient(allow_http=True, docker_config=config)
    pushed = push_image(client, auth_registry.ref("team/app", "v1"))
    assert client.resolve(_ref(auth_registry.ref("team/app", "v1"))).digest == pushed.digest
    assert client.get_manifest(pushed.ref, pushed.digest)[0] == pushed.manifest


def test_token_auth_required(auth_registry: LocalRegistry, tmp_path: Path) -> None:
    anonymous = RegistryClient(allow_http=True, docker_config=tmp_path / "none.json")
    with pytest.raises(RegistryError) as caught:
        anonymous.resolve(_ref(auth_registry.ref("team/app", "v1")))
    assert caught.value.reference == "registry-denied"
    assert "401" in caught.value.message


def test_wrong_password_is_denied_and_not_echoed(auth_registry: LocalRegistry, tmp_path: Path) -> None:
    config = docker_config(tmp_path / "docker", auth_registry.host, "alice", "hunter2-wrong")
    client = RegistryClient(allow_http=True, docker_config=config)
    with pytest.raises(RegistryError) as caught:
        client.resolve(_ref(auth_registry.ref("team/app", "v1")))
    assert caught.value.reference == "registry-denied"
    assert "hunter2" not in str(caught.value) and "token service" in caught.value.message


def test_pull_only_grant_cannot_push(auth_registry: LocalRegistry, token_auth: TokenAuth, tmp_path: Path) -> None:
    token_auth.users["reader"] = "r"
    token_auth.grants["reader"] = {"team/": ("pull",)}
    writer = RegistryClient(
        allow_http=True, docker_config=docker_config(tmp_path / "w", auth_registry.host, "alice", "s3cret")
    )
    pushed = push_image(writer, auth_registry.ref("team/app", "v1"))
    reader = RegistryClient(
        allow_http=True, docker_config=docker_config(tmp_path / "r", auth_registry.host, "reader", "r")
    )
    assert reader.resolve(_ref(auth_registry.ref("team/app", "v1"))).digest == pushed.digest
    with pytest.raises(RegistryError) as caught:
        push_image(reader, auth_registry.ref("team/app", "v2"))
    assert caught.value.reference == "registry-denied"
    with pytest.raises(RegistryError):
        reader.resolve(_ref(auth_registry.ref("elsewhere/app", "v1")))


def test_credential_helper_only_config_is_a_clear_error(auth_registry: LocalRegistry, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {auth_registry.host: "ecr-login"}}))
    client = RegistryClient(allow_http=True, docker_config=config)
    with pytest.raises(RegistryError) as caught:
        client.resolve(_ref(auth_registry.ref("team/app", "v1")))
    assert caught.value.reference == "registry-denied" and "ecr-login" in caught.value.message


def test_identity_token_is_exchanged_as_a_refresh_token(
    auth_registry: LocalRegistry, token_auth: TokenAuth, tmp_path: Path
) -> None:
    token_auth.refresh_tokens["rt-123"] = "alice"
    # docker writes "<token>" as the username for identity tokens; the password is not used then.
    good = docker_config(tmp_path / "good", auth_registry.host, "<token>", "", identity_token="rt-123")
    pushed = push_image(RegistryClient(allow_http=True, docker_config=good), auth_registry.ref("team/app", "v1"))
    assert "denied refresh token" not in token_auth.requests
    bad = docker_config(tmp_path / "bad", auth_registry.host, "<token>", "", identity_token="rt-wrong")
    with pytest.raises(RegistryError) as caught:
        RegistryClient(allow_http=True, docker_config=bad).resolve(pushed.ref)
    assert caught.value.reference == "registry-denied" and "rt-wrong" not in str(caught.value)
    assert "denied refresh token" in token_auth.requests


def test_referrers_next_page_on_another_host_is_refused(referrers_server: _ReferrersServer, tmp_path: Path) -> None:
    referrers_server.link_host = "attacker.example"
    config = docker_config(tmp_path / "docker", referrers_server.host, "bob", "pw")
    client = RegistryClient(allow_http=True, docker_config=config)
    with pytest.raises(RegistryError) as caught:
        client.referrers(_ref(f"{referrers_server.host}/app:v1"), "sha256:" + "ab" * 32)
    assert "next page elsewhere" in caught.value.message
