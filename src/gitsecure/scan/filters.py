"""Value filters: drop candidates that are references, templates or placeholders, not secrets.

Plain functions over the secret (and, for templates, the line around it), as
detect-secrets' filters are. Two strengths:

* :func:`generic_value_filtered` for rules whose id contains ``generic``: every
  filter, including placeholder words, sequential strings and UUID shapes;
* :func:`specific_value_filtered` for provider rules: only what a real token of a
  fixed format can never be (a template, a SOPS envelope, a value that is mostly
  one repeated character such as ``ghp_xxxx...``). A provider token that happens to
  contain ``example`` stays a finding.
"""

from __future__ import annotations

import functools
from typing import Any

import re2


# The two template patterns compile on first use (about 2 ms, mostly the counted ``.{0,200}``):
# a pre-commit hook on a clean change never needs them.
@functools.cache
def _template_spans() -> Any:
    # Template spans as they appear in a line: Go/Helm/Jinja ``{{ ... }}``, GitHub Actions
    # ``${{ ... }}``, shell/Terraform/Kustomize ``${...}``, ERB ``<%= ... %>``, Python ``%(x)s``.
    return re2.compile(rb"\$?\{\{.{0,200}?\}\}|\$\{[^}\n]{0,200}\}|<%=?.{0,200}?%>|%\([A-Za-z_]\w{0,60}\)[sd]")


@functools.cache
def _templated_value() -> Any:
    # A whole value that is a reference or a template marker rather than a literal. A closing
    # ``}}`` alone is not one: nested JSON objects end with it (a Docker config in stringData).
    return re2.compile(
        r"^(?:\$[A-Za-z_][A-Za-z0-9_]*|\$\([^)]*\)|\$\{.*|.*\{\{.*|<[^<>]{1,80}>|\{[A-Za-z_][\w.\-]*\}"
        r"|%[sdv]|.*%[sdv].*|#\{.*\}|@[A-Za-z_][\w.]*@|__[A-Z0-9_]+__)$"
    )


_SOPS = re2.compile(r"ENC\[(?:AES256_GCM|PGP|KMS),")
_UUID = re2.compile(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Attribute paths and calls: ``settings.db_password``, ``os.environ``, ``getenv(...)``.
_REFERENCE = re2.compile(r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*(?:\(.*)?$|^[A-Za-z_][\w.]*\(.*$")

_PLACEHOLDER_WORDS = (
    "changeme", "change_me", "change-me", "changeit", "placeholder", "example", "dummy", "redacted",
    "replace_me", "replaceme", "replace-me", "your_", "your-", "yourkey", "yourpass", "yoursecret", "yourtoken",
    "xxxxx", "*****", "....", "<your", "insert_", "sample", "notreal", "not_real", "not-a-real", "fake_", "fake-",
    "foobar", "lorem", "secret_here", "key_here", "token_here", "password_here",
)  # fmt: skip

# Keyboard and alphabet runs that people type as "random" values.
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890123456789",
    "0123456789abcdef0123456789abcdef",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiop",
    "1234567890qwertyuiop",
)


def in_template(line: bytes, start: int, end: int) -> bool:
    """Whether bytes ``start:end`` of ``line`` overlap a template span (``{{ ... }}``, ``${...}``, ...)."""
    if b"{" not in line and b"%" not in line:
        return False
    return any(m.start() < end and start < m.end() for m in _template_spans().finditer(line))


def _may_be_templated(secret: str) -> bool:
    # Decides only whether the regex is worth running: most secrets have none of these marks.
    return bool(secret) and (secret[0] in "$<{%#@_" or "{{" in secret or "}}" in secret or "%" in secret)


def templated(secret: str) -> bool:
    """A variable reference or template marker (``$VAR``, ``${VAR}``, ``{{ x }}``, ``%s``, ``<token>``)."""
    return _may_be_templated(secret) and _templated_value().search(secret) is not None


def is_sops_encrypted(secret: str) -> bool:
    """A SOPS envelope ``ENC[AES256_GCM,data:...,type:str]`` (and the PGP/KMS variants)."""
    return "ENC[" in secret and _SOPS.search(secret) is not None


def mostly_one_char(secret: str) -> bool:
    """Half or more of the value is a single repeated character (``xxxxxxxx``, ``ghp_0000...``)."""
    if len(secret) < 8:
        return False
    return max(secret.count(char) for char in set(secret)) * 2 >= len(secret)


def is_placeholder(secret: str) -> bool:
    """Documentation filler: ``changeme``, ``your_api_key_here``, ``xxxxx``, ``example``, ``dummy``..."""
    lowered = secret.lower()
    return any(word in lowered for word in _PLACEHOLDER_WORDS) or mostly_one_char(secret)


def is_sequential(secret: str) -> bool:
    """An alphabet, digit or keyboard run (``abcdefgh``, ``123456789``, ``qwertyuiop``), either way round."""
    lowered = secret.lower()
    if len(lowered) < 4:
        return False
    return any(lowered in seq or lowered[::-1] in seq for seq in _SEQUENCES)


def is_uuid_like(secret: str) -> bool:
    """A UUID: usually an identifier; only provider rules (e.g. Heroku keys) may report one."""
    return len(secret) == 36 and _UUID.search(secret) is not None


def is_reference(secret: str) -> bool:
    """Code, not a value: an attribute path or a call (``config.password``, ``getenv("X")``)."""
    return ("." in secret or "(" in secret) and _REFERENCE.search(secret) is not None


def specific_value_filtered(secret: str, line: bytes, start: int, end: int) -> bool:
    """The minimal filter for provider rules: templates, SOPS envelopes and one-character fillers."""
    return templated(secret) or is_sops_encrypted(secret) or mostly_one_char(secret) or in_template(line, start, end)


def generic_value_filtered(secret: str, line: bytes, start: int, end: int) -> bool:
    """Every value filter, for generic rules (``start:end`` is the secret's span in ``line``)."""
    if not any(char.isalnum() for char in secret):
        return True
    return (
        specific_value_filtered(secret, line, start, end)
        or is_placeholder(secret)
        or is_sequential(secret)
        or is_uuid_like(secret)
        or is_reference(secret)
    )
