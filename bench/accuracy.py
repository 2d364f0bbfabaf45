"""Precision and recall of gitsecure, detect-secrets (and gitleaks, if installed) on a labelled corpus.

Run ``.venv/bin/python bench/accuracy.py`` (or ``make bench``). ``--via cli`` scans with the
``gitsecure scan --format json`` command instead of the in-process engine; ``--details`` lists
every miss and false alarm. Nothing is asserted: the exit status is non-zero only when a tool
breaks.

The corpus
----------
``bench/corpus/generate.py`` writes the corpus files (a fixed seed, so they are reproducible) into
a temporary directory for each run; only ``bench/corpus/labels.json`` is committed: one label per
line that matters, ``secret`` true (a tool must report the line) or false (a look-alike it must
not report: placeholders, templated values, SealedSecret ``encryptedData``, SOPS values, ExternalSecret references,
UUIDs, hashes, lock files, public keys, obviously fake test values, minified code). Each label
has a family (cloud, vcs, keys, database, payment, messaging, saas, ai, generic, gitops) and,
where one is obvious, the gitsecure rule id expected. Every credential in it is fake.

Scoring
-------
Line level: a tool "reports" a line when any of its findings starts on it (exactly, no slack).
A reported true line is a TP, an unreported one an FN; a reported false line is an FP, and so is
a report on an unlabelled line (listed as "unlabelled" so mislabelled corpus lines show up).
Every tool scans the same generated files, outside the repository, so neither the repository's
``.gitsecure.toml`` nor its ``.gitignore`` applies.
Per rule (gitsecure): a finding of rule R on a true line is a TP of R, elsewhere an FP of R;
recall of R is over the labels that expect R ("exact" when R itself reported the line).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "corpus"
FAMILIES = ("cloud", "vcs", "keys", "database", "payment", "messaging", "saas", "ai", "generic", "gitops")


class ToolError(Exception):
    """A tool did not run or produced output that cannot be read."""


@dataclass(frozen=True)
class Label:
    """One labelled line of the corpus."""

    path: str
    line: int
    secret: bool
    family: str
    rule: str | None
    note: str


@dataclass(frozen=True)
class Report:
    """What one tool reported: rule ids (or types) per (path, line)."""

    tool: str
    lines: dict[tuple[str, int], set[str]]


@dataclass
class Score:
    """Confusion counts."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    fp_lines: list[str] = field(default_factory=list)
    fn_lines: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        """TP / reported; None when nothing was reported."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """TP / true; None when there is nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else None


def load_labels() -> tuple[list[str], list[Label]]:
    """The manifest: every corpus file, and the labelled lines."""
    manifest = json.loads((CORPUS / "labels.json").read_text())
    return manifest["files"], [Label(**entry) for entry in manifest["labels"]]


def stage_corpus(into: Path, labels: list[Label]) -> None:
    """Generate the corpus files into ``into``; warn when ``labels.json`` no longer matches them."""
    sys.path.insert(0, str(CORPUS))
    try:
        import generate
    finally:
        sys.path.remove(str(CORPUS))
    manifest = generate.build(into)
    if [Label(**entry) for entry in manifest["labels"]] != labels:
        print("warning: labels.json differs from what generate.py produces; rerun bench/corpus/generate.py")


# --------------------------------------------------------------------------------------------
# The tools


def run_gitsecure_engine(files: list[str], staged: Path) -> Report:
    """In-process: ``Engine.default()`` (built-in rules, default settings) over each file."""
    try:
        from gitsecure.scan.engine import Engine
        from gitsecure.scan.finding import Fragment

        engine = Engine.default()
    except ImportError as exc:
        raise ToolError(f"gitsecure engine not available ({exc})") from exc
    lines: dict[tuple[str, int], set[str]] = defaultdict(set)
    for relative in files:
        if not engine.path_allowed(relative):
            continue
        for finding in engine.scan(Fragment(data=(staged / relative).read_bytes(), path=relative)):
            lines[(finding.path, finding.line)].add(finding.rule_id)
    return Report("gitsecure", dict(lines))


