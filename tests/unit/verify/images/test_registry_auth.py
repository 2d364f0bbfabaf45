"""docker config.json credentials and WWW-Authenticate challenges."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gitsecure.errors import InputError
from gitsecure.verify.images.registry_auth import (
    Credentials,
    default_docker_config,
    load_docker_config,
    parse_challenge,
)


def _config(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def test_auth_field_username_password_and_identity_token(tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:pa:ss").decode()
    config = load_docker_config(
        _config(
            tmp_path,
            {
                "auths": {
                    "ghcr.io": {"auth": auth},
                    "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
                    "registry.example": {"identitytoken": "refresh"},
                }
            },
        )
    )
    assert config.credentials("ghcr.io") == Credentials("alice", "pa:ss", None)
    assert config.credentials("registry-1.docker.io") == Credentials("bob", "pw", None)
    assert config.credentials("index.docker.io") == Credentials("bob", "pw", None)
    only_token = config.credentials("registry.example")
    assert only_token is not None and only_token.identity_token == "refresh" and only_token.basic() is None
    assert config.credentials("quay.io") is None
    creds = config.credentials("ghcr.io")
    assert creds is not None and creds.basic() == "Basic " + auth


def test_missing_config_means_anonymous(tmp_path: Path) -> None:
    assert load_docker_config(tmp_path / "none.json").auths == {}


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        [1, 2],
        {"auths": {"h": {"auth": "!!!"}}},
        {"auths": {"h": {"auth": base64.b64encode(b"nocolon").decode()}}},
    ],
)
def test_malformed_config_is_an_error(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "config.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(InputError) as caught:
        load_docker_config(path)
    assert caught.value.reference == "invalid-docker-config"


def test_credential_helpers_are_recorded(tmp_path: Path) -> None:
    config = load_docker_config(_config(tmp_path, {"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}))
    assert config.helper("gcr.io") == "gcloud"
    assert config.helper("ghcr.io") == "desktop"


def test_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert default_docker_config() == tmp_path / "config.json"
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_docker_config() == tmp_path / "home/.docker/config.json"


def test_parse_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull",
    }
    basic = parse_challenge('Basic realm="x"')
    assert basic is not None and basic.scheme == "basic"
    assert parse_challenge(None) is None and parse_challenge("") is None
