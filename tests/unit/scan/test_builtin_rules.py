"""Every built-in rule finds its examples and none of its counterexamples, alone, with the default filters."""

from __future__ import annotations

import functools

import pytest
import re2

from gitsecure.scan.engine import Engine
from gitsecure.scan.finding import Fragment
from gitsecure.scan.rule import Rule
from gitsecure.scan.rules import builtin_rules
from gitsecure.scan.settings import ScanSettings

RULES = {rule.id: rule for rule in builtin_rules()}
# GitOps analysis and decoding are other tests' business: here each rule's regex path alone.
SETTINGS = ScanSettings(gitops=False, decode_depth=0)


@functools.cache
def engine(rule_id: str) -> Engine:
    return Engine([RULES[rule_id]], settings=SETTINGS)


def _path(rule: Rule) -> str:
    # A rule limited to some paths is exercised on a path it applies to.
    return "config/.env" if rule.path is None else _path_for(rule.path)


def _path_for(pattern: str) -> str:
    for candidate in ("config/.env", "values.yaml", "main.tf", "settings.py", "id_rsa", "a.pem", "Dockerfile"):
        if re2.search(pattern, candidate):
            return candidate
    return "config/.env"


def test_rule_set_size_and_every_rule_has_examples() -> None:
    specific = [rule for rule in RULES.values() if not rule.is_generic]
    assert len(specific) >= 150
    missing = [rule.id for rule in RULES.values() if not rule.examples or not rule.counterexamples]
    assert missing == []


# Where an example sits in a file must not matter: alone, at the end of a line (LF, CRLF),
# and between other lines (the line number then says the right line was reported).
PLACEMENTS = {
    "alone": ("", ""),
    "newline": ("", "\n"),
    "crlf": ("", "\r\n"),
    "between lines": ("# first line\nx = 1\n", "\ny = 2\n"),
}


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_examples_are_found(rule_id: str, placement: str) -> None:
    rule = RULES[rule_id]
    before, after = PLACEMENTS[placement]
    for example in rule.examples:
        found = engine(rule_id).scan(Fragment((before + example + after).encode(), _path(rule)))
        lines = {f.line for f in found if f.rule_id == rule_id}
        assert lines, f"{rule_id} missed example {example!r} ({placement})"
        first = before.count("\n") + 1
        assert first <= min(lines) <= first + example.count("\n"), (rule_id, example, placement, lines)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_counterexamples_are_not_found(rule_id: str) -> None:
    rule = RULES[rule_id]
    for counterexample in rule.counterexamples:
        found = engine(rule_id).scan(Fragment(counterexample.encode(), _path(rule)))
        assert not [f for f in found if f.rule_id == rule_id], f"{rule_id} fired on {counterexample!r}"
