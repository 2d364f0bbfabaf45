"""The verification cache: keyed by (oid, policy hash), atomic, bounded, and distrustful of its own files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitsecure.verify.cache import VerifyCache, default_cache_dir
from gitsecure.verify.verdict import CommitCheck

H1 = "sha256:" + "1" * 64
H2 = "sha256:" + "2" * 64
OID = "a" * 40
OID256 = "b" * 64
RESULT = CommitCheck(OID, "commit", signer="alice", key="SHA256:abc", format="ssh").to_dict()


def test_round_trip_across_instances(tmp_path: Path) -> None:
    with VerifyCache(tmp_path / "c") as cache:
        cache.put(OID, H1, RESULT)
        cache.put(OID256, H1, {"problems": ["unsigned"]})
        assert cache.get(OID, H1) == RESULT  # visible before saving
    again = VerifyCache(tmp_path / "c")
    assert again.get(OID, H1) == RESULT
    assert again.get(OID256, H1) == {"problems": ["unsigned"]}
    assert CommitCheck.from_dict(again.get(OID, H1) or {}) == CommitCheck.from_dict(RESULT)
    directory = tmp_path / "c"
    assert directory.stat().st_mode & 0o777 == 0o700
    (file,) = directory.iterdir()
    assert file.name == "1" * 64 + ".json" and file.stat().st_mode & 0o777 == 0o600


def test_never_trusted_across_policy_hashes(tmp_path: Path) -> None:
    with VerifyCache(tmp_path) as cache:
        cache.put(OID, H1, RESULT)
    assert VerifyCache(tmp_path).get(OID, H2) is None
    # A file copied under another hash's name is not believed either: its content names H1.
    (tmp_path / ("2" * 64 + ".json")).write_bytes((tmp_path / ("1" * 64 + ".json")).read_bytes())
    os.chmod(tmp_path / ("2" * 64 + ".json"), 0o600)
    assert VerifyCache(tmp_path).get(OID, H2) is None


def test_returned_results_are_copies(tmp_path: Path) -> None:
    cache = VerifyCache(tmp_path)
    cache.put(OID, H1, RESULT)
    got = cache.get(OID, H1)
    assert got is not None
    got["problems"].append("tampered")
    assert cache.get(OID, H1) == RESULT


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"format": "other", "version": 1, "policy_hash": "H", "results": {}}',
        json.dumps({"format": "gitsecure-verify-cache", "version": 2, "policy_hash": H1, "results": {}}).encode(),
        json.dumps({"format": "gitsecure-verify-cache", "version": 1, "policy_hash": H1, "results": []}).encode(),
        b"[" * 100_000,
    ],
)
def test_corrupt_file_is_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / ("1" * 64 + ".json")
    path.write_bytes(content)
    os.chmod(path, 0o600)
    cache = VerifyCache(tmp_path)
    assert cache.get(OID, H1) is None
    cache.put(OID, H1, RESULT)  # and it is replaced by a good one on save
    cache.save()
    assert VerifyCache(tmp_path).get(OID, H1) == RESULT


def test_malformed_entries_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / ("1" * 64 + ".json")
    results = {OID: RESULT, "NOT-AN-OID": RESULT, OID256: "trusted"}
    path.write_text(
        json.dumps({"format": "gitsecure-verify-cache", "version": 1, "policy_hash": H1, "results": results})
    )
    os.chmod(path, 0o600)
    cache = VerifyCache(tmp_path)
    assert cache.get(OID, H1) == RESULT
    assert cache.get(OID256, H1) is None


def test_group_writable_file_is_ignored(tmp_path: Path) -> None:
    with VerifyCache(tmp_path) as cache:
        cache.put(OID, H1, RESULT)
    path = tmp_path / ("1" * 64 + ".json")
    os.chmod(path, 0o660)
    assert VerifyCache(tmp_path).get(OID, H1) is None


def test_bounded_entries_and_files(tmp_path: Path) -> None:
    with VerifyCache(tmp_path, max_entries=3, max_files=2) as cache:
        for index in range(5):
            cache.put(f"{index:040x}", H1, {"n": index})
    cache = VerifyCache(tmp_path, max_entries=3, max_files=2)
    assert [cache.get(f"{index:040x}", H1) for index in range(5)] == [None, None, {"n": 2}, {"n": 3}, {"n": 4}]
    for digit in "345":
        with VerifyCache(tmp_path, max_files=2) as other:
            other.put(OID, "sha256:" + digit * 64, RESULT)
    assert sorted(path.name[0] for path in tmp_path.iterdir()) == ["4", "5"]


def test_save_merges_with_concurrent_writer(tmp_path: Path) -> None:
    first, second = VerifyCache(tmp_path), VerifyCache(tmp_path)
    first.put(OID, H1, {"from": "first"})
    second.put(OID256, H1, {"from": "second"})
    first.save()
    second.save()
    fresh = VerifyCache(tmp_path)
    assert fresh.get(OID, H1) == {"from": "first"}
    assert fresh.get(OID256, H1) == {"from": "second"}


def test_unwritable_directory_costs_time_not_a_verdict(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = VerifyCache(blocker / "cache")
    cache.put(OID, H1, RESULT)
    cache.save()  # no exception
    assert "verify cache not saved" in caplog.text
    assert VerifyCache(blocker / "cache").get(OID, H1) is None


def test_bad_keys_and_values_are_caller_bugs(tmp_path: Path) -> None:
    cache = VerifyCache(tmp_path)
    with pytest.raises(ValueError, match="oid"):
        cache.get("HEAD", H1)
    with pytest.raises(ValueError, match="policy_hash"):
        cache.put(OID, "sha1:" + "0" * 40, RESULT)
    with pytest.raises(TypeError):
        cache.put(OID, H1, {"when": object()})


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "gitsecure" / "verify"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "gitsecure" / "verify"
