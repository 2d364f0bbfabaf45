"""A fresh in-memory world per test."""

from __future__ import annotations

import pytest

from tests.unit.controller.external.world import World, make_world, store_body


@pytest.fixture
def world() -> World:
    """A world with a Ready SecretStore "vault" and a remote secret ``app`` = {"password": "p1", "user": "u1"}."""
    made = make_world()
    made.add_store(store_body())
    made.provider.secrets["app"] = '{"password": "p1", "user": "u1"}'
    return made
