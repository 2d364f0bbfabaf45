"""Offline checks that a candidate token is well-formed where its provider defines a checksum.

A rule names one of these in ``Rule.validator``; a candidate that fails is not a
token of that provider (a typo, a placeholder, a made-up example) and is dropped.
Each entry documents what it checks and where the construction comes from.

``github-crc32``
    GitHub's 2021 token format (github.blog, "Behind GitHub's new authentication
    token formats", 2021-04-05): ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``, then
    30 random base62 characters, then 6 characters holding the CRC-32 of those 30
    characters, written in base62 (alphabet ``0-9A-Za-z``) and left-padded with
    ``0``. The prefix is not part of the checksum. Verified against the example
    token in therootcompany's base62-token write-up of the format.
``npm-crc32``
    npm's access tokens (github.blog changelog, "npm has a new access token
    format", 2021-09-23): ``npm_`` plus the same 30 + 6 construction as GitHub's.
``grafana-crc32``
    Grafana service account tokens ``glsa_<32 alphanumerics>_<8 hex>``: the 8 hex
    digits are the CRC-32 (IEEE) of everything before the last underscore
    (prefix included), written as the checksum's 4 bytes in little-endian order.
    Grafana's token generator (``pkg/components/satokengen`` in grafana/grafana);
    checked against two tokens published in public repositories.
``pypi-macaroon``
    Not a checksum but a structure check: a PyPI API token is ``pypi-`` followed by
    a base64url serialized version-2 macaroon (PyPI's "API tokens" help page;
    pymacaroons' V2 format): the decoded bytes start with version byte ``0x02``
    and a location field (type ``0x01``, a varint length, printable ASCII such as
    ``pypi.org``). Random text after ``pypi-`` almost never decodes that way.

Not checksums, so not here: AWS access key ids (the account id they encode is
data, not a check digit), Slack tokens, fine-grained GitHub PATs (``github_pat_``,
no published check digits).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Mapping
from types import MappingProxyType

Checksum = Callable[[str], bool]
"""Takes the secret as the rule extracted it; True when it is well-formed."""

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_VALUE = {char: index for index, char in enumerate(_BASE62)}


def _base62_decode(text: str) -> int | None:
    value = 0
    for char in text:
        digit = _BASE62_VALUE.get(char)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


def _crc32_base62_suffix(token: str, *, prefix_len: int) -> bool:
    # 4-char prefix, 30-char random part, 6-char base62 CRC-32 of the random part.
    if len(token) != prefix_len + 36:
        return False
    body, check = token[prefix_len:-6], token[-6:]
    expected = _base62_decode(check)
    if expected is None or not body.isascii():
        return False
    return zlib.crc32(body.encode("ascii")) == expected


def github_crc32(secret: str) -> bool:
    """A classic GitHub token (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``) with a valid check suffix."""
    return secret[:4] in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_") and _crc32_base62_suffix(secret, prefix_len=4)


def npm_crc32(secret: str) -> bool:
    """An ``npm_`` access token with a valid check suffix."""
    return secret.startswith("npm_") and _crc32_base62_suffix(secret, prefix_len=4)


def grafana_crc32(secret: str) -> bool:
    """A Grafana service account token ``glsa_..._<crc32 hex, little-endian>``."""
    if not secret.startswith("glsa_") or not secret.isascii():
        return False
    body, _, check = secret.rpartition("_")
    if len(check) != 8:
        return False
    try:
        expected = bytes.fromhex(check)
    except ValueError:
        return False
    return zlib.crc32(body.encode("ascii")).to_bytes(4, "little") == expected


def pypi_macaroon(secret: str) -> bool:
    """A ``pypi-`` token whose body is a serialized version-2 macaroon starting with a location."""
    if not secret.startswith("pypi-") or not secret.isascii():
        return False
    body = secret[5:]
    # Only the first few bytes matter; decoding a bounded prefix keeps this cheap on huge inputs.
    head = body[:200]
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.urlsafe_b64decode(head)
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 4 or raw[0] != 2 or raw[1] != 1:
        return False
    length, location = raw[2], raw[3 : 3 + raw[2]]
    # One-byte varint only: a location longer than 127 bytes is not a PyPI host.
    return 0 < length < 0x80 and len(location) == length and all(0x21 <= b < 0x7F for b in location)


CHECKSUMS: Mapping[str, Checksum] = MappingProxyType(
    {
        "github-crc32": github_crc32,
        "npm-crc32": npm_crc32,
        "grafana-crc32": grafana_crc32,
        "pypi-macaroon": pypi_macaroon,
    }
)
"""Every validator a rule can name, by name."""
