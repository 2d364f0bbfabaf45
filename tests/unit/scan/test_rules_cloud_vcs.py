"""Static checks on the cloud, VCS, key, database and generic rule tables.

The examples themselves run through the real engine in test_builtin_rules.py;
these tests check what every rule must be before it gets there.
"""

from __future__ import annotations

import re

import pytest
import re2

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules import ci, cloud, database, generic, hosting, keys, registries, vcs

RULES: tuple[Rule, ...] = (
    cloud.RULES + hosting.RULES + vcs.RULES + ci.RULES + registries.RULES + keys.RULES + database.RULES + generic.RULES
)
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_patterns_compile_with_re2(rule: Rule) -> None:
    assert re2.compile(rule.regex.encode()) is not None
    for allow in rule.allow_regexes:
        assert re2.compile(allow.encode()) is not None


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_metadata(rule: Rule) -> None:
    assert KEBAB.match(rule.id), rule.id
    assert rule.description and rule.hint
    # Every rule is gated by the prefilter: none of these families needs an always-run rule.
    assert rule.keywords
    assert all(keyword == keyword.lower() and keyword for keyword in rule.keywords)
    assert all(word == word.lower() for word in rule.stopwords)
    assert len(rule.examples) >= 2
    assert len(rule.counterexamples) >= 2


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_example_contains_a_keyword(rule: Rule) -> None:
    # A keyword absent from an example means the prefilter would never run the rule on it.
    for example in rule.examples:
        assert any(keyword in example.lower() for keyword in rule.keywords), example


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_example_matches_the_regex(rule: Rule) -> None:
    pattern = re2.compile(rule.regex.encode())
    for example in rule.examples:
        assert pattern.search(example.encode()), example


def test_ids_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))


def test_generic_rules_are_marked_generic() -> None:
    assert all(rule.is_generic for rule in generic.RULES)
    assert {rule.id for rule in generic.RULES} == {"generic-api-key", "generic-password"}


def test_enough_specific_rules() -> None:
    specific = [rule for rule in RULES if not rule.is_generic]
    assert len(specific) >= 95


def test_checksum_rules_name_a_validator() -> None:
    validators = {rule.id: rule.validator for rule in RULES if rule.validator}
    assert validators["github-personal-access-token"] == "github-crc32"
    assert validators["npm-access-token"] == "npm-crc32"


@pytest.mark.parametrize(
    ("rule_id", "secret_type"),
    [
        ("aws-access-key-id", "AWS Access Key"),
        ("github-personal-access-token", "GitHub Token"),
        ("gitlab-pat", "GitLab Token"),
        ("private-key-rsa", "Private Key"),
        ("jwt", "JSON Web Token"),
        ("npm-access-token", "NPM tokens"),
        ("pypi-token", "PyPI Token"),
        ("jfrog-api-key", "Artifactory Credentials"),
        ("postgres-uri-password", "Basic Auth Credentials"),
        ("generic-api-key", "Secret Keyword"),
        ("ibm-cloud-iam-key", "IBM Cloud IAM Key"),
        ("azure-storage-account-key", "Azure Storage Account access key"),
    ],
)
def test_detect_secrets_type_names(rule_id: str, secret_type: str) -> None:
    # These strings must equal detect-secrets' plugin types so migrated baselines keep matching.
    rule = next(rule for rule in RULES if rule.id == rule_id)
    assert rule.baseline_type == secret_type
