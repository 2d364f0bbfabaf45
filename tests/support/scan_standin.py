"""A stand-in for the engine: finds ``SECRET_MARKER_<digits>`` so source tests do not depend on the rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gitsecure.scan.finding import Finding, Fragment

MARKER = re.compile(rb"SECRET_MARKER_[0-9]+")
# A two-line secret, to check that multi-line findings keep their span.
PAIR = re.compile(rb"PAIR_BEGIN\n[^\n]*\nPAIR_END")


@dataclass
class MarkerScanner:
    """Implements the :class:`gitsecure.scan.sources.Scanner` protocol; records every fragment it saw."""

    denied_paths: tuple[str, ...] = ()
    fragments: list[Fragment] = field(default_factory=list)

    def path_allowed(self, path: str) -> bool:
        return not path.startswith(self.denied_paths) if self.denied_paths else True

    def scan(self, fragment: Fragment) -> list[Finding]:
        self.fragments.append(fragment)
        data = fragment.data
        findings = []
        for pattern, rule in ((MARKER, "marker"), (PAIR, "pair")):
            for match in pattern.finditer(data):
                index = data.count(b"\n", 0, match.start())
                line_start = data.rfind(b"\n", 0, match.start()) + 1
                secret = match.group().decode()
                findings.append(
                    Finding(
                        rule_id=rule,
                        description=rule,
                        path=fragment.path,
                        line=fragment.line_number(index),
                        column=match.start() - line_start + 1,
                        secret=secret,
                        secret_hash=f"hash-{secret}",
                        secret_type=rule,
                        end_line=fragment.line_number(index + match.group().count(b"\n")),
                        commit=fragment.commit,
                    )
                )
        return sorted(findings, key=lambda f: (f.line, f.column))
