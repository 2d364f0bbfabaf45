"""Importing gitleaks TOML files as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.errors import InputError
from gitsecure.scan.engine import Engine
from gitsecure.scan.finding import Fragment
from gitsecure.scan.gitleaks_toml import load_gitleaks, parse_gitleaks
from gitsecure.scan.settings import ScanSettings

FILE = """
title = "team rules"

[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[allowlist]
description = "global"
paths = ['''(^|/)fixtures/''']

[[allowlists]]
targetRules = ["acme-key"]
regexTarget = "line"
regexes = ['''EXAMPLE''']

[[rules]]
id = "acme-key"
description = "ACME key"
regex = '''(?i)\\b(acme_[a-z0-9]{16})\\b'''
secretGroup = 1
entropy = 2.0
keywords = ["ACME_"]
tags = ["acme"]

  [[rules.allowlists]]
  condition = "AND"
  stopwords = ["0000"]
  paths = ['''test''']

[[rules]]
id = "pfx-file"
description = "PKCS#12 file"
path = '''(?i)\\.p(?:12|fx)$'''

[[rules]]
id = "aux"
regex = "aux_[0-9]+"
skipReport = true

[[rules]]
id = "aws-access-token"
[rules.allowlist]
regexes = ['''AKIAIOSFODNN7EXAMPLE''']
"""


def parse(text: str = FILE):
    import tomllib

    return parse_gitleaks(tomllib.loads(text), source=".gitleaks.toml")


def test_fields_map_to_rules_and_allowlists() -> None:
    config = parse()
    assert config.use_default
    assert "generic-api-key" in config.disabled_rules
    acme, pfx = config.rules
    assert (acme.id, acme.secret_group, acme.entropy, acme.keywords, acme.tags) == (
        "acme-key",
        1,
        2.0,
        ("acme_",),
        ("acme",),
    )
    assert pfx.regex == "" and pfx.path is not None
    assert config.extends == ("aws-access-token",)
    targets = [allowlist.target_rules for allowlist in config.allowlists]
    assert targets == [(), ("acme-key",), ("acme-key",), ("aws-access-token",)]
    assert config.allowlists[2].condition == "and"


def test_imported_rules_scan_as_gitleaks_would() -> None:
    config = parse()
    engine = Engine(config.rules, settings=ScanSettings(allowlists=config.allowlists, gitops=False))
    assert [f.rule_id for f in engine.scan(Fragment(b"k = acme_a1b2c3d4e5f6a7b8\n", "src/a.py"))] == ["acme-key"]
    assert engine.scan(Fragment(b"k = acme_a1b2c3d4e5f6a7b8 # EXAMPLE\n", "src/a.py")) == []
    # AND: both the stopword and the path must match.
    assert engine.scan(Fragment(b"k = acme_a1b2c3d4e5f60000\n", "test/a.py")) == []
    assert len(engine.scan(Fragment(b"k = acme_a1b2c3d4e5f60000\n", "src/a.py"))) == 1
    assert not engine.path_allowed("a/fixtures/x.py")
    [finding] = engine.scan(Fragment(b"\x00binary", "certs/client.pfx"))
    assert (finding.rule_id, finding.line) == ("pfx-file", 1)


def test_extend_path(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text("[[rules]]\nid = 'base-rule'\nregex = 'b_[0-9]{4}'\n")
    (tmp_path / "team.toml").write_text("[extend]\npath = 'base.toml'\n[[rules]]\nid = 'team-rule'\nregex = 't'\n")
    assert [rule.id for rule in load_gitleaks(tmp_path / "team.toml").rules] == ["base-rule", "team-rule"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[[rules]]\nid = 'a'\nregex = '(x'\n", "rules[0] (a).regex"),
        ("[[rules]]\nregex = 'x'\n", "rules[0].id"),
        ("[[rules]]\nid = 'a'\nregex = 'x'\nsecretGroup = 3\n", "secretGroup"),
        ("[allowlist]\nregexTarget = 'file'\n", "regexTarget"),
        ("[extend]\nurl = 'https://x'\n", "url"),
    ],
)
def test_errors(text: str, where: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(text)
    assert where in caught.value.message and ".gitleaks.toml" in caught.value.message
