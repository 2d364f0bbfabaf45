"""Static checks on the payment, messaging, SaaS and AI rule tables.

The examples run through the real engine in test_builtin_rules.py; these tests
check what every rule must be before it gets there, plus the detect-secrets type
names that keep migrated baselines matching.
"""

from __future__ import annotations

import re

import pytest
import re2

from gitsecure.scan.rule import Rule
from gitsecure.scan.rules import ai, messaging, notifications, observability, payment, platforms, productivity

MESSAGING: tuple[Rule, ...] = messaging.RULES + notifications.RULES
SAAS: tuple[Rule, ...] = observability.RULES + productivity.RULES + platforms.RULES
RULES: tuple[Rule, ...] = payment.RULES + MESSAGING + SAAS + ai.RULES
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
    assert not rule.is_generic, "provider rules must not carry 'generic' in their id"
    assert rule.keywords
    assert all(keyword and keyword == keyword.lower() for keyword in rule.keywords)
    assert len(rule.examples) >= 2
    assert len(rule.counterexamples) >= 2


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_examples_hold_a_keyword_and_match(rule: Rule) -> None:
    # The prefilter runs a rule only on lines holding one of its keywords.
    pattern = re2.compile(rule.regex.encode())
    for example in rule.examples:
        assert "\n" not in example, "examples are single lines"
        assert any(keyword in example.lower() for keyword in rule.keywords), example
        assert pattern.search(example.encode()), example


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_patterns_are_single_line(rule: Rule) -> None:
    # A pattern that can cross a newline would widen the engine's windows for no gain here.
    from gitsecure.scan.prefilter import is_multiline

    assert not is_multiline(rule.regex)


def test_ids_are_unique_and_enough() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert len(RULES) >= 95
    assert min(len(payment.RULES), len(MESSAGING), len(SAAS), len(ai.RULES)) >= 18


@pytest.mark.parametrize(
    ("rule_id", "secret_type"),
    [
        ("slack-bot-token", "Slack Token"),
        ("slack-webhook-url", "Slack Token"),
        ("stripe-secret-key", "Stripe Access Key"),
        ("stripe-restricted-key", "Stripe Access Key"),
        ("twilio-api-key", "Twilio API Key"),
        ("sendgrid-api-key", "SendGrid API Key"),
        ("mailchimp-api-key", "Mailchimp Access Key"),
        ("discord-bot-token", "Discord Bot Token"),
        ("telegram-bot-token", "Telegram Bot Token"),
        ("square-oauth-secret", "Square OAuth Secret"),
        ("openai-legacy-key", "OpenAI Token"),
        ("openai-project-key", "OpenAI Token"),
    ],
)
def test_detect_secrets_type_names(rule_id: str, secret_type: str) -> None:
    # These strings must equal detect-secrets' plugin types so migrated baselines keep matching.
    rule = next(rule for rule in RULES if rule.id == rule_id)
    assert rule.baseline_type == secret_type


def test_test_mode_keys_are_a_separate_rule() -> None:
    # Live and test Stripe keys are reported by different rules so teams can disable test keys alone.
    by_id = {rule.id: rule for rule in RULES}
    live = re2.compile(by_id["stripe-secret-key"].regex.encode())
    test = re2.compile(by_id["stripe-test-secret-key"].regex.encode())
    sample = b"sk_test_" + b"4eCx9Hq2LyjWDart1zdp7dcQ"
    assert live.search(sample) is None
    assert test.search(sample) is not None
    assert "test-key" in by_id["stripe-test-secret-key"].tags
