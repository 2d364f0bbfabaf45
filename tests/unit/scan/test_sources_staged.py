"""--staged: only lines the index adds, line numbers of the staged file, blobs straight from git."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.errors import UsageError
from gitsecure.scan.sources.staged import scan_staged
from tests.support.gitrepo import GitRepo, git_environment
from tests.support.scan_standin import MarkerScanner


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for key, value in git_environment(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    return GitRepo(tmp_path / "repo", home=tmp_path / "home")


def staged(repo: Path, scanner: MarkerScanner | None = None) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.secret) for f in scan_staged(scanner or MarkerScanner(), repo=repo)]


def test_initial_commit_without_head(repo: GitRepo) -> None:
    repo.write("a.txt", "clean\nSECRET_MARKER_1\n")
    repo.git("add", "a.txt")
    assert staged(repo.path) == [("a.txt", 2, "SECRET_MARKER_1")]


def test_only_added_lines_of_the_index_count(repo: GitRepo) -> None:
    repo.write("a.txt", "SECRET_MARKER_1\nkeep\n")
    repo.commit()
    repo.write("a.txt", "SECRET_MARKER_1\nkeep\nnew SECRET_MARKER_2\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", "SECRET_MARKER_1\nkeep\nnew SECRET_MARKER_2\nunstaged SECRET_MARKER_3\n")
    repo.write("untracked.txt", "SECRET_MARKER_4\n")
    assert staged(repo.path) == [("a.txt", 3, "SECRET_MARKER_2")]


def test_whole_blob_context_keeps_multiline_findings_touching_added_lines(repo: GitRepo) -> None:
    repo.write("key.pem", "PAIR_BEGIN\nold\nPAIR_END\n")
    repo.commit()
    repo.write("key.pem", "PAIR_BEGIN\nchanged\nPAIR_END\n")
    repo.git("add", "key.pem")
    scanner = MarkerScanner()
    assert [(f.rule_id, f.line, f.end_line) for f in scan_staged(scanner, repo=repo.path)] == [("pair", 1, 3)]
    assert scanner.fragments[0].blob is not None and scanner.fragments[0].line_numbers is None


def test_renames_deletions_binaries_and_subdirectories(repo: GitRepo) -> None:
    repo.write("old/name.txt", "SECRET_MARKER_1\n" + "same\n" * 20)
    repo.write("gone.txt", "SECRET_MARKER_2\n")
    repo.commit()
    (repo.path / "new").mkdir()
    repo.git("mv", "old/name.txt", "new/name.txt")
    repo.git("rm", "-q", "gone.txt")
    repo.write("blob.bin", b"\x00SECRET_MARKER_3\n")
    repo.write("sp ace/é.txt", "SECRET_MARKER_4\n")
    repo.git("add", "-A")
    sub = repo.path / "new"
    assert staged(sub) == [("sp ace/é.txt", 1, "SECRET_MARKER_4")]


def test_commit_all_uses_the_index_git_names(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("a.txt", "one\n")
    repo.commit()
    repo.write("a.txt", "one\nSECRET_MARKER_5\n")
    # `git commit -a` stages into a temporary index and names it in GIT_INDEX_FILE.
    index = repo.path / ".git" / "next-index.lock"
    monkeypatch.setenv("GIT_INDEX_FILE", str(index))
    repo.git("read-tree", "HEAD")
    repo.env["GIT_INDEX_FILE"] = str(index)
    repo.git("add", "a.txt")
    assert staged(repo.path) == [("a.txt", 2, "SECRET_MARKER_5")]


def test_path_allowlist_and_nothing_staged(repo: GitRepo) -> None:
    repo.write("vendor/a.txt", "SECRET_MARKER_1\n")
    repo.git("add", "-A")
    assert staged(repo.path, MarkerScanner(denied_paths=("vendor/",))) == []
    repo.commit()
    assert staged(repo.path) == []


def test_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        list(scan_staged(MarkerScanner(), repo=tmp_path))
