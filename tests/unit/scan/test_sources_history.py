"""--history: every commit's added lines, each secret once with the commit that introduced it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.errors import UsageError
from gitsecure.scan.sources.history import scan_history
from tests.support.gitrepo import GitRepo, git_environment
from tests.support.scan_standin import MarkerScanner


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for key, value in git_environment(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    return GitRepo(tmp_path / "repo", home=tmp_path / "home")


def history(repo: Path, **kw: object) -> list[tuple[str, int, str, str | None]]:
    found = scan_history(MarkerScanner(), repo=repo, **kw)  # type: ignore[arg-type]
    return [(f.path, f.line, f.secret, f.commit) for f in found]


def test_each_secret_once_with_the_commit_that_introduced_it(repo: GitRepo) -> None:
    repo.write("a.txt", "x\nSECRET_MARKER_1\n")
    first = repo.commit("add")
    repo.write("a.txt", "y\nx\nSECRET_MARKER_1\n")  # moves down a line: not new
    repo.write("b.txt", "SECRET_MARKER_1\n")  # copied: same secret, still reported once
    repo.commit("move")
    repo.git("mv", "a.txt", "renamed.txt")
    repo.commit("rename")
    repo.write("c.txt", "one\ntwo\nSECRET_MARKER_2\n")
    third = repo.commit("more")
    repo.write("c.txt", "one\ntwo\n")
    repo.commit("remove it again")  # removal does not hide it from history
    assert history(repo.path) == [("a.txt", 2, "SECRET_MARKER_1", first), ("c.txt", 3, "SECRET_MARKER_2", third)]


def test_since_all_refs_and_ranges(repo: GitRepo) -> None:
    repo.write("a.txt", "SECRET_MARKER_1\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("f.txt", "SECRET_MARKER_2\n")
    feature = repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("m.txt", "SECRET_MARKER_3\n")
    head = repo.commit("main")
    assert [s for _, _, s, _ in history(repo.path)] == ["SECRET_MARKER_1", "SECRET_MARKER_3"]
    assert [s for _, _, s, _ in history(repo.path, since=base)] == ["SECRET_MARKER_3"]
    assert sorted(s for _, _, s, _ in history(repo.path, since=base, all_refs=True)) == [
        "SECRET_MARKER_2",
        "SECRET_MARKER_3",
    ]
    assert [s for _, _, s, _ in history(repo.path, since=f"{base}..{feature}")] == ["SECRET_MARKER_2"]
    assert [s for _, _, s, _ in history(repo.path, since=f"..{feature}")] == ["SECRET_MARKER_1", "SECRET_MARKER_2"]
    assert history(repo.path, since=head) == []


def test_bad_revision_and_not_a_repository(repo: GitRepo, tmp_path: Path) -> None:
    assert history(repo.path) == []  # no commit yet
    repo.write("a.txt", "x\n")
    repo.commit()
    with pytest.raises(UsageError, match="unknown revision 'nope'"):
        history(repo.path, since="nope")
    with pytest.raises(UsageError, match="unknown revision"):
        history(repo.path, since="--all")
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(UsageError, match="not inside a git repository"):
        history(outside)


def test_binary_merge_mode_and_quoted_paths(repo: GitRepo) -> None:
    repo.write("tab\tname.txt", "SECRET_MARKER_1\n")
    repo.write("data.bin", b"\x00SECRET_MARKER_2")
    repo.write("run.sh", "echo\n")
    repo.commit()
    (repo.path / "run.sh").chmod(0o755)  # a mode change adds no line
    repo.commit("chmod")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("side.txt", "SECRET_MARKER_3\n")
    side = repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "x\n")
    repo.commit("main")
    repo.git("merge", "-q", "--no-edit", "side")
    found = history(repo.path)
    assert [(p, s) for p, _, s, _ in found] == [("tab\tname.txt", "SECRET_MARKER_1"), ("side.txt", "SECRET_MARKER_3")]
    assert found[1][3] == side  # the branch commit, not the merge


def test_structured_files_are_scanned_whole_and_kept_on_added_lines(repo: GitRepo) -> None:
    repo.write("secret.yaml", "PAIR_BEGIN\nold\nPAIR_END\nSECRET_MARKER_1\n")
    repo.commit()
    repo.write("secret.yaml", "PAIR_BEGIN\nnew\nPAIR_END\nSECRET_MARKER_1\n")
    second = repo.commit("edit")
    scanner = MarkerScanner()
    found = list(scan_history(scanner, repo=repo.path, since="HEAD~1"))
    assert [(f.rule_id, f.line, f.commit) for f in found] == [("pair", 1, second)]
    assert scanner.fragments[-1].line_numbers is None and scanner.fragments[-1].blob is not None


def test_stopping_early_ends_git(repo: GitRepo) -> None:
    for i in range(30):
        repo.write(f"f{i}.txt", f"SECRET_MARKER_{i}\n")
        repo.commit(f"c{i}")
    found = scan_history(MarkerScanner(), repo=repo.path)
    assert next(found).secret == "SECRET_MARKER_0"
    found.close()  # must not hang or leak the reader thread
