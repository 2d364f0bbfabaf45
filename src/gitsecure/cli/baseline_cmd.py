"""``gitsecure baseline create|update|audit``: detect-secrets' ``.secrets.baseline``, kept by gitsecure.

Exit codes: 0 success; 1 ``audit --fail-on-real``/``--fail-on-unaudited``
found such entries; 2 usage, input or configuration error. Files are written
atomically. Nothing here ever prints a secret: a baseline holds only hashes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gitsecure.cli.options import ArgumentParser, apply_environment
from gitsecure.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError
from gitsecure.scan import baseline

if TYPE_CHECKING:
    from gitsecure.scan.finding import Finding

DESCRIPTION = """Create, update and audit a detect-secrets compatible .secrets.baseline.

  create  scan PATHs (default .) and write a new baseline (slim: no line numbers, no timestamp)
  update  rescan, keep the is_secret/is_verified labels, drop vanished secrets, add new ones
  audit   list entries, count labels (--stats), or label one (--mark HASH real|false|unset)

'gitsecure scan --baseline FILE' then reports only secrets the baseline does not list.
Every flag can also be set as GITSECURE_<FLAG>."""

EPILOG = """exit codes: 0 success, 1 audit --fail-on-real/--fail-on-unaudited matched,
2 usage, input or configuration error."""

_LABELS = {"real": True, "true": True, "false": False, "fp": False, "unset": None}


def build_parser() -> argparse.ArgumentParser:
    """The ``baseline`` sub-commands and their flags."""
    from gitsecure.cli.scan_cmd import add_engine_options  # noqa: PLC0415

    p = ArgumentParser(
        prog="gitsecure baseline",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="action", metavar="{create,update,audit}", required=True, parser_class=ArgumentParser)
    create = sub.add_parser("create", help="scan and write a new baseline")
    create.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to scan (default: .)")
    create.add_argument("-o", "--output", default=baseline.DEFAULT_FILENAME, metavar="FILE", help="'-' for stdout")
    create.add_argument("--line-numbers", action="store_true", help="record line numbers (churns on every edit)")
    create.add_argument("--force", action="store_true", help="replace an existing file (its labels are lost)")
    add_engine_options(create)
    update = sub.add_parser("update", help="rescan and merge into an existing baseline")
    update.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to rescan (default: .)")
    update.add_argument("--baseline", default=baseline.DEFAULT_FILENAME, metavar="FILE", help="the file to update")
    lines = update.add_mutually_exclusive_group()
    lines.add_argument("--line-numbers", action="store_true", default=None, help="record line numbers from now on")
    lines.add_argument("--slim", action="store_true", help="drop line numbers and the timestamp")
    add_engine_options(update)
    audit = sub.add_parser("audit", help="list, count or label entries (no interactive mode)")
    audit.add_argument("--baseline", default=baseline.DEFAULT_FILENAME, metavar="FILE", help="the file to audit")
    audit.add_argument("--report", action="store_true", help="list entries (the default)")
    audit.add_argument("--stats", action="store_true", help="count real / false / unaudited entries per type")
    only = audit.add_mutually_exclusive_group()
    only.add_argument("--only-real", action="store_true", help="only entries labelled real secrets")
    only.add_argument("--only-false", action="store_true", help="only entries labelled false positives")
    only.add_argument("--only-unaudited", action="store_true", help="only entries without a label")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument("--mark", nargs=2, metavar=("HASH", "LABEL"), help="label entries: real, false or unset")
    audit.add_argument("--fail-on-unaudited", action="store_true", help="exit 1 when an entry has no label")
    audit.add_argument("--fail-on-real", action="store_true", help="exit 1 when an entry is labelled real")
    for parser in (p, create, update, audit):
        apply_environment(parser, prefixes=("GITSECURE_BASELINE",))
    return p


def _rescan(paths: list[str], args: argparse.Namespace, *, verbosity: int) -> tuple[list[Finding], Path]:
    """The findings in ``paths`` (the baseline file itself left out) and the root they are relative to."""
    from gitsecure.cli.scan_cmd import relative_to_root, report_skipped, scan_files  # noqa: PLC0415

    outcome = scan_files(paths, config=args.config, max_file_size=args.max_file_size)
    report_skipped(outcome.skipped, verbosity=verbosity)
    target = getattr(args, "baseline", None) or getattr(args, "output", None)
    own = relative_to_root(target, outcome.root) if target and target != "-" else None
    return [f for f in outcome.findings if f.path != own], outcome.root  # a baseline's hashes are not secrets


def _create(args: argparse.Namespace, *, verbosity: int) -> int:
    if args.output != "-" and Path(args.output).exists() and not args.force:
        raise UsageError(
            f"{args.output} already exists",
            hint="use 'gitsecure baseline update' to keep its labels, or --force to replace it",
        )
    findings, _root = _rescan(args.paths, args, verbosity=verbosity)
    made = baseline.from_findings(findings, line_numbers=args.line_numbers)
    if args.output == "-":
        sys.stdout.write(made.dumps())
    else:
        baseline.save(made, args.output)
    if verbosity >= 0:
        print(f"gitsecure: {len(made.entries)} secret(s) recorded in {args.output}", file=sys.stderr)
    return EXIT_OK


def _update(args: argparse.Namespace, *, verbosity: int) -> int:
    old = baseline.load(args.baseline)
    findings, root = _rescan(args.paths, args, verbosity=verbosity)
    from gitsecure.cli.scan_cmd import relative_to_root  # noqa: PLC0415

    covered = [relative_to_root(Path(p).resolve(), root) for p in (args.paths or ["."])]

    def scanned(filename: str) -> bool:
        return any(c in ("", ".") or filename == c or filename.startswith(c.rstrip("/") + "/") for c in covered)

    line_numbers = False if args.slim else (True if args.line_numbers else None)
    new = baseline.update(old, findings, scanned=scanned, line_numbers=line_numbers)
    before, after = {e.key for e in old.entries}, {e.key for e in new.entries}
    changed = new.dumps() != old.dumps()
    if changed:
        baseline.save(new, args.baseline)
    if verbosity >= 0:
        print(
            f"gitsecure: {args.baseline}: {len(after - before)} added, {len(before - after)} removed, "
            f"{len(after & before)} kept" + ("" if changed else " (unchanged)"),
            file=sys.stderr,
        )
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    current = baseline.load(args.baseline)
    if args.mark:
        digest, word = args.mark
        if word.lower() not in _LABELS:
            raise UsageError(f"unknown label {word!r}; use real, false or unset")
        labelled, count = baseline.label(current, digest, is_secret=_LABELS[word.lower()])
        if count == 0:
            raise InputError(f"no entry of {args.baseline} has a hash starting with {digest!r}")
        baseline.save(labelled, args.baseline)
        print(f"gitsecure: labelled {count} entr{'y' if count == 1 else 'ies'} {word.lower()}", file=sys.stderr)
        return EXIT_OK
    entries = [
        e
        for e in current.entries
        if not (args.only_real and e.is_secret is not True)
        and not (args.only_false and e.is_secret is not False)
        and not (args.only_unaudited and e.is_secret is not None)
    ]
    if args.stats:
        stats = baseline.statistics(entries)
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            for kind, counts in stats.items():
                print(f"{kind}: {counts['real']} real, {counts['false']} false, {counts['unaudited']} unaudited")
    elif args.json:
        print(json.dumps({"results": [e.to_json(line_numbers=True) for e in entries]}, indent=2))
    else:
        for e in entries:
            label = {True: "real", False: "false", None: "unaudited"}[e.is_secret]
            where = f"{e.filename}:{e.line_number}" if e.line_number else e.filename
            verified = " verified" if e.is_verified else ""
            print(f"{where}  {e.hashed_secret}  {e.type}  [{label}{verified}]")
    failing = (args.fail_on_real and any(e.is_secret is True for e in entries)) or (
        args.fail_on_unaudited and any(e.is_secret is None for e in entries)
    )
    return EXIT_FINDINGS if failing else EXIT_OK


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure baseline``."""
    args = build_parser().parse_args(argv)
    if args.action == "create":
        return _create(args, verbosity=verbosity)
    if args.action == "update":
        return _update(args, verbosity=verbosity)
    return _audit(args)
