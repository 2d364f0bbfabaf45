"""Value filters: references, templates and placeholders are not secrets; real-looking values are."""

from __future__ import annotations

import pytest

from gitsecure.scan import filters


@pytest.mark.parametrize(
    "value", ["$VAR", "${VAR}", "{{ .Values.x }}", "{{x}}", "%s", "<token>", "{password}", "__PASSWORD__"]
)
def test_templated(value: str) -> None:
    assert filters.templated(value)


@pytest.mark.parametrize("value", ["Zx81kLmQ0pWb7Rt", "p%40ssw0rd-9X", "$2a$10$abcdefghijk"])
def test_not_templated(value: str) -> None:
    assert not filters.templated(value)


def test_template_span_in_line() -> None:
    line = b"password: {{ .Values.db.password }}"
    assert filters.in_template(line, 13, 34)
    assert not filters.in_template(b"password: abc {{x}}", 10, 13)


def test_sops() -> None:
    assert filters.is_sops_encrypted("ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:2=,type:str]")
    assert not filters.is_sops_encrypted("ENCRYPTED")


@pytest.mark.parametrize("value", ["changeme", "your_api_key_here", "xxxxxxxxxxxx", "EXAMPLEKEY123", "dummy-token"])
def test_placeholders(value: str) -> None:
    assert filters.is_placeholder(value)


@pytest.mark.parametrize("value", ["abcdefgh", "123456789", "87654321", "qwertyuiop", "0123456789abcdef"])
def test_sequential(value: str) -> None:
    assert filters.is_sequential(value)


def test_uuid_and_reference() -> None:
    assert filters.is_uuid_like("550e8400-e29b-41d4-a716-446655440000")
    assert not filters.is_uuid_like("550e8400e29b41d4a716446655440000")
    assert filters.is_reference("settings.db_password")
    assert filters.is_reference('os.getenv("TOKEN")')
    assert not filters.is_reference("Zx81kLmQ0pWb7Rt")


def test_specific_rules_keep_tokens_that_contain_words() -> None:
    token = "sk_live_EXAMPLE9aZ81kLmQ0pWb7Rtx"
    assert not filters.specific_value_filtered(token, token.encode(), 0, len(token))
    assert filters.generic_value_filtered(token, token.encode(), 0, len(token))
    filler = "ghp_" + "x" * 36
    assert filters.specific_value_filtered(filler, filler.encode(), 0, len(filler))
