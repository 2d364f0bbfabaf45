"""Scan reports: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning dashboards.

Every format shows secrets only through :meth:`Finding.redacted`; at the
default ``redact=100`` no character of a secret reaches the output. Each
renderer is a pure function of a :class:`Report`, so the CLI writes the
result in one piece (to stdout, or atomically to ``--output``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitsecure.errors import UsageError
from gitsecure.scan.finding import Finding
from gitsecure.scan.rule import Rule

FORMATS = ("text", "json", "sarif")
TOOL_NAME = "gitsecure"
#: Where SARIF viewers link the tool's name. To be confirmed by the project (no public home yet).
INFORMATION_URI = "https://github.com/gitsecure/gitsecure"
#: The JSON report's layout version; bumped on an incompatible change, not on each release.
JSON_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Report:
    """What one scan found, plus the counts the summaries print."""

    findings: tuple[Finding, ...]
    redact: int = 100
    """Percent of each secret to hide (100: none of it is shown)."""
    mode: str = "files"
    """files, staged, history or stdin."""
    files_scanned: int = 0
    files_skipped: int = 0
    baseline_known: int = 0
    """Findings dropped because the baseline already lists them."""
    rules: Mapping[str, Rule] = field(default_factory=dict)
    """Rule records by id, for SARIF's rule table (a finding whose rule is missing still gets one)."""
    root_uri: str | None = None
    """``file://`` URI of the scanned root (ends with ``/``), for SARIF's ``%SRCROOT%``."""

    def summary(self) -> dict[str, Any]:
        """Counts for the JSON summary and the text summary line."""
        by_rule = Counter(f.rule_id for f in self.findings)
        return {
            "findings": len(self.findings),
            "files_with_findings": len({f.path for f in self.findings}),
            "files_scanned": self.files_scanned,
            "files_skipped": self.files_skipped,
            "baseline_known": self.baseline_known,
            "mode": self.mode,
            "by_rule": dict(sorted(by_rule.items())),
        }


def check_format(name: str) -> str:
    """``name`` if it is a known format, else a :class:`UsageError`."""
    lowered = name.strip().lower()
    if lowered not in FORMATS:
        raise UsageError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return lowered


def check_redact(value: str) -> int:
    """The ``--redact`` value: an integer percentage from 0 to 100."""
    try:
        percent = int(value.strip().rstrip("%"))
    except ValueError:
        raise UsageError(f"--redact must be a percentage from 0 to 100, not {value!r}") from None
    if not 0 <= percent <= 100:
        raise UsageError(f"--redact must be a percentage from 0 to 100, not {value!r}")
    return percent


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """The report in ``fmt`` (text, json or sarif); ``color`` applies to text only."""
    if fmt == "json":
        from gitsecure.scan.report import jsonreport  # noqa: PLC0415

        return jsonreport.render(report)
    if fmt == "sarif":
        from gitsecure.scan.report import sarif  # noqa: PLC0415

        return sarif.render(report)
    from gitsecure.scan.report import text  # noqa: PLC0415

    return text.render(report, color=color)
