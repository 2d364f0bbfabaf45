"""``gitsecure scan``: find secrets in files, the staged change, the history or stdin.

Exit codes: 0 no (new) secrets; 1 secrets found (0 with ``--exit-zero``);
2 usage, input or configuration error. Secrets are redacted in every format
unless ``--redact`` asks for less; ``--output`` is written atomically, after
the scan finished, so a failed scan leaves no half-written report.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitsecure.cli.options import ArgumentParser, apply_environment
from gitsecure.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError

if TYPE_CHECKING:
    from gitsecure.scan.engine import Engine
    from gitsecure.scan.finding import Finding, Fragment
    from gitsecure.scan.rule import Rule
    from gitsecure.scan.settings import ScanSettings

log = logging.getLogger("gitsecure.scan")

DESCRIPTION = """Find secrets in files and directories (default: the current directory), the
staged change (--staged), the history (--history) or stdin (--stdin).

Inside a Git repository .gitignore is respected; binaries and files over
--max-file-size are skipped. Findings already listed in --baseline (a
detect-secrets .secrets.baseline) are not reported. Every flag can also be set
as GITSECURE_SCAN_<FLAG> (e.g. GITSECURE_SCAN_FORMAT=sarif,
GITSECURE_SCAN_BASELINE=.secrets.baseline)."""

EPILOG = """exit codes: 0 no new secrets, 1 secrets found (0 with --exit-zero),
2 usage, input or configuration error.

