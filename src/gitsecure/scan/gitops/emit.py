"""Collects findings and quiet lines while the analyzers walk a file."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gitsecure.crypto.digest import secret_digest
from gitsecure.scan.entropy import shannon_entropy
from gitsecure.scan.finding import Finding
from gitsecure.scan.gitops.tree import Node, Scalar, lines_of
from gitsecure.scan.rule import Rule

Rescan = Callable[[bytes], list[Finding]]


class Emitter:
    """The findings and quiet lines of one file; every analyzer reports through it."""

    def __init__(self, path: str, rescan: Rescan) -> None:
        self.path = path
        self._rescan = rescan
        self.findings: list[Finding] = []
        self.quiet: set[int] = set()
        self._seen: set[tuple[int, str, str]] = set()

    def hush(self, lines: Iterable[int]) -> None:
        """Lines where the engine's regex findings must be dropped."""
        self.quiet.update(lines)

    def hush_node(self, node: Node, key: Scalar | None = None) -> None:
        """Quiet every line of ``node`` (and of its key)."""
        self.quiet.update(lines_of(node, key))

    def report(
        self,
        rule: Rule,
        secret: str,
        *,
        at: Node,
        key: Scalar | None,
        what: str,
        hint: str | None,
        tags: tuple[str, ...] = (),
        raw: bytes | None = None,
    ) -> None:
        """Report ``secret`` found at ``at`` (under ``key``); ``what`` names the place for people.

        ``raw`` (the value's bytes) goes through the engine's provider rules first:
        if one recognises the value, its finding is reported instead, on the same
        line and with the same hint, so the user learns *what* leaked *where*.
        The value's lines are quieted either way, so the regex pass does not
        report the same secret a second time.
        """
        self.hush_node(at, key)
        line = key.line if key is not None else at.line
        column = at.column if at.line == line else (key.column if key is not None else 1)
        end_line = max(at.end_line, line)
        all_tags = (*rule.tags[1:], *tags)
        provided = self._rescan(raw) if raw is not None else []
        if provided:
            for found in provided:
                self._add(
                    Finding(
                        rule_id=found.rule_id,
                        description=f"{found.description} in {what}",
                        path=self.path,
                        line=line,
                        column=column,
                        secret=found.secret,
                        secret_hash=found.secret_hash,
                        secret_type=found.secret_type,
                        entropy=found.entropy,
                        end_line=end_line,
                        hint=f"{found.hint} {hint}" if found.hint and hint else hint or found.hint,
                        tags=(*found.tags, *all_tags),
                    )
                )
            return
        self._add(
            Finding(
                rule_id=rule.id,
                description=f"{rule.description}: {what}",
                path=self.path,
                line=line,
                column=column,
                secret=secret,
                secret_hash=secret_digest(secret),
                secret_type=rule.baseline_type,
                entropy=shannon_entropy(secret.encode("utf-8", "surrogatepass")),
                end_line=end_line,
                hint=hint,
                tags=all_tags,
            )
        )

    def _add(self, finding: Finding) -> None:
        identity = (finding.line, finding.rule_id, finding.secret_hash)
        if identity not in self._seen:
            self._seen.add(identity)
            self.findings.append(finding)
