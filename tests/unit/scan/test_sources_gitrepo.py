"""git plumbing used by the sources: path unquoting, the cat-file reader, repository checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.errors import UsageError
from gitsecure.scan.sources.gitrepo import (
    BlobReader,
    require_repository,
    require_toplevel,
    resolve_commit,
    unquote_path,
)
from tests.support.gitrepo import GitRepo, git_environment


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for key, value in git_environment(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    return GitRepo(tmp_path / "repo", home=tmp_path / "home")


@pytest.mark.parametrize(
    ("quoted", "plain"),
    [
        (b"plain/path.txt", b"plain/path.txt"),
        (b'"tab\\there"', b"tab\there"),
        (b'"quote\\"and\\\\slash"', b'quote"and\\slash'),
        (b'"caf\\303\\251"', "café".encode()),
        (b'"new\\nline"', b"new\nline"),
    ],
)
def test_unquote_path(quoted: bytes, plain: bytes) -> None:
    assert unquote_path(quoted) == plain


def test_blob_reader_reads_blobs_and_refuses_big_or_missing(repo: GitRepo) -> None:
    repo.write("a.txt", "hello\n")
    repo.write("big.txt", "x" * 5000)
    repo.commit()
    small = repo.git("rev-parse", "HEAD:a.txt").stdout.decode().strip()
    big = repo.git("rev-parse", "HEAD:big.txt").stdout.decode().strip()
    with BlobReader(repo.path) as blobs:
        assert blobs.read(small, limit=100) == b"hello\n"
        assert blobs.read(big, limit=100) is None  # drained, not loaded
        assert blobs.read("0" * 40, limit=100) is None
        assert blobs.read(small, limit=100) == b"hello\n"  # the stream is still in step


def test_repository_checks(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(UsageError, match="not inside a git"):
        require_toplevel(outside)
    with pytest.raises(UsageError, match="not inside a git"):
        require_repository(outside)
    sub = repo.path / "sub"
    sub.mkdir()
    assert require_toplevel(sub).resolve() == repo.path.resolve()
    assert resolve_commit(repo.path, "HEAD") is None  # unborn
    commit = repo.commit("first")
    assert resolve_commit(repo.path, "HEAD") == commit
    assert resolve_commit(repo.path, "--output=/tmp/x") is None  # never an option
    assert resolve_commit(repo.path, "no-such-branch") is None
