"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

One run; the driver lists the rules that fired (id, name, short description,
help text from the rule's hint); each result points at the file relative to
``%SRCROOT%`` with a 1-based region. ``partialFingerprints["secretHash/v1"]``
is the secret's hash, so a dashboard keeps one alert per secret however the
lines move. The secret itself never appears: the message carries
:meth:`Finding.redacted` only.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from gitsecure import __version__
from gitsecure.scan.finding import Finding
from gitsecure.scan.report import INFORMATION_URI, TOOL_NAME, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"


def _rule_object(finding: Finding, report: Report) -> dict[str, Any]:
    rule = report.rules.get(finding.rule_id)
    description = rule.description if rule is not None else finding.description
    hint = (rule.hint if rule is not None else None) or finding.hint
    help_text = hint or "Remove the secret from the repository, rotate it, and load it from a secret store."
    tags = sorted({"security", "secret", *(rule.tags if rule is not None else finding.tags)})
    return {
        "id": finding.rule_id,
        "name": "".join(part.capitalize() for part in finding.rule_id.replace("_", "-").split("-")),
        "shortDescription": {"text": description},
        "fullDescription": {"text": f"{description}: a secret committed in plaintext."},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": tags, "security-severity": "8.0"},
    }


def _uri(path: str) -> str:
    # A relative URI reference: percent-encode what RFC 3986 reserves, keep the slashes.
    return quote(path.lstrip("/") or "-", safe="/-._~")


def _result(finding: Finding, index: int, report: Report) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(finding.line, 1)}
    if finding.column > 0:
        region["startColumn"] = finding.column
    region["endLine"] = max(finding.end_line or finding.line, region["startLine"])
    where = f" in commit {finding.commit}" if finding.commit else ""
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": "error",
        "message": {"text": f"{finding.description}{where}: {finding.redacted(report.redact)}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": SRCROOT},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"secretHash/v1": finding.secret_hash},
        "properties": {"secretType": finding.secret_type, "tags": list(finding.tags)},
    }
    if finding.commit:
        result["properties"]["commit"] = finding.commit
    if finding.hint:
        result["properties"]["hint"] = finding.hint
    return result


def document(report: Report) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    for finding in report.findings:
        if finding.rule_id not in rule_index:
            rule_index[finding.rule_id] = len(rules)
            rules.append(_rule_object(finding, report))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "results": [_result(f, rule_index[f.rule_id], report) for f in report.findings],
    }
    if report.root_uri:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": report.root_uri}}
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render(report: Report) -> str:
    """The SARIF log, indented, ending with a newline."""
    return json.dumps(document(report), indent=2) + "\n"
