"""Image reference parsing and docker normalisation."""

from __future__ import annotations

import pytest

from gitsecure.errors import InputError
from gitsecure.verify.images.reference import ImageRef, parse_image_ref

DIGEST = "sha256:" + "a1" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "index.docker.io", "library/nginx", "latest", None),
        ("nginx:1.25", "index.docker.io", "library/nginx", "1.25", None),
        ("bitnami/redis:7", "index.docker.io", "bitnami/redis", "7", None),
        ("docker.io/nginx", "index.docker.io", "library/nginx", "latest", None),
        ("registry-1.docker.io/library/nginx:x", "index.docker.io", "library/nginx", "x", None),
        ("ghcr.io/acme/tools/lint:v1.2.3", "ghcr.io", "acme/tools/lint", "v1.2.3", None),
        ("localhost/app", "localhost", "app", "latest", None),
        (f"localhost:5000/a/b@{DIGEST}", "localhost:5000", "a/b", None, DIGEST),
        (f"127.0.0.1:5000/a/b:v1@{DIGEST}", "127.0.0.1:5000", "a/b", "v1", DIGEST),
        (f"nginx@{DIGEST}", "index.docker.io", "library/nginx", None, DIGEST),
        ("my-registry.local:443/x__y/z-1.2:tag_1", "my-registry.local:443", "x__y/z-1.2", "tag_1", None),
    ],
)
def test_parse_and_normalise(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    assert parse_image_ref(text) == ImageRef(registry, repository, tag, digest)


def test_canonical_text_round_trips() -> None:
    ref = parse_image_ref("nginx")
    assert str(ref) == "index.docker.io/library/nginx:latest"
    assert parse_image_ref(str(ref)) == ref
    pinned = ref.with_digest(DIGEST)
    assert str(pinned) == f"index.docker.io/library/nginx:latest@{DIGEST}"
    assert pinned.pinned() == f"index.docker.io/library/nginx@{DIGEST}"
    assert ref.api_host == "registry-1.docker.io" and parse_image_ref("ghcr.io/a/b").api_host == "ghcr.io"


def test_default_tag_can_be_disabled() -> None:
    assert parse_image_ref("ghcr.io/a/b", default_tag=None).tag is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "Nginx",
        "ghcr.io/Acme/app",
        "nginx:",
        "nginx:-bad",
        "nginx:" + "x" * 129,
        "nginx@sha256:abc",
        "nginx@md5:" + "a" * 32,
        f"nginx@{DIGEST.upper()}",
        "a b",
        "ghcr.io//app",
        "ghcr.io/app/",
        "ghcr.io/-app",
        "ghcr.io/app..x",
        "nginx:tag\u00e9",
        "ghcr.io/" + "a" * 300,
    ],
)
def test_invalid_references_are_rejected(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_image_ref(text)
    assert caught.value.reference == "invalid-image-reference"


def test_with_digest_and_pinned_validate() -> None:
    ref = parse_image_ref("ghcr.io/a/b:v1")
    with pytest.raises(InputError):
        ref.with_digest("sha256:short")
    with pytest.raises(InputError):
        ref.pinned()