Secrets are never printed in full unless --redact lowers the percentage hidden
(--redact 0 prints them: only on a trusted terminal). See docs/scan.md."""


def parse_size(value: str) -> int:
    """A byte count as ``.gitsecure.toml`` takes it (``10MiB``, ``10MB``, ``512k``); UsageError otherwise."""
    from gitsecure.scan.config import parse_size as parse_config_size  # noqa: PLC0415

    try:
        return parse_config_size(value)
    except ValueError as exc:
        raise UsageError(f"invalid size {value!r}: {exc}") from None


def add_engine_options(p: argparse._ActionsContainer) -> None:
    """``--config`` and ``--max-file-size``, shared with ``gitsecure baseline``."""
    p.add_argument("--config", metavar="FILE", help="configuration file (default: .gitsecure.toml or pyproject.toml)")
    p.add_argument(
        "--max-file-size",
        type=parse_size,
        metavar="SIZE",
        help="skip files bigger than this, e.g. 10M (default: the config's, else 10 MiB)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``scan`` flag set."""
    from gitsecure.scan.report import check_format, check_redact  # noqa: PLC0415

    p = ArgumentParser(
        prog="gitsecure scan",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to scan (default: .)")
    source = p.add_argument_group("what to scan (one of)")
    mode = source.add_mutually_exclusive_group()
    mode.add_argument("--staged", action="store_true", help="only the lines the index adds (the pre-commit hook)")
    mode.add_argument("--history", action="store_true", help="the lines every commit added, each secret once")
    mode.add_argument("--stdin", action="store_true", help="read the data to scan from stdin")
    source.add_argument("--since", metavar="REV", help="with --history: only commits after REV (or a range A..B)")
    source.add_argument("--all", action="store_true", help="with --history: every branch, tag and ref, not HEAD")
    source.add_argument(
        "--stdin-path", metavar="NAME", help="with --stdin: the file name to report (path-scoped rules use it)"
    )
    out = p.add_argument_group("output")
    out.add_argument("--format", type=check_format, default="text", help="text (default), json or sarif")
    out.add_argument("-o", "--output", metavar="FILE", help="write the report here (atomically) instead of stdout")
    out.add_argument(
        "--redact",
        type=check_redact,
        default=100,
        metavar="PERCENT",
        help="percentage of each secret to hide (default 100; 0 prints secrets in full)",
    )
    out.add_argument("--no-color", action="store_true", help="no colour, even on a terminal (also: NO_COLOR)")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when secrets are found")
    out.add_argument("--no-progress", action="store_true", help="no progress line during --history")
    tuning = p.add_argument_group("baseline and configuration")
    tuning.add_argument("--baseline", metavar="FILE", help="report only secrets this .secrets.baseline does not list")
    add_engine_options(tuning)
    # Scoped like `keys`: a plain GITSECURE_FORMAT=yaml meant for `seal` must not break `scan`.
    apply_environment(p, prefixes=("GITSECURE_SCAN",))
    return p


@dataclass
class Outcome:
    """What a scan produced, before baseline filtering."""

    findings: list[Finding]
    rules: dict[str, Rule]
    root: Path
    mode: str
    scanned: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def scan_root(start: Path) -> Path:
    """The directory paths are reported against: the enclosing work tree's top, else ``start``."""
    from gitsecure.scan.sources.gitrepo import toplevel  # noqa: PLC0415

    return toplevel(start) or start


def load_engine(
    root: Path, *, config: str | None, max_file_size: int | None
) -> tuple[Engine, ScanSettings, list[Rule]]:
    """The engine configured from ``root``'s configuration (or ``config``), with CLI overrides."""
    from gitsecure.scan.config import load_config  # noqa: PLC0415
    from gitsecure.scan.engine import Engine  # noqa: PLC0415

    explicit = Path(config) if config else None
    rules, settings = load_config(root, explicit)
    if max_file_size is not None:
        settings = dataclasses.replace(settings, max_file_size=max_file_size)
    return Engine(rules, settings=settings), settings, list(rules)


def rule_table(rules: Sequence[Rule]) -> dict[str, Rule]:
    """Rule records by id, the GitOps checks included, for the reports' rule descriptions."""
    from gitsecure.scan.gitops import GITOPS_RULES  # noqa: PLC0415

    table = {rule.id: rule for rule in rules}
    for rule in GITOPS_RULES:
        table.setdefault(rule.id, rule)
    return table


class CountingScanner:
    """The engine, counting the distinct files (or commits, in history mode) it was given."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.paths: set[str] = set()
        self.commits: set[str] = set()

    def scan(self, fragment: Fragment) -> list[Finding]:
        """Scan ``fragment`` with the engine and remember where it came from."""
        self.paths.add(fragment.path)
        if fragment.commit:
            self.commits.add(fragment.commit)
        return self.engine.scan(fragment)

    def path_allowed(self, path: str) -> bool:
        """The engine's global path allowlist."""
        return self.engine.path_allowed(path)


def scan_files(
    paths: Sequence[str], *, config: str | None = None, max_file_size: int | None = None, cwd: Path | None = None
) -> Outcome:
    """Scan files and directories (what ``scan PATH...`` and ``baseline create|update`` do)."""
    from gitsecure.scan.sources.worktree import scan_paths  # noqa: PLC0415

    here = (cwd or Path.cwd()).resolve()
    # A path named on the command line that does not exist is a mistake, not a clean scan.
    missing = [p for p in paths if not os.path.lexists(here / p)]
    if missing:
        raise InputError(f"no such file or directory: {missing[0]}", hint="check the PATH arguments")
    root = scan_root(here)
    engine, settings, rules = load_engine(root, config=config, max_file_size=max_file_size)
    scanner = CountingScanner(engine)
    skipped: list[tuple[str, str]] = []

    def on_skip(path: str, reason: str) -> None:
        skipped.append((path, reason))

    targets = [here / p for p in (paths or ["."])]
    findings = list(scan_paths(scanner, targets, root=root, max_file_size=settings.max_file_size, on_skip=on_skip))
    return Outcome(findings, rule_table(rules), root, "files", len(scanner.paths), skipped)


def _scan(args: argparse.Namespace) -> Outcome:
    if (args.staged or args.history or args.stdin) and args.paths:
        raise UsageError("PATH arguments cannot be combined with --staged, --history or --stdin")
    if (args.since or args.all) and not args.history:
        raise UsageError("--since and --all need --history")
    if args.stdin_path and not args.stdin:
        raise UsageError("--stdin-path needs --stdin")
    if not (args.staged or args.history or args.stdin):
        return scan_files(args.paths, config=args.config, max_file_size=args.max_file_size)
    here = Path.cwd().resolve()
    root = scan_root(here)
    engine, settings, rules = load_engine(root, config=args.config, max_file_size=args.max_file_size)
    scanner = CountingScanner(engine)
    table = rule_table(rules)
    if args.staged:
        from gitsecure.scan.sources.staged import scan_staged  # noqa: PLC0415

        findings = list(scan_staged(scanner, repo=here, max_file_size=settings.max_file_size))
        return Outcome(findings, table, root, "staged", len(scanner.paths))
    if args.history:
        from gitsecure.scan.sources.history import scan_history  # noqa: PLC0415

        # The progress line goes to stderr and only on a terminal (the source checks); -q silences it.
        progress = not args.no_progress and args.verbosity >= 0
        findings = list(scan_history(scanner, repo=here, since=args.since, all_refs=args.all, progress=progress))
        return Outcome(findings, table, root, "history", len(scanner.commits))
    from gitsecure.scan.sources.stdin import scan_stdin  # noqa: PLC0415

    if sys.stdin is None or not hasattr(sys.stdin, "buffer"):
        raise UsageError("--stdin given but stdin cannot be read as bytes")
    findings = list(scan_stdin(scanner, sys.stdin.buffer, path=args.stdin_path or "-"))
    return Outcome(findings, table, root, "stdin", len(scanner.paths))


def relative_to_root(path: str | os.PathLike[str], root: Path) -> str:
    """``path`` as the sources report paths: slash-separated, relative to the scan root when inside it."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


def use_color(args: argparse.Namespace) -> bool:
    """Colour only for text on a terminal, and never with NO_COLOR or --no-color."""
    if args.no_color or args.output or args.format != "text" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


def emit(text: str, *, output: str | None) -> None:
    """Write the report to ``output`` atomically, or to stdout."""
    data = text.encode("utf-8", "surrogateescape")
    if output:
        from gitsecure.fileio import atomic_write  # noqa: PLC0415 - tempfile costs start-up time

        atomic_write(output, data)
    elif hasattr(sys.stdout, "buffer"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:  # a text-only stdout (embedding, tests)
        sys.stdout.write(text)


def report_skipped(skipped: Sequence[tuple[str, str]], *, verbosity: int) -> None:
    """Each skipped file on stderr at -v; a count at normal verbosity; nothing with -q."""
    if not skipped or verbosity < 0:
        return
    if verbosity >= 1:
        for path, reason in skipped:
            print(f"skipped {path}: {reason}", file=sys.stderr)
    else:
        print(
            f"gitsecure: skipped {len(skipped)} file(s) (binary, too large or unreadable; -v lists them)",
            file=sys.stderr,
        )


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure scan``."""
    args = build_parser().parse_args(argv)
    args.verbosity = verbosity
    from gitsecure.scan.report import Report, render  # noqa: PLC0415

    known_baseline = None
    if args.baseline:  # loaded before a long scan, so a bad file fails fast; json only then
        from gitsecure.scan import baseline as baseline_file  # noqa: PLC0415

        known_baseline = baseline_file.load(args.baseline)
    outcome = _scan(args)
    findings = outcome.findings
    known = 0
    if known_baseline is not None:
        own = relative_to_root(args.baseline, outcome.root)
        findings = [f for f in findings if f.path != own]  # its hashes are not secrets
        fresh = known_baseline.new_findings(findings)
        known, findings = len(findings) - len(fresh), fresh
    report_skipped(outcome.skipped, verbosity=verbosity)
    report = Report(
        findings=tuple(findings),
        redact=args.redact,
        mode=outcome.mode,
        files_scanned=outcome.scanned,
        files_skipped=len(outcome.skipped),
        baseline_known=known,
        rules=outcome.rules,
        root_uri=outcome.root.as_uri().rstrip("/") + "/",
    )
    emit(render(report, args.format, color=use_color(args)), output=args.output)
    if args.output and verbosity >= 0:
        from gitsecure.scan.report.text import summary_line  # noqa: PLC0415

        print(summary_line(report), file=sys.stderr)
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_OK
