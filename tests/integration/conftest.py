"""Fixtures shared by the integration tests that run ``gitsecure seal`` as a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.seal_runner import Runner


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME: no ``~/.kube/config`` of the real user."""
    directory = tmp_path / "home"
    directory.mkdir()
    return directory


@pytest.fixture
def seal(home: Path) -> Runner:
    """Run ``python -m gitsecure seal ARGS`` with a scrubbed environment and an empty HOME."""
    return Runner(home)
