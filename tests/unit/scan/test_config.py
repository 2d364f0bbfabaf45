"""Config loading: .gitsecure.toml, [tool.gitsecure], gitleaks files, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.errors import InputError
from gitsecure.scan.config import load_config, parse_size

CUSTOM = """
extend_default = false
max_file_size = "2MiB"
decode_depth = 0

[allowlist]
paths = ['''(^|/)testdata/''']
values = ['''^dummy''']
stopwords = ["NotASecret"]

[[rules]]
id = "acme-key"
description = "ACME key"
regex = '''\\b(acme_[a-z0-9]{32})\\b'''
keywords = ["ACME_"]
secret_group = 1

[entropy]
acme-key = 2.5
"""


def test_gitsecure_toml(tmp_path: Path) -> None:
    (tmp_path / ".gitsecure.toml").write_text(CUSTOM)
    rules, settings = load_config(tmp_path)
    assert [rule.id for rule in rules] == ["acme-key"]
    assert rules[0].keywords == ("acme_",)
    assert settings.max_file_size == 2 * 1024 * 1024
    assert settings.decode_depth == 0
    assert settings.allow_paths == ("(^|/)testdata/",)
    assert settings.stopwords == ("notasecret",)
    assert settings.entropy["acme-key"] == 2.5


def test_pyproject_table(tmp_path: Path) -> None:
    body = CUSTOM.replace("[allowlist]", "[tool.gitsecure.allowlist]").replace("[[rules]]", "[[tool.gitsecure.rules]]")
    body = body.replace("[entropy]", "[tool.gitsecure.entropy]")
    head, _, rest = body.partition("[tool.gitsecure.allowlist]")
    (tmp_path / "pyproject.toml").write_text("[tool.gitsecure]\n" + head + "[tool.gitsecure.allowlist]" + rest)
    rules, settings = load_config(tmp_path)
    assert [rule.id for rule in rules] == ["acme-key"]
    assert settings.decode_depth == 0


def test_gitleaks_file_picked_up_with_gitleaks_semantics(tmp_path: Path) -> None:
    (tmp_path / ".gitleaks.toml").write_text(
        "[[rules]]\nid = 'x-token'\nregex = '''x_[0-9]{10}'''\nkeywords = ['x_']\n"
        "[[rules.allowlists]]\nregexes = ['''0000''']\n"
    )
    rules, settings = load_config(tmp_path)
    assert [rule.id for rule in rules] == ["x-token"]
    assert settings.allowlists[0].target_rules == ("x-token",)


def test_no_config_means_defaults(tmp_path: Path) -> None:
    rules, settings = load_config(tmp_path)
    assert len(rules) >= 150
    assert settings.decode_depth == 1


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("colour = 'blue'\n", "colour"),
        ("extend_default = false\ndecode_depth = 'one'\n", "decode_depth"),
        ("extend_default = false\nmax_file_size = '10 parsecs'\n", "max_file_size"),
        ("extend_default = false\n[allowlist]\npaths = ['(unclosed']\n", "allowlist.paths"),
        ("extend_default = false\n[[rules]]\nid = 'a'\nregex = '(x'\n", "regex"),
        ("extend_default = false\n[[rules]]\nid = 'a'\nregex = 'x'\nsecret_group = 2\n", "secret_group"),
        ("extend_default = false\n[[rules]]\nid = 'a'\nregex = 'x'\nvalidator = 'nope'\n", "validator"),
        ("extend_default = false\n[[rules]]\nid = 'a'\nregex = 'x'\ncolour = 1\n", "colour"),
        ("extend_default = false\n[entropy]\nnope = 3\n", "entropy.nope"),
    ],
)
def test_errors_name_file_and_key_on_one_line(tmp_path: Path, body: str, key: str) -> None:
    (tmp_path / ".gitsecure.toml").write_text(body)
    with pytest.raises(InputError) as caught:
        load_config(tmp_path)
    message = caught.value.message
    assert ".gitsecure.toml" in message
    assert key in message
    assert "\n" not in message


def test_explicit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path, tmp_path / "nope.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / ".gitsecure.toml").write_text("[[rules\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(tmp_path)


@pytest.mark.parametrize(("value", "size"), [(100, 100), ("10MiB", 10 << 20), ("1 KB", 1000), ("2gib", 2 << 30)])
def test_parse_size(value: int | str, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", [0, -1, "MiB", "ten", True])
def test_parse_size_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_size(value)  # type: ignore[arg-type]
