"""--staged: only lines the index adds, line numbers of the staged file, blobs straight from git."""

from __future__ import annotations

import base64
import random
import textwrap
from pathlib import Path

import pytest

from gitsecure.errors import UsageError
from gitsecure.scan.engine import Engine
from gitsecure.scan.sources.staged import CONTEXT_LINES, scan_staged
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


def test_context_lines_keep_multiline_findings_touching_added_lines(repo: GitRepo) -> None:
    repo.write("key.pem", "PAIR_BEGIN\nold\nPAIR_END\n")
    repo.commit()
    repo.write("key.pem", "PAIR_BEGIN\nchanged\nPAIR_END\n")
    repo.git("add", "key.pem")
    scanner = MarkerScanner()
    assert [(f.rule_id, f.line, f.end_line) for f in scan_staged(scanner, repo=repo.path)] == [("pair", 1, 3)]
    assert scanner.fragments[0].blob is not None and list(scanner.fragments[0].line_numbers or ()) == [1, 2, 3]


def test_a_source_file_is_scanned_as_windows_around_its_added_blocks(repo: GitRepo) -> None:
    old = [f"line {n}\n" for n in range(1, 101)]
    repo.write("app.py", "".join(old))
    repo.commit()
    new = list(old)
    new[49:49] = ["SECRET_MARKER_1\n"]  # line 50
    new[89:89] = ["SECRET_MARKER_2\n"]  # line 90
    repo.write("app.py", "".join(new))
    repo.git("add", "app.py")
    scanner = MarkerScanner()
    assert staged(repo.path, scanner) == [("app.py", 50, "SECRET_MARKER_1"), ("app.py", 90, "SECRET_MARKER_2")]
    (fragment,) = scanner.fragments
    wanted = [*range(50 - CONTEXT_LINES, 51 + CONTEXT_LINES), *range(90 - CONTEXT_LINES, 91 + CONTEXT_LINES)]
    assert list(fragment.line_numbers or ()) == wanted
    assert fragment.data.splitlines() == [new[n - 1].rstrip("\n").encode() for n in wanted]


def test_a_manifest_is_still_scanned_whole(repo: GitRepo) -> None:
    repo.write("deploy/db.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  a: b\n")
    repo.commit()
    repo.write("deploy/db.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  a: b\n  c: d\n")
    repo.git("add", "-A")
    scanner = MarkerScanner()
    assert staged(repo.path, scanner) == []
    assert scanner.fragments[0].line_numbers is None and scanner.fragments[0].data.startswith(b"apiVersion")


# A private key as a real one looks: random base64 in 64-column lines.
_BEGIN, _END = "-----BEGIN " + "RSA PRIVATE KEY-----", "-----END " + "RSA PRIVATE KEY-----"
_BODY = textwrap.wrap(base64.b64encode(random.Random(11).randbytes(1190)).decode(), 64)
_CODE = [f"value_{n} = compute({n})  # some code\n" for n in range(200)]


def _key(indent: str = "") -> list[str]:
    return [f"{indent}{line}\n" for line in (_BEGIN, *_BODY, _END)]


def _rules(repo: GitRepo) -> list[tuple[str, int, int]]:
    return [(f.rule_id, f.line, f.end_line) for f in scan_staged(Engine.default(), repo=repo.path)]


def test_a_private_key_added_amid_unchanged_lines_is_found(repo: GitRepo) -> None:
    repo.write("app/keys.py", "".join(_CODE))
    repo.commit()
    repo.write("app/keys.py", "".join([*_CODE[:120], 'KEY = """\n', *_key(), '"""\n', *_CODE[120:]]))
    repo.git("add", "-A")
    assert _rules(repo) == [("private-key-rsa", 122, 122 + len(_BODY) + 1)]


def test_a_private_key_whose_begin_and_end_lines_are_unchanged_is_found(repo: GitRepo) -> None:
    # Only one body line in the middle of the key changes: the window grows through the body.
    key = _key("    ")
    repo.write("conf/app.yml", "".join([*_CODE[:50], "tls:\n", "  key: |\n", *key, *_CODE[50:]]))
    repo.commit()
    middle = 52 + len(key) // 2
    changed = [*_CODE[:50], "tls:\n", "  key: |\n", *key, *_CODE[50:]]
    changed[middle] = "    " + "Q" * 64 + "\n"
    repo.write("conf/app.yml", "".join(changed))
    repo.git("add", "-A")
    assert _rules(repo) == [("private-key-rsa", 53, 53 + len(_BODY) + 1)]


def test_an_unchanged_nextline_pragma_above_an_added_secret_still_applies(repo: GitRepo) -> None:
    pragma = "# pragma: allowlist nextline secret\n"
    added = "AWS_ACCESS_KEY_ID = 'AKIAZ7Q3RXW5KJ4M2VTN'\n"
    repo.write("ci.py", "".join([*_CODE[:30], pragma, *_CODE[30:]]))
    repo.commit()
    repo.write("ci.py", "".join([*_CODE[:30], pragma, *_CODE[30:40], added, *_CODE[40:]]))
    repo.git("add", "-A")
    assert [line for _, line, _ in _rules(repo)] == [42]  # the control: found away from the pragma
    repo.write("ci.py", "".join([*_CODE[:30], pragma, added, *_CODE[30:]]))
    repo.git("add", "-A")
    assert _rules(repo) == []


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
