"""Base64 decode-and-rescan: find credentials hidden in base64 values (Kubernetes ``data:``, env files).

Candidates are values (after ``=`` or ``:``, optionally quoted) made of at least
:data:`MIN_LENGTH` base64 characters (standard or URL-safe alphabet, not mixed)
that decode to mostly printable text; binary blobs
(images, certificates in DER, ciphertext) are skipped. The engine rescans the
decoded text with every rule and reports what it finds at the encoded value's
position, tagged ``decoded:base64``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

from gitsecure.scan.regex import compile_bytes, match_spans

MIN_LENGTH = 16
MAX_LENGTH = 1 << 20
"""Longer runs are data (embedded files), not values; they are not decoded."""
MIN_DECODED = 8
PRINTABLE_RATIO = 0.9

# A value, not an identifier: after `=` or `:` (YAML, JSON, env files, INI, assignments), optionally
# quoted, and ending the value. Base64 of text has a shape identifiers lack: the first character of
# every 4-character group holds the top six bits of a text byte, so for printable ASCII (0x20-0x7E)
# and tab, LF, CR it is one of I-Z, a-f, C, D. Requiring that cut the candidates on 80 MB of Python
# and package data from 20,112 (camelCase and snake_case names) to 126, and the pass time by half;
# base64 of random printable text always qualifies. Text whose group-leading byte is not ASCII
# (UTF-8 accents) is not decoded.
_GROUP_START = "[CDI-Za-f]"
_STANDARD = rf"(?:{_GROUP_START}[A-Za-z0-9+/]{{3}}){{4,}}(?:{_GROUP_START}[A-Za-z0-9+/]{{1,3}})?={{0,2}}"
_URLSAFE = rf"(?:{_GROUP_START}[A-Za-z0-9_-]{{3}}){{4,}}(?:{_GROUP_START}[A-Za-z0-9_-]{{1,3}})?={{0,2}}"
_RUN = compile_bytes(rf"[=:][ \t]*[\"'`]?({_STANDARD}|{_URLSAFE})(?:[\"'`\s,;}})\]]|\z)")
_HEX = b"0123456789abcdefABCDEF"
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def _mostly_printable(raw: bytes) -> bool:
    if len(raw) < MIN_DECODED:
        return False
    sample = raw[:512]
    printable = sum(1 for byte in sample if byte in _PRINTABLE)
    return printable >= PRINTABLE_RATIO * len(sample)


def decode_value(token: bytes) -> bytes | None:
    """The decoded bytes of one base64 token when they are mostly printable text, else None."""
    body = token.rstrip(b"=")
    if len(body) % 4 == 1 or len(token) > MAX_LENGTH:
        return None
    urlsafe = b"-" in body or b"_" in body
    if urlsafe and (b"+" in body or b"/" in body):
        return None
    # Hex digests are valid base64 that decodes to noise: reject them before paying for a decode.
    # (Words are already kept out by the group-start shape of _RUN; base64 of text can be letters only.)
    if not body.translate(None, _HEX):
        return None
    padded = body + b"=" * (-len(body) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if _mostly_printable(raw) else None


def base64_values(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, decoded) for every base64 run in ``data`` that decodes to printable text."""
    for match in match_spans(_RUN, data, 0, len(data)):
        start, end = match[1]
        decoded = decode_value(data[start:end])
        if decoded is not None:
            yield start, end, decoded
