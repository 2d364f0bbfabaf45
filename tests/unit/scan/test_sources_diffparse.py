"""The -U0 diff parser: added lines, their numbers, paths, blobs, skipped entries."""

from __future__ import annotations

from gitsecure.scan.sources.diffparse import DiffParser, boundary

LOG = (
    b"\x00" + b"a" * 40 + b"\n\n"
    b"diff --git a/app.py b/app.py\n"
    b"index 1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 100644\n"
    b"--- a/app.py\n+++ b/app.py\n"
    b"@@ -3 +3 @@ def f():\n-old\n+new line 3\n"
    b"@@ -10,0 +11,2 @@\n++++ not a header\n+diff --git x\n"
    b"\\ No newline at end of file\n"
    b"diff --git a/img.png b/img.png\nnew file mode 100644\n"
    b"index 0000000000000000000000000000000000000000..3333333333333333333333333333333333333333\n"
    b"Binary files /dev/null and b/img.png differ\n"
    b"diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n"
    b"index 4444444444444444444444444444444444444444..0000000000000000000000000000000000000000\n"
    b"--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    b"diff --git a/sub b/sub\nnew file mode 160000\n"
    b"index 0000000000000000000000000000000000000000..5555555555555555555555555555555555555555\n"
    b"--- /dev/null\n+++ b/sub\n@@ -0,0 +1 @@\n+Subproject commit 5555555555555555555555555555555555555555\n"
    b"\x00" + b"b" * 40 + b"\n\n"
    b'diff --git "a/t\\tb" "b/t\\tb"\nnew file mode 100644\n'
    b"index 0000000000000000000000000000000000000000..6666666666666666666666666666666666666666\n"
    b'--- /dev/null\n+++ "b/t\\tb"\n@@ -0,0 +1,2 @@\n+one\n+two\n'
)


def test_parses_added_lines_with_numbers() -> None:
    parser = DiffParser()
    diffs = [*parser.feed(LOG), *parser.close()]
    assert [d.path for d in diffs] == ["app.py", "t\tb"]
    first, second = diffs
    assert first.added == b"new line 3\n+++ not a header\ndiff --git x\n"
    assert list(first.line_numbers) == [3, 11, 12]
    assert first.blob == "2" * 40
    assert first.commit == "a" * 40
    assert second.added == b"one\ntwo\n"
    assert list(second.line_numbers) == [1, 2]
    assert second.commit == "b" * 40
    assert parser.commits == 2


def test_path_filter_and_piecewise_feeding() -> None:
    parser = DiffParser(path_allowed=lambda path: path != "app.py")
    cut = boundary(LOG)
    assert LOG[cut:].startswith(b'diff --git "a/t')
    pieces = [LOG[:cut], LOG[cut:]]
    diffs = [d for piece in pieces for d in parser.feed(piece)] + list(parser.close())
    assert [d.path for d in diffs] == ["t\tb"]
