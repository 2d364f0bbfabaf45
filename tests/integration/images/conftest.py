"""Registry fixtures for the image-gate integration tests (tests/support/registry.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import REGISTRY_BINARY, LocalRegistry, TokenAuth, start_registry


@pytest.fixture
def oci_registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """An open docker-registry on loopback with storage under tmp_path (use ``allow_http=True``)."""
    if not REGISTRY_BINARY.exists():
        pytest.skip("Debian docker-registry is not installed")
    with start_registry(tmp_path / "registry") as running:
        yield running


@pytest.fixture
def token_auth() -> TokenAuth:
    """The token server's users and grants; tests may edit it before using ``auth_registry``."""
    return TokenAuth()


@pytest.fixture
def auth_registry(tmp_path: Path, token_auth: TokenAuth) -> Iterator[LocalRegistry]:
    """A docker-registry behind token auth: user ``alice``/``s3cret`` may pull and push, anonymous may not."""
    if not REGISTRY_BINARY.exists():
        pytest.skip("Debian docker-registry is not installed")
    with start_registry(tmp_path / "auth-registry", token_auth=token_auth) as running:
        yield running
