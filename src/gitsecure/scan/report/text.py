"""The report for people: one block per finding, then a summary line.

::

    config/prod.yaml:12:14: aws-access-key-id AWS access key ID
        secret: REDACTED
        hint: rotate the key in IAM, then move it to a secret store

Colour (ANSI) only when the caller asks for it: the CLI does on a terminal
unless ``NO_COLOR`` is set or ``--no-color`` is given.
"""

from __future__ import annotations

from gitsecure.scan.report import Report

_BOLD, _RED, _YELLOW, _DIM, _RESET = "\033[1m", "\033[31m", "\033[33m", "\033[2m", "\033[0m"


def _paint(text: str, code: str, *, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(report: Report) -> str:
    """One line: how many secrets in how many files, and what was scanned or suppressed."""
    counts = report.summary()
    details = []
    if report.mode == "history":
        details.append(f"{_plural(report.files_scanned, 'commit')} scanned")
    elif report.mode != "stdin":
        details.append(f"{_plural(report.files_scanned, 'file')} scanned")
    if report.files_skipped:
        details.append(f"{report.files_skipped} skipped")
    if report.baseline_known:
        details.append(f"{report.baseline_known} known in the baseline")
    suffix = f" ({', '.join(details)})" if details else ""
    if not report.findings:
        return f"gitsecure: no secrets found{suffix}"
    files = _plural(counts["files_with_findings"], "file")
    return f"gitsecure: {_plural(counts['findings'], 'secret')} found in {files}{suffix}"


def render(report: Report, *, color: bool = False) -> str:
    """The whole text report, ending with a newline."""
    lines: list[str] = []
    for finding in report.findings:
        where = f"{finding.path}:{finding.line}:{finding.column}"
        lines.append(
            f"{_paint(where, _BOLD, color=color)}: {_paint(finding.rule_id, _RED, color=color)} {finding.description}"
        )
        detail = f"    secret: {finding.redacted(report.redact)}"
        if finding.commit:
            detail += f"  commit: {finding.commit[:12]}"
        if finding.tags:
            detail += f"  tags: {', '.join(finding.tags)}"
        lines.append(detail)
        if finding.hint:
            lines.append(_paint(f"    hint: {finding.hint}", _DIM, color=color))
    if report.findings:
        lines.append("")
    line = summary_line(report)
    lines.append(_paint(line, _YELLOW, color=color and bool(report.findings)))
    return "\n".join(lines) + "\n"
