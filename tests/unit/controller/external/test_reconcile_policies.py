"""creationPolicy, deletionPolicy (reference §3.4), immutable, ownership, finalizer and orphan cleanup."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gitsecure.controller.external.model import CREATED_BY_LABEL, FINALIZER, MANAGED_LABEL
from tests.unit.controller.external.fakes import b64
from tests.unit.controller.external.world import NS, World, es_body

TWO_KEYS = [
    {"secretKey": "password", "remoteRef": {"key": "app", "property": "password"}},
    {"secretKey": "extra", "remoteRef": {"key": "extra"}},
]


def data(world: World, name: str = "app-secret") -> dict[str, bytes]:
    secret = world.secret(name)
    assert secret is not None
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def foreign_secret(world: World, **extra: Any) -> None:
    world.cluster.put(
        "secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret", "namespace": NS},
         "type": "Opaque", "data": {"theirs": b64("keep")}, **extra},
    )  # fmt: skip


def test_retain_makes_a_missing_remote_secret_an_error(world: World) -> None:
    world.provider.secrets["extra"] = "e1"
    world.add_es(es_body(data=TWO_KEYS))
    world.run()
    del world.provider.secrets["extra"]
    world.clock.advance(hours=2)
    assert world.run().failed
    assert world.ready()["message"] == "could not get secret data from provider: fake: secret extra not found"
    assert data(world) == {"password": b"p1", "extra": b"e1"}


def test_delete_drops_a_missing_source_and_tells_so(world: World) -> None:
    world.provider.secrets["extra"] = "e1"
    world.add_es(es_body(data=TWO_KEYS, target={"name": "app-secret", "deletionPolicy": "Delete"}))
    world.run()
    del world.provider.secrets["extra"]
    world.clock.advance(hours=2)
    assert not world.run().failed
    assert data(world) == {"password": b"p1"}
    assert (
        "app",
        "Normal",
        "MissingProviderSecret",
        "secret does not exist at provider using spec.data[1] (key=extra)",
    ) in (world.cluster.events)


def test_delete_removes_the_secret_when_every_source_is_gone(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "deletionPolicy": "Delete"}))
    world.run()
    del world.provider.secrets["app"]
    world.clock.advance(hours=2)
    world.run()
    assert world.secret() is None
    ready = world.ready()
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True",
        "SecretDeleted",
        "secret deleted due to DeletionPolicy=Delete",
    )
    assert "Deleted" in world.cluster.reasons()


def test_merge_deletion_keeps_the_secret_and_removes_our_keys(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "deletionPolicy": "Merge"}))
    world.run()
    del world.provider.secrets["app"]
    world.clock.advance(hours=2)
    world.run()
    assert world.secret() is not None and data(world) == {}
    assert world.ready()["reason"] == "SecretSynced"


def test_orphan_sets_no_owner_and_never_repairs_drift(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "creationPolicy": "Orphan"}))
    world.run()
    secret = world.secret()
    assert secret is not None
    assert "ownerReferences" not in secret["metadata"] and CREATED_BY_LABEL not in secret["metadata"]["labels"]
    secret["data"]["password"] = b64("changed by hand")
    world.clock.advance(minutes=5)
    world.run()
    assert data(world) == {"password": b"changed by hand"}


def test_merge_keeps_foreign_keys_and_drops_our_stale_ones(world: World) -> None:
    foreign_secret(world)
    world.provider.secrets["extra"] = "e1"
    world.add_es(
        es_body(data=TWO_KEYS, target={"name": "app-secret", "creationPolicy": "Merge", "deletionPolicy": "Merge"})
    )
    world.run()
    assert data(world) == {"theirs": b"keep", "password": b"p1", "extra": b"e1"}
    secret = world.secret()
    assert secret is not None and secret["metadata"]["labels"][MANAGED_LABEL] == "true"
    assert "ownerReferences" not in secret["metadata"]
    del world.provider.secrets["extra"]
    world.clock.advance(hours=2)
    world.run()
    assert data(world) == {"theirs": b"keep", "password": b"p1"}


def test_create_or_merge_creates_then_merges(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "creationPolicy": "CreateOrMerge"}))
    world.run()
    assert data(world) == {"password": b"p1"}
    secret = world.secret()
    assert secret is not None and "ownerReferences" not in secret["metadata"]


def test_creation_policy_none_writes_nothing(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "creationPolicy": "None"}))
    world.run()
    assert world.secret() is None and world.provider.calls == 1
    assert world.ready()["reason"] == "SecretSynced"


def test_immutable_targets(world: World) -> None:
    world.add_es(es_body(target={"name": "app-secret", "immutable": True}))
    world.run()
    secret = world.secret()
    assert secret is not None and secret["immutable"] is True
    world.provider.secrets["app"] = '{"password": "p2"}'
    world.clock.advance(hours=2)
    result = world.run()
    assert not result.failed and result.requeue_after is not None
    ready = world.ready()
    assert (ready["status"], ready["message"]) == ("False", "could not update secret, target is immutable")
    assert data(world) == {"password": b"p1"}


def test_a_secret_owned_by_another_external_secret_is_not_taken(world: World) -> None:
    owner = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "name": "other", "uid": "x",
             "controller": True}  # fmt: skip
    foreign_secret(world, metadata={"name": "app-secret", "namespace": NS, "ownerReferences": [owner]})
    world.add_es(es_body())
    world.run()
    assert world.ready()["message"] == "target is owned by another ExternalSecret"
    assert data(world) == {"theirs": b"keep"}


def test_owner_takes_over_an_unowned_secret_and_rebuilds_its_data(world: World) -> None:
    foreign_secret(world)
    world.add_es(es_body())
    world.run()
    assert data(world) == {"password": b"p1"}
    assert "patch_secret" in world.cluster.calls  # the managed label went on first


@pytest.mark.parametrize(("policy", "kept"), [("Delete", False), ("Retain", True)])
def test_deleting_the_external_secret(world: World, policy: str, kept: bool) -> None:
    world.add_es(es_body(target={"name": "app-secret", "deletionPolicy": policy}))
    world.run()
    es = world.es()
    es["metadata"]["deletionTimestamp"] = "2026-05-01T13:00:00Z"
    world.cluster.put("externalsecrets", es)
    world.run()
    assert (world.secret() is not None) is kept
    assert world.cluster.obj("externalsecrets", NS, "app") is None  # finalizer removed, object gone
    assert FINALIZER in es["metadata"]["finalizers"]


def test_a_renamed_target_deletes_the_orphan(world: World) -> None:
    world.add_es(es_body())
    world.run()
    world.edit_es(target={"name": "renamed"})
    world.run()
    assert world.secret("app-secret") is None and world.secret("renamed") is not None
    assert ("app", "Normal", "Deleted", "secret deleted because it was orphaned") in world.cluster.events
    lists = world.cluster.calls.count("list_secrets")
    world.clock.advance(hours=2)
    world.run()
    assert world.cluster.calls.count("list_secrets") == lists  # only when the target name changed


def test_a_template_shapes_the_secret(world: World) -> None:
    template = {"type": "kubernetes.io/basic-auth", "data": {"url": "https://{{ .password }}@db"},
                "metadata": {"labels": {"app": "db"}}}  # fmt: skip
    world.add_es(es_body(target={"name": "app-secret", "template": template}))
    world.run()
    secret = world.secret()
    assert secret is not None
    assert data(world) == {"url": b"https://p1@db"}
    assert secret["type"] == "kubernetes.io/basic-auth" and secret["metadata"]["labels"]["app"] == "db"
