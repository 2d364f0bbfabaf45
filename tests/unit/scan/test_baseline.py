"""``.secrets.baseline``: detect-secrets' exact format, label-keeping updates, legacy upgrades."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitsecure.crypto.digest import secret_digest
from gitsecure.errors import InputError
from gitsecure.scan import baseline
from gitsecure.scan.finding import Finding

# A file shaped as detect-secrets 1.5.0 writes it without --slim: plugin settings, custom
# filters with pattern lists, audited and verified results, line numbers and a timestamp.
HAND_WRITTEN = """{
  "version": "1.5.0",
  "plugins_used": [
    {
      "name": "AWSKeyDetector"
    },
    {
      "name": "Base64HighEntropyString",
      "limit": 4.5
    },
    {
      "name": "KeywordDetector",
      "keyword_exclude": ""
    }
  ],
  "filters_used": [
    {
      "path": "detect_secrets.filters.allowlist.is_line_allowlisted"
    },
    {
      "path": "detect_secrets.filters.common.is_baseline_file",
      "filename": ".secrets.baseline"
    },
    {
      "path": "detect_secrets.filters.regex.should_exclude_file",
      "pattern": [
        "^tests/"
      ]
    }
  ],
  "results": {
    "app/settings.py": [
      {
        "type": "Secret Keyword",
        "filename": "app/settings.py",
        "hashed_secret": "38ed43aade0b0b86e1238e09c12ffe3627fef298",
        "is_verified": false,
        "line_number": 2,
        "is_secret": false
      },
      {
        "type": "AWS Access Key",
        "filename": "app/settings.py",
        "hashed_secret": "25910f981e85ca04baf359199dd0bd4a3ae738b6",
        "is_verified": true,
        "line_number": 7,
        "is_secret": true
      }
    ],
    "deploy/values.yaml": [
      {
        "type": "Base64 High Entropy String",
        "filename": "deploy/values.yaml",
        "hashed_secret": "0a4d55a8d778e5022fab701977c5d840bbc486d0",
        "is_verified": false,
        "line_number": 3
      }
    ]
  },
  "generated_at": "2026-01-31T12:00:00Z"
}
"""

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
KEYWORD_VALUE = "hunter2hunter2XyZ"


def finding(path: str, secret: str, *, line: int = 1, secret_type: str = "AWS Access Key") -> Finding:
    return Finding(
        rule_id="aws-access-key-id",
        description="AWS access key ID",
        path=path,
        line=line,
        column=1,
        secret=secret,
        secret_hash=secret_digest(secret),
        secret_type=secret_type,
    )


def test_hand_written_detect_secrets_file_round_trips_byte_for_byte() -> None:
    loaded = baseline.parse(HAND_WRITTEN)
    assert loaded.dumps() == HAND_WRITTEN
    assert loaded.line_numbers and loaded.generated_at == "2026-01-31T12:00:00Z"
    labels = {e.type: (e.is_secret, e.is_verified) for e in loaded.entries}
    assert labels == {
        "Secret Keyword": (False, False),
        "AWS Access Key": (True, True),
        "Base64 High Entropy String": (None, False),
    }


def test_hashes_are_detect_secrets_hashes() -> None:
    # The hand-written file's hashes are those detect-secrets computed for these values.
    assert secret_digest(AWS_KEY) == "25910f981e85ca04baf359199dd0bd4a3ae738b6"
    assert secret_digest(KEYWORD_VALUE) == "38ed43aade0b0b86e1238e09c12ffe3627fef298"


def test_new_baseline_is_slim_and_sorted() -> None:
    made = baseline.from_findings(
        [
            finding("b.py", "second-secret-value", line=9),
            finding("a.py", AWS_KEY, line=4),
            finding("a.py", AWS_KEY, line=2),  # the same secret twice: one entry, first line
            finding("a.py", KEYWORD_VALUE, line=1, secret_type="Secret Keyword"),
        ]
    )
    document = json.loads(made.dumps())
    assert list(document) == ["version", "plugins_used", "filters_used", "results"]
    assert document["version"] == "1.5.0"
    assert list(document["results"]) == ["a.py", "b.py"]
    assert [e["hashed_secret"] for e in document["results"]["a.py"]] == [
        secret_digest(KEYWORD_VALUE),
        secret_digest(AWS_KEY),
    ]  # slim: ordered by the scan's lines, as detect-secrets orders them before dropping the lines
    for entries in document["results"].values():
        for entry in entries:
            assert list(entry) == ["type", "filename", "hashed_secret", "is_verified"]
    names = [p["name"] for p in document["plugins_used"]]
    assert names == sorted(names, key=str.lower) and "KeywordDetector" in names
    paths = [f["path"] for f in document["filters_used"]]
    assert paths == sorted(paths, key=str.lower)
    assert made.dumps().endswith("}\n") and "  " in made.dumps()


def test_line_numbers_mode_writes_first_line_and_no_timestamp() -> None:
    made = baseline.from_findings(
        [finding("a.py", AWS_KEY, line=4), finding("a.py", AWS_KEY, line=2)], line_numbers=True
    )
    document = json.loads(made.dumps())
    assert document["results"]["a.py"][0]["line_number"] == 2
    assert "generated_at" not in document


def test_known_matches_hash_and_path_whatever_the_type() -> None:
    loaded = baseline.parse(HAND_WRITTEN)
    ours = finding("app/settings.py", AWS_KEY, line=40, secret_type="AWS access key ID")
    assert loaded.known(ours) is not None
    assert loaded.known(finding("./app/settings.py", AWS_KEY)) is not None
    elsewhere = finding("app/other.py", AWS_KEY)
    fresh = finding("app/settings.py", "a-different-secret-value")
    assert loaded.known(elsewhere) is None
    assert loaded.new_findings([ours, elsewhere, fresh]) == [elsewhere, fresh]


def test_labelled_false_and_true_entries_both_suppress() -> None:
    loaded = baseline.parse(HAND_WRITTEN)
    false_positive = finding("app/settings.py", KEYWORD_VALUE, secret_type="Secret Keyword")
    real = finding("app/settings.py", AWS_KEY)
    assert loaded.new_findings([false_positive, real]) == []


def test_update_keeps_labels_drops_vanished_adds_new() -> None:
    old = baseline.parse(HAND_WRITTEN)
    rescan = [
        finding("app/settings.py", AWS_KEY, line=9, secret_type="AWS access key ID"),
        finding("app/settings.py", KEYWORD_VALUE, line=3, secret_type="Secret Keyword"),
        finding("app/new.py", "brand-new-secret-value", line=5),
    ]
    updated = baseline.update(old, rescan)
    by_hash = {e.hashed_secret: e for e in updated.entries}
    aws = by_hash[secret_digest(AWS_KEY)]
    assert (aws.type, aws.is_secret, aws.is_verified, aws.line_number) == ("AWS Access Key", True, True, 9)
    assert by_hash[secret_digest(KEYWORD_VALUE)].is_secret is False
    assert "0a4d55a8d778e5022fab701977c5d840bbc486d0" not in by_hash  # values.yaml's secret vanished
    new = by_hash[secret_digest("brand-new-secret-value")]
    assert (new.filename, new.is_secret, new.line_number) == ("app/new.py", None, 5)
    assert updated.plugins_used == old.plugins_used and updated.filters_used == old.filters_used
    assert updated.generated_at != old.generated_at  # results changed: timestamp refreshed


def test_update_keeps_entries_of_files_not_rescanned() -> None:
    old = baseline.parse(HAND_WRITTEN)
    updated = baseline.update(old, [], scanned=lambda path: path.startswith("app/"))
    assert {e.filename for e in updated.entries} == {"deploy/values.yaml"}


def test_noop_update_is_byte_identical() -> None:
    old = baseline.parse(HAND_WRITTEN)
    rescan = [
        finding("app/settings.py", KEYWORD_VALUE, line=2, secret_type="Secret Keyword"),
        finding("app/settings.py", AWS_KEY, line=7),
        finding("deploy/values.yaml", "x", line=3),
    ]
    rescan[-1] = dataclasses.replace(rescan[-1], secret_hash=old.entries[2].hashed_secret)
    assert baseline.update(old, rescan).dumps() == HAND_WRITTEN


def test_update_to_slim_drops_line_numbers() -> None:
    old = baseline.parse(HAND_WRITTEN)
    slim = baseline.update(old, [finding("app/settings.py", AWS_KEY, line=7)], line_numbers=False)
    assert '"line_number"' not in slim.dumps()


def test_label_by_hash_prefix() -> None:
    loaded = baseline.parse(HAND_WRITTEN)
    labelled, count = baseline.label(loaded, "0a4d55a8", is_secret=False)
    assert count == 1
    assert [e.is_secret for e in labelled.entries if e.type.startswith("Base64")] == [False]
    same, none = baseline.label(loaded, "ffff", is_secret=True)
    assert none == 0 and same == loaded


def test_label_refuses_an_ambiguous_prefix() -> None:
    with pytest.raises(InputError, match="more than one"):
        baseline.label(baseline.parse(HAND_WRITTEN), "", is_secret=True)


def test_statistics_count_labels_per_type() -> None:
    stats = baseline.statistics(baseline.parse(HAND_WRITTEN).entries)
    assert stats["AWS Access Key"] == {"real": 1, "false": 0, "unaudited": 0}
    assert stats["Secret Keyword"] == {"real": 0, "false": 1, "unaudited": 0}
    assert stats["Base64 High Entropy String"]["unaudited"] == 1


LEGACY: dict[str, Any] = {
    "version": "0.13.1",
    "exclude": {"files": "^tests/", "lines": "password = fake"},
    "word_list": {"file": "words.txt", "hash": "abc123"},
    "plugins_used": [
        {"name": "Base64HighEntropyString", "base64_limit": 4.5},
        {"name": "HexHighEntropyString", "hex_limit": 3},
        {"name": "KeywordDetector"},
    ],
    "results": {
        "a.py": [{"type": "Secret Keyword", "hashed_secret": secret_digest(KEYWORD_VALUE), "line_number": 3}],
    },
    "generated_at": "2020-01-01T00:00:00Z",
}


def test_legacy_file_is_upgraded() -> None:
    upgraded = baseline.parse(json.dumps(LEGACY)).to_json()
    assert upgraded["version"] == "1.5.0"
    assert "exclude" not in upgraded and "word_list" not in upgraded
    plugins = {p["name"]: p for p in upgraded["plugins_used"]}
    assert plugins["Base64HighEntropyString"] == {"name": "Base64HighEntropyString", "limit": 4.5}
    assert plugins["HexHighEntropyString"] == {"name": "HexHighEntropyString", "limit": 3}
    filters = {f["path"]: f for f in upgraded["filters_used"]}
    assert filters["detect_secrets.filters.regex.should_exclude_file"]["pattern"] == ["^tests/"]
    assert filters["detect_secrets.filters.regex.should_exclude_line"]["pattern"] == ["password = fake"]
    assert filters["detect_secrets.filters.wordlist.should_exclude_secret"]["file_name"] == "words.txt"
    assert "detect_secrets.filters.heuristic.is_swagger_file" in filters  # the 1.1 defaults too
    [entry] = upgraded["results"]["a.py"]
    assert entry == {
        "type": "Secret Keyword",
        "filename": "a.py",
        "hashed_secret": secret_digest(KEYWORD_VALUE),
        "is_verified": False,
        "line_number": 3,
    }


def test_legacy_upgrade_agrees_with_detect_secrets() -> None:
    upgrades = pytest.importorskip("detect_secrets.core.baseline")
    theirs = upgrades.upgrade(json.loads(json.dumps(LEGACY)))
    ours = baseline.parse(json.dumps(LEGACY)).to_json()
    assert ours["filters_used"] == sorted(theirs["filters_used"], key=lambda f: f["path"].lower())
    assert ours["plugins_used"] == sorted(theirs["plugins_used"], key=lambda p: p["name"].lower())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "not JSON"),
        ("[]", "no 'results'"),
        ('{"results": {}}', "no valid 'version'"),
        ('{"version": "1.5.0", "results": {"a": [{"type": "x"}]}}', "lacks 'hashed_secret'"),
        ('{"version": "1.5.0", "results": {}, "plugins_used": [1]}', "plugins_used"),
    ],
)
def test_invalid_files_are_one_line_input_errors(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why) as caught:
        baseline.parse(text, source="b.json")
    assert "\n" not in caught.value.message and caught.value.message.startswith("b.json")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read baseline"):
        baseline.load(tmp_path / "absent")


def test_save_writes_exactly_dumps(tmp_path: Path) -> None:
    target = tmp_path / ".secrets.baseline"
    loaded = baseline.parse(HAND_WRITTEN)
    baseline.save(loaded, target)
    assert target.read_text() == HAND_WRITTEN


# --- interoperability with the real detect-secrets (the bench extra installs 1.5.0) ---------

DETECT_SECRETS = shutil.which("detect-secrets", path=str(Path(sys.executable).parent)) or shutil.which("detect-secrets")
needs_detect_secrets = pytest.mark.skipif(
    DETECT_SECRETS is None or not Path(sys.executable).parent.joinpath("detect-secrets-hook").exists(),
    reason="detect-secrets is not installed (make installs it with the bench extra)",
)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "settings.py").write_text(f'aws_key = "{AWS_KEY}"\npassword = "{KEYWORD_VALUE}"\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "settings.py"], check=True)
    return repo


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / name)
    env = {**os.environ, "HOME": str(cwd)}
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=120)


@needs_detect_secrets
@pytest.mark.parametrize("slim", [False, True])
def test_we_load_and_rewrite_what_detect_secrets_wrote(tmp_path: Path, slim: bool) -> None:
    repo = _repo(tmp_path)
    result = _tool("detect-secrets", "scan", *(["--slim"] if slim else []), cwd=repo)
    assert result.returncode == 0, result.stderr
    loaded = baseline.parse(result.stdout)
    assert {(e.type, e.hashed_secret) for e in loaded.entries} == {
        ("AWS Access Key", secret_digest(AWS_KEY)),
        ("Secret Keyword", secret_digest(KEYWORD_VALUE)),
    }
    assert loaded.dumps() == result.stdout  # print() adds the newline save_to_file writes
    assert loaded.line_numbers is not slim and (loaded.generated_at is None) is slim


@needs_detect_secrets
def test_detect_secrets_accepts_our_baseline(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    ours = baseline.from_findings(
        [
            finding("settings.py", AWS_KEY, line=1),
            finding("settings.py", KEYWORD_VALUE, line=2, secret_type="Secret Keyword"),
        ]
    )
    path = repo / ".secrets.baseline"
    baseline.save(ours, path)
    # The hook with our (slim) baseline: both secrets known, nothing to rewrite.
    hook = _tool("detect-secrets-hook", "--baseline", ".secrets.baseline", "settings.py", cwd=repo)
    assert hook.returncode == 0, hook.stdout + hook.stderr
    assert path.read_text() == ours.dumps()
    # Without the baseline it would have blocked: the plugin list we wrote is live.
    path.write_text(baseline.Baseline().dumps())
    blocked = _tool("detect-secrets-hook", "--baseline", ".secrets.baseline", "settings.py", cwd=repo)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    # audit --stats reads our labels.
    baseline.save(baseline.label(ours, secret_digest(AWS_KEY), is_secret=True)[0], path)
    stats = _tool("detect-secrets", "audit", "--stats", "--json", ".secrets.baseline", cwd=repo)
    assert stats.returncode == 0, stats.stderr
    raw = json.loads(stats.stdout)["AWSKeyDetector"]["stats"]["raw"]
    assert (raw["true-positives"], raw["unknown"]) == (1, 0)
    # scan --baseline re-catalogues and keeps our label; we read the result back.
    rescan = _tool("detect-secrets", "scan", "--baseline", ".secrets.baseline", cwd=repo)
    assert rescan.returncode == 0, rescan.stderr
    again = baseline.load(path)
    assert {e.hashed_secret: e.is_secret for e in again.entries}[secret_digest(AWS_KEY)] is True


def test_slim_file_keeps_its_order_and_updates_are_stable() -> None:
    values = sorted(["first-value-abc", "second-value-def", "third-value-ghi"], key=secret_digest, reverse=True)
    findings = [finding("a.py", value, line=number) for number, value in enumerate(values, 1)]  # lines against hashes
    created = baseline.from_findings(findings)
    hashes = [e.hashed_secret for e in created.entries]
    assert hashes == [f.secret_hash for f in findings] and hashes != sorted(hashes)
    text = created.dumps()
    reread = baseline.parse(text)
    assert reread.dumps() == text  # no line numbers in the file, yet the order survives
    assert baseline.update(reread, findings).dumps() == text
    assert baseline.label(reread, hashes[1], is_secret=False)[0].dumps().count('"is_secret": false') == 1
