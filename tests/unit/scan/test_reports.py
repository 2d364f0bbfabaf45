"""Text, JSON and SARIF reports: fields, redaction, and the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gitsecure import __version__
from gitsecure.crypto.digest import secret_digest
from gitsecure.errors import UsageError
from gitsecure.scan.finding import Finding
from gitsecure.scan.report import Report, check_format, check_redact, render
from gitsecure.scan.report.text import summary_line
from gitsecure.scan.rule import Rule

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
SECRET = "ghp_R4nd0mL00k1ngT0k3nV4lu3Xy9Zq8Wv7Ut6Sr"  # not a real token
OTHER = "postgres-password-Zq8Wv7Ut6"


def make(path: str = "deploy/app config.yaml", secret: str = SECRET, **changes: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule_id": "github-pat",
        "description": "GitHub personal access token",
        "path": path,
        "line": 12,
        "column": 14,
        "secret": secret,
        "secret_hash": secret_digest(secret),
        "secret_type": "GitHub Token",
        "entropy": 4.7312,
        "end_line": 12,
        "hint": "revoke the token on GitHub and use a secret store",
        "tags": ("vcs",),
    }
    fields.update(changes)
    return Finding(**fields)


FINDINGS = (
    make(),
    make(
        "k8s/secret.yaml",
        OTHER,
        rule_id="kubernetes-secret-plaintext",
        description="Kubernetes Secret with plaintext data",
        secret_type="Kubernetes Secret",
        line=7,
        column=3,
        end_line=9,
        commit="0123456789abcdef0123456789abcdef01234567",
        hint="run 'gitsecure seal' and commit the SealedSecret instead",
        tags=("gitops",),
    ),
    make("other.py", line=3, column=1),
)
REPORT = Report(findings=FINDINGS, files_scanned=5, files_skipped=1, baseline_known=2)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_plaintext_at_default_redaction(fmt: str) -> None:
    out = render(REPORT, fmt, color=True)
    assert SECRET not in out and OTHER not in out
    assert SECRET[:6] not in out  # not even a prefix


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_redact_percent_shows_only_a_prefix(fmt: str) -> None:
    out = render(Report(findings=FINDINGS[:1], redact=75), fmt)
    shown = FINDINGS[0].redacted(75)
    assert shown.endswith("...") and shown[:-3] in out
    assert SECRET not in out


def test_json_fields() -> None:
    document = json.loads(render(REPORT, "json"))
    assert document["version"] == 1 and document["tool"] == {"name": "gitsecure", "version": __version__}
    first, second = document["findings"][:2]
    assert first == {
        "path": "deploy/app config.yaml",
        "line": 12,
        "column": 14,
        "end_line": 12,
        "rule_id": "github-pat",
        "description": "GitHub personal access token",
        "commit": None,
        "secret_hash": secret_digest(SECRET),
        "redacted": "REDACTED",
        "secret_type": "GitHub Token",
        "entropy": 4.731,
        "hint": "revoke the token on GitHub and use a secret store",
        "tags": ["vcs"],
    }
    assert second["commit"] == "0123456789abcdef0123456789abcdef01234567" and second["end_line"] == 9
    assert document["summary"] == {
        "findings": 3,
        "files_with_findings": 3,
        "files_scanned": 5,
        "files_skipped": 1,
        "baseline_known": 2,
        "mode": "files",
        "by_rule": {"github-pat": 2, "kubernetes-secret-plaintext": 1},
    }


def test_json_empty_report() -> None:
    document = json.loads(render(Report(findings=()), "json"))
    assert document["findings"] == [] and document["summary"]["findings"] == 0


def test_text_lists_location_rule_hint_and_summary() -> None:
    out = render(REPORT, "text")
    assert "deploy/app config.yaml:12:14: github-pat GitHub personal access token" in out
    assert "    secret: REDACTED" in out
    assert "hint: run 'gitsecure seal'" in out
    assert "commit: 0123456789ab" in out
    assert "\033[" not in out
    assert out.rstrip().splitlines()[-1] == (
        "gitsecure: 3 secrets found in 3 files (5 files scanned, 1 skipped, 2 known in the baseline)"
    )


def test_text_colour_only_when_asked() -> None:
    assert "\033[1m" in render(REPORT, "text", color=True)


def test_text_clean_summary() -> None:
    assert summary_line(Report(findings=(), files_scanned=1)) == "gitsecure: no secrets found (1 file scanned)"
    assert summary_line(Report(findings=(), mode="stdin")) == "gitsecure: no secrets found"
    assert "4 commits scanned" in summary_line(Report(findings=(), mode="history", files_scanned=4))


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    validator_class = jsonschema.validators.validator_for(schema)
    assert validator_class is jsonschema.Draft4Validator
    validator_class.check_schema(schema)
    return validator_class(schema)


@pytest.mark.parametrize("report", [REPORT, Report(findings=()), Report(findings=FINDINGS, root_uri="file:///src/")])
def test_sarif_is_valid_against_the_official_schema(
    report: Report, sarif_validator: jsonschema.protocols.Validator
) -> None:
    document = json.loads(render(report, "sarif"))
    errors = sorted(sarif_validator.iter_errors(document), key=str)
    assert not errors, errors[0].message if errors else ""


def test_sarif_validator_catches_a_broken_log(sarif_validator: jsonschema.protocols.Validator) -> None:
    document = json.loads(render(REPORT, "sarif"))
    document["runs"][0]["results"][0]["level"] = "fatal"
    assert not sarif_validator.is_valid(document)


def test_sarif_content() -> None:
    rules = {"github-pat": Rule(id="github-pat", description="GitHub PAT (rule)", regex="x", hint="rotate it")}
    document = json.loads(render(Report(findings=FINDINGS, rules=rules, root_uri="file:///src/"), "sarif"))
    assert document["version"] == "2.1.0"
    [run] = document["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("gitsecure", __version__)
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == ["github-pat", "kubernetes-secret-plaintext"]
    assert driver["rules"][0]["shortDescription"]["text"] == "GitHub PAT (rule)"
    assert driver["rules"][0]["help"]["text"] == "rotate it"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///src/"}}
    first, second, third = run["results"]
    assert (first["ruleId"], first["ruleIndex"], first["level"]) == ("github-pat", 0, "error")
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "deploy/app%20config.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 12, "startColumn": 14, "endLine": 12}
    assert first["partialFingerprints"] == {"secretHash/v1": secret_digest(SECRET)}
    assert second["locations"][0]["physicalLocation"]["region"]["endLine"] == 9
    assert second["properties"]["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert "0123456789abcdef" in second["message"]["text"]
    assert third["ruleIndex"] == 0


def test_format_and_redact_checks() -> None:
    assert check_format("SARIF") == "sarif"
    assert check_redact("40") == 40 and check_redact("100%") == 100
    with pytest.raises(UsageError, match="unknown format"):
        check_format("xml")
    for bad in ("-1", "101", "half"):
        with pytest.raises(UsageError, match="percentage"):
            check_redact(bad)