def run_gitsecure_cli(staged: Path) -> Report:
    """``gitsecure scan DIR --format json``, run from inside the staged copy."""
    argv = [str(Path(sys.executable).parent / "gitsecure"), "scan", ".", "--format", "json"]
    done = subprocess.run(argv, cwd=staged, capture_output=True, check=False)
    if done.returncode not in (0, 1):
        raise ToolError(f"gitsecure scan exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
    lines: dict[tuple[str, int], set[str]] = defaultdict(set)
    for finding in json.loads(done.stdout)["findings"]:
        lines[(str(finding["path"]).removeprefix("./"), int(finding["line"]))].add(str(finding["rule_id"]))
    return Report("gitsecure (CLI)", dict(lines))


def run_detect_secrets(staged: Path) -> Report:
    """``detect-secrets scan --all-files -n`` (default plugins and filters, no network verification)."""
    executable = Path(sys.executable).parent / "detect-secrets"
    if not executable.exists():
        raise ToolError("detect-secrets is not installed (.venv/bin/pip install detect-secrets==1.5.0)")
    done = subprocess.run(
        [str(executable), "scan", "--all-files", "-n", "."], cwd=staged, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise ToolError(f"detect-secrets exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
    lines: dict[tuple[str, int], set[str]] = defaultdict(set)
    for path, results in json.loads(done.stdout)["results"].items():
        for result in results:
            lines[(path.removeprefix("./"), int(result["line_number"]))].add(result["type"])
    return Report("detect-secrets", dict(lines))


def run_gitleaks(staged: Path) -> Report:
    """gitleaks 8 in directory mode with its default rules, if a binary is on PATH."""
    binary = shutil.which("gitleaks")
    if binary is None:
        raise ToolError("no gitleaks binary on PATH: skipped")
    report = staged.parent / "gitleaks.json"
    attempts = (
        [binary, "dir", str(staged), "--report-format", "json", "--report-path", str(report), "--exit-code", "0"],
        [
            binary,
            "detect",
            "--no-git",
            "--source",
            str(staged),
            "--report-format",
            "json",
            "--report-path",
            str(report),
            "--exit-code",
            "0",
        ],
    )
    for argv in attempts:
        done = subprocess.run([*argv, "--no-banner"], capture_output=True, check=False)
        if done.returncode == 0 and report.exists():
            break
    else:
        raise ToolError(f"gitleaks did not run: {done.stderr.decode(errors='replace')[-300:]}")
    lines: dict[tuple[str, int], set[str]] = defaultdict(set)
    for finding in json.loads(report.read_text() or "[]"):
        path = Path(finding["File"]).resolve().relative_to(staged.resolve()).as_posix()
        lines[(path, int(finding["StartLine"]))].add(finding["RuleID"])
    return Report("gitleaks", dict(lines))


# --------------------------------------------------------------------------------------------
# Scoring and printing


def score(report: Report, labels: list[Label]) -> dict[str, Score]:
    """Per family (plus "unlabelled" and "overall") confusion counts of one tool."""
    scores: dict[str, Score] = defaultdict(Score)
    by_place = {(label.path, label.line): label for label in labels}
    for label in labels:
        reported = (label.path, label.line) in report.lines
        where = f"{label.path}:{label.line} [{label.family}] {label.note or label.rule or ''}".rstrip()
        for bucket in (label.family, "overall"):
            entry = scores[bucket]
            if label.secret and reported:
                entry.tp += 1
            elif label.secret:
                entry.fn += 1
                entry.fn_lines.append(where) if bucket == "overall" else None
            elif reported:
                entry.fp += 1
                if bucket == "overall":
                    entry.fp_lines.append(f"{where} <- {', '.join(sorted(report.lines[(label.path, label.line)]))}")
            else:
                entry.tn += 1
    for place, rules in sorted(report.lines.items()):
        if place not in by_place:
            for bucket in ("unlabelled", "overall"):
                scores[bucket].fp += 1
            scores["overall"].fp_lines.append(f"{place[0]}:{place[1]} [unlabelled] <- {', '.join(sorted(rules))}")
    return scores


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{value * 100:4.0f}"


def print_family_table(results: dict[str, dict[str, Score]]) -> None:
    """Precision / recall per family, the tools side by side."""
    tools = list(results)
    header = f"  {'family':<11}" + "".join(f" | {tool[:22]:^22}" for tool in tools)
    print(header)
    print(f"  {'':<11}" + "".join(f" | {'P%':>4} {'R%':>4} {'TP':>3} {'FP':>3} {'FN':>3}" for _ in tools))
    print("  " + "-" * (len(header) - 2))
    for family in (*FAMILIES, "unlabelled", "overall"):
        if all(family not in results[tool] for tool in tools):
            continue
        row = f"  {family:<11}"
        for tool in tools:
            s = results[tool].get(family, Score())
            row += f" | {_pct(s.precision)} {_pct(s.recall)} {s.tp:>3} {s.fp:>3} {s.fn:>3}"
        print(row)
    print("  " + "".join(f"{tool}: F1 {_pct(results[tool]['overall'].f1).strip()}%   " for tool in tools))


def print_rule_table(report: Report, labels: list[Label]) -> None:
    """gitsecure per rule: its findings' precision, and recall over the labels that expect it."""
    truth = {(label.path, label.line): label for label in labels}
    fired: dict[str, Score] = defaultdict(Score)
    for place, rules in report.lines.items():
        for rule in rules:
            label = truth.get(place)
            if label is not None and label.secret:
                fired[rule].tp += 1
            else:
                fired[rule].fp += 1
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for label in labels:
        if label.secret and label.rule:
            counts = expected[label.rule]
            counts[0] += 1
            rules = report.lines.get((label.path, label.line), set())
            counts[1] += bool(rules)
            counts[2] += label.rule in rules
    print(f"  {'rule id':<36} {'findings':>8} {'TP':>4} {'FP':>4} {'P%':>5} | {'expected':>8} {'R%':>5} {'exact':>5}")
    for rule in sorted(set(fired) | set(expected)):
        s, (total, found, exact) = fired.get(rule, Score()), expected.get(rule, [0, 0, 0])
        recall = f"{found / total * 100:5.0f}" if total else "    -"
        print(
            f"  {rule:<36} {s.tp + s.fp:>8} {s.tp:>4} {s.fp:>4} {_pct(s.precision):>5} | {total:>8} {recall}"
            f" {exact if total else '-':>5}"
        )


def main(argv: list[str] | None = None) -> int:
    """Score every available tool on the corpus and print the tables; 1 when gitsecure could not run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--via",
        choices=("engine", "cli"),
        default="engine",
        help="gitsecure in process (default) or through 'gitsecure scan --format json'",
    )
    parser.add_argument("--details", action="store_true", help="list every false alarm and miss")
    args = parser.parse_args(argv)
    files, labels = load_labels()
    true_count = sum(label.secret for label in labels)
    print(f"corpus: {len(files)} files, {true_count} true and {len(labels) - true_count} false labelled lines")
    results: dict[str, dict[str, Score]] = {}
    reports: dict[str, Report] = {}
    status = 0
    with tempfile.TemporaryDirectory(prefix="gitsecure-accuracy-") as tmp:
        staged = Path(tmp) / "corpus"
        stage_corpus(staged, labels)
        runners = (
            (
                "gitsecure",
                lambda: run_gitsecure_engine(files, staged) if args.via == "engine" else run_gitsecure_cli(staged),
            ),
            ("detect-secrets", lambda: run_detect_secrets(staged)),
            ("gitleaks", lambda: run_gitleaks(staged)),
        )
        for name, runner in runners:
            try:
                report = runner()
            except ToolError as exc:
                print(f"{name}: {exc}")
                status |= name == "gitsecure"
                continue
            reports[name] = report
            results[report.tool] = score(report, labels)
    if not results:
        return 1
    print("\nper family (line level; P = precision, R = recall)")
    print_family_table(results)
    if "gitsecure" in reports:
        print("\ngitsecure per rule")
        print_rule_table(reports["gitsecure"], labels)
    for tool, scores in results.items():
        overall = scores["overall"]
        if args.details or tool.startswith("gitsecure"):
            if overall.fn_lines:
                print(f"\n{tool}: missed ({len(overall.fn_lines)})")
                print("\n".join(f"  {line}" for line in overall.fn_lines))
            if overall.fp_lines:
                print(f"\n{tool}: false alarms ({len(overall.fp_lines)})")
                print("\n".join(f"  {line}" for line in overall.fp_lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
