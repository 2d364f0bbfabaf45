"""Building blocks the rule tables share: assignment contexts, token ends, UUIDs and the stock hint.

A token without a documented prefix is only random characters, indistinguishable
from a hash or an ID, so its rule matches it only where a name says which
provider it belongs to (``near``, ``assigned``). Each helper returns an RE2
pattern string whose group 1 is the value.
"""

from __future__ import annotations

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID_LOWER = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# After a token whose alphabet includes ``-``, a character that cannot continue it:
# ``\b`` cannot tell ``abc-`` from ``abc-def``. END_LINE also accepts the end of a line,
# END_TEXT only the end of the text.
END_LINE = r"(?:[^\w\-]|(?m:$))"
END_TEXT = r"(?:[^A-Za-z0-9_\-]|$)"

# A key name, an assignment operator and optional quotes between a provider word and the value:
# ``STRIPE_KEY=``, ``"plaid_secret": "``, ``paypalClientSecret: '``, ``key := "``.
# Only blanks (never a newline) around the operator: a name must not pair with the next line's value.
ASSIGN = r"[\w.\-]{0,8})[ \t'\"]{0,3}(?:=>|:=|[:=])[ \t'\"]{0,5}"


def near(name: str, value: str) -> str:
    """A case-insensitive ``name ... = value`` assignment, the value (case-sensitive) in group 1.

    Covers env files, YAML, JSON, INI, shell flags and code: an identifier
    containing ``name``, up to 25 more identifier characters, an optional
    closing quote, an operator, an optional opening quote, then the value and
    a character that ends it.
    """
    return (
        r"(?i)(?:" + name + r")[\w.\-]{0,25}[\"'\]]{0,2}[ \t]{0,5}(?::=|=>|=|:|[ \t])[ \t]{0,5}[\"'`]?"
        r"(?-i:(" + value + r"))(?:[\"'`\s;,)\]}<&\\]|$)"
    )


def assigned(provider: str, key: str, value: str) -> str:
    """``provider`` then ``key`` in one identifier (case-insensitive), an assignment, then ``(value)``."""
    return rf"(?i:{provider}[\w.\-]{{0,30}}?{key}{ASSIGN}({value})"


def revoke_hint(where: str) -> str:
    """The remediation hint for a token revoked in ``where`` (a console page, a settings screen)."""
    return f"revoke the token in {where}, issue a new one, and keep it in a secret store"
