"""ESO's hashes reproduced byte for byte (values checked against a Go program, reference §3.5)."""

from __future__ import annotations

from gitsecure.controller.external.hashing import object_hash_bytes_map, object_hash_str, synced_resource_version


def test_data_hash_matches_eso() -> None:
    assert (
        object_hash_bytes_map({"username": b"u2", "password": b"p2"})
        == "f890ff3327c48a18302e739e9da0220b2bd8bf750cb9cb71572c043e"
    )


def test_created_by_matches_eso() -> None:
    assert object_hash_str("default/my-es") == "b8464376b5fe3535e690594280bfe59b60be2603cb6cbb6d6c8bcbb4"


def test_data_hash_depends_on_every_byte_and_key() -> None:
    base = object_hash_bytes_map({"a": b"1"})
    assert base != object_hash_bytes_map({"a": b"2"})
    assert base != object_hash_bytes_map({"b": b"1"})
    assert object_hash_bytes_map({}) != object_hash_bytes_map({"a": b""})


def test_synced_resource_version_changes_with_generation_labels_annotations() -> None:
    base = synced_resource_version(3, {}, {"force-sync": "1"})
    assert base.startswith("3-")
    assert base == synced_resource_version(3, {}, {"force-sync": "1"})
    assert base != synced_resource_version(3, {}, {"force-sync": "2"})
    assert base != synced_resource_version(3, {"force-sync": "1"}, {})
    assert base.split("-", 1)[1] == synced_resource_version(4, {}, {"force-sync": "1"}).split("-", 1)[1]
