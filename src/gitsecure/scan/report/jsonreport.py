"""The JSON report: one object, stable keys, for scripts and CI.

``{"version": 1, "tool": {...}, "findings": [...], "summary": {...}}``; each
finding has ``path`` (relative to the scanned root), ``line``, ``column``,
``end_line``, ``rule_id``, ``description``, ``commit`` (null outside
``--history``), ``secret_hash``, ``redacted``, ``secret_type``, ``entropy``,
``hint`` and ``tags``. The module is not called ``json`` so it never shadows
the standard library.
"""

from __future__ import annotations

import json
from typing import Any

from gitsecure import __version__
from gitsecure.scan.finding import Finding
from gitsecure.scan.report import JSON_FORMAT_VERSION, TOOL_NAME, Report


def finding_object(finding: Finding, *, redact: int = 100) -> dict[str, Any]:
    """One finding as the JSON report lists it (never the plaintext)."""
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line or finding.line,
        "rule_id": finding.rule_id,
        "description": finding.description,
        "commit": finding.commit,
        "secret_hash": finding.secret_hash,
        "redacted": finding.redacted(redact),
        "secret_type": finding.secret_type,
        "entropy": round(finding.entropy, 3),
        "hint": finding.hint,
        "tags": list(finding.tags),
    }


def render(report: Report) -> str:
    """The JSON document, indented, ending with a newline."""
    document = {
        "version": JSON_FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "findings": [finding_object(f, redact=report.redact) for f in report.findings],
        "summary": report.summary(),
    }
    return json.dumps(document, indent=2) + "\n"
