"""The built-in rule set, one module per family of providers.

Each module exposes ``RULES: tuple[Rule, ...]``. They are written from the
providers' documented token formats; each rule carries its own true- and
false-positive examples, which the test suite runs.
"""

from __future__ import annotations

import functools
import importlib

from gitsecure.scan.rule import Rule

# patterns.py is not a family: it holds the regex helpers the tables share.
_FAMILIES = (
    "cloud",
    "hosting",
    "vcs",
    "ci",
    "registries",
    "keys",
    "database",
    "payment",
    "messaging",
    "notifications",
    "observability",
    "productivity",
    "platforms",
    "ai",
    "generic",
)


@functools.cache
def builtin_rules() -> tuple[Rule, ...]:
    """Every built-in rule, specific rules first and generic ones last (ids are unique)."""
    rules: list[Rule] = []
    for family in _FAMILIES:
        module = importlib.import_module(f"{__name__}.{family}")
        rules.extend(module.RULES)
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):  # the quadratic search below only runs to name the culprits
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        raise AssertionError(f"duplicate built-in rule ids: {duplicates}")
    return tuple(sorted(rules, key=lambda rule: rule.is_generic))
