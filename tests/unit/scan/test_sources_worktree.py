"""Files and directories: .gitignore, explicit files, binaries, limits, symlinks, streaming."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from gitsecure.scan.sources.chunked import scan_stream
from gitsecure.scan.sources.stdin import scan_stdin
from gitsecure.scan.sources.worktree import scan_paths
from tests.support.gitrepo import GitRepo, git_environment
from tests.support.scan_standin import MarkerScanner


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for key, value in git_environment(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    return GitRepo(tmp_path / "repo", home=tmp_path / "home")


def scan(paths: list[Path], root: Path, *, limit: int = 1 << 20, scanner: MarkerScanner | None = None, **kw: bool):
    skipped: dict[str, str] = {}
    found = list(
        scan_paths(
            scanner or MarkerScanner(),
            paths,
            root=root,
            max_file_size=limit,
            on_skip=skipped.__setitem__,
            **kw,
        )
    )
    return found, skipped


def test_repository_respects_gitignore_and_scans_untracked(repo: GitRepo) -> None:
    repo.write(".gitignore", "ignored.txt\nbuild/\n")
    repo.write("tracked.txt", "SECRET_MARKER_1\n")
    repo.commit()
    repo.write("untracked.txt", "x\nSECRET_MARKER_2\n")
    repo.write("ignored.txt", "SECRET_MARKER_3\n")
    repo.write("build/out.txt", "SECRET_MARKER_4\n")
    found, _ = scan([repo.path], repo.path)
    assert sorted((f.path, f.line, f.secret) for f in found) == [
        ("tracked.txt", 1, "SECRET_MARKER_1"),
        ("untracked.txt", 2, "SECRET_MARKER_2"),
    ]


def test_explicit_ignored_file_is_scanned_and_outside_root_works(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(".gitignore", "ignored.txt\n")
    ignored = repo.write("ignored.txt", "SECRET_MARKER_3\n")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("SECRET_MARKER_9\n")
    found, _ = scan([ignored, elsewhere], repo.path)
    assert [(f.path, f.secret) for f in found] == [
        ("ignored.txt", "SECRET_MARKER_3"),
        (elsewhere.as_posix(), "SECRET_MARKER_9"),
    ]


def test_subdirectory_paths_stay_relative_to_root(repo: GitRepo) -> None:
    repo.write("deploy/app/values.yaml", "a: SECRET_MARKER_5\n")
    repo.write("other.txt", "SECRET_MARKER_6\n")
    found, _ = scan([repo.path / "deploy"], repo.path)
    assert [f.path for f in found] == ["deploy/app/values.yaml"]


def test_outside_a_repository_walks_and_skips_dot_git(tmp_path: Path) -> None:
    (tmp_path / "d" / ".git").mkdir(parents=True)
    (tmp_path / "d" / ".git" / "config").write_text("SECRET_MARKER_1\n")
    (tmp_path / "d" / "a.txt").write_text("SECRET_MARKER_2\n")
    found, _ = scan([tmp_path / "d"], tmp_path / "d")
    assert [(f.path, f.secret) for f in found] == [("a.txt", "SECRET_MARKER_2")]


def test_skips_are_reported_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "bin.dat").write_bytes(b"SECRET_MARKER_1\x00\x01")
    (tmp_path / "logo.png").write_bytes(b"SECRET_MARKER_2")
    (tmp_path / "big.txt").write_text("SECRET_MARKER_3\n" + "x" * 200)
    (tmp_path / "real.txt").write_text("SECRET_MARKER_4\n")
    os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
    locked = tmp_path / "locked.txt"
    locked.write_text("SECRET_MARKER_5\n")
    locked.chmod(0)
    found, skipped = scan([tmp_path], tmp_path, limit=100)
    assert sorted(f.path for f in found) == (["locked.txt"] if os.access(locked, os.R_OK) else []) + ["real.txt"]
    assert skipped["bin.dat"].startswith("binary")
    assert skipped["logo.png"].startswith("binary")
    assert skipped["big.txt"].startswith("too large")
    assert skipped["link.txt"].startswith("symlink")
    if not os.access(locked, os.R_OK):  # root reads anything
        assert skipped["locked.txt"].startswith("unreadable")
    missing, skipped = scan([tmp_path / "nope.txt"], tmp_path)
    assert missing == [] and skipped[str(tmp_path / "nope.txt")].startswith("not found")


def test_follow_symlinks_scans_targets_and_survives_loops(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text("SECRET_MARKER_1\n")
    os.symlink(tmp_path / "real", tmp_path / "real" / "loop")
    os.symlink(tmp_path / "real" / "a.txt", tmp_path / "link.txt")
    found, _ = scan([tmp_path], tmp_path, follow_symlinks=True)
    assert {f.path for f in found} >= {"real/a.txt", "link.txt"}


def test_path_allowlist_is_applied(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "a.txt").write_text("SECRET_MARKER_1\n")
    (tmp_path / "b.txt").write_text("SECRET_MARKER_2\n")
    found, _ = scan([tmp_path], tmp_path, scanner=MarkerScanner(denied_paths=("vendor/",)))
    assert [f.path for f in found] == ["b.txt"]


def test_stream_finds_secrets_across_chunk_borders_exactly_once() -> None:
    lines = [b"filler line %d with some text" % i for i in range(3000)]
    lines[1000] = b"x SECRET_MARKER_1000"
    lines[1001] = b"PAIR_BEGIN"  # a two-line secret
    lines[1002] = b"middle"
    lines[1003] = b"PAIR_END"
    lines[2999] = b"last SECRET_MARKER_2999"
    data = b"\n".join(lines)
    expected = [("marker", 1001, 3), ("pair", 1002, 1), ("marker", 3000, 6)]
    for chunk_size in (4096, 4099, 8192, 40000, 1 << 20):  # borders falling everywhere around the secrets
        scanner = MarkerScanner()
        found = list(scan_stream(scanner, io.BytesIO(data), path="big", chunk_size=chunk_size, overlap=1024))
        assert [(f.rule_id, f.line, f.column) for f in found] == expected, chunk_size
        assert max(len(fragment.data) for fragment in scanner.fragments) <= chunk_size
    pair = next(f for f in found if f.rule_id == "pair")
    assert pair.end_line == 1004


def test_stream_without_newlines_terminates() -> None:
    data = b"a" * 50000 + b"SECRET_MARKER_7" + b"b" * 50000
    found = list(scan_stream(MarkerScanner(), io.BytesIO(data), path="one-line", chunk_size=8192, overlap=1024))
    assert [f.secret for f in found] == ["SECRET_MARKER_7"]


def test_big_file_is_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitsecure.scan.sources.worktree.WHOLE_LIMIT", 10000)
    monkeypatch.setattr("gitsecure.scan.sources.chunked.CHUNK_SIZE", 8192)
    monkeypatch.setattr("gitsecure.scan.sources.chunked.OVERLAP", 1024)
    target = tmp_path / "big.log"
    target.write_bytes(b"line\n" * 5000 + b"SECRET_MARKER_1\n" + b"line\n" * 5000)
    scanner = MarkerScanner()
    found, _ = scan([target], tmp_path, scanner=scanner)
    assert [(f.line, f.secret) for f in found] == [(5001, "SECRET_MARKER_1")]
    assert len(scanner.fragments) > 3


def test_stdin_is_scanned_as_a_stream() -> None:
    found = list(scan_stdin(MarkerScanner(), io.BytesIO(b"a\nSECRET_MARKER_8\n\x00binary is scanned too\n")))
    assert [(f.path, f.line) for f in found] == [("-", 2)]
