"""The syntax of an allowed_signers line and OpenSSH pattern lists, ported from OpenSSH (misc.c, match.c, sshsig.c).

Kept byte-for-byte faithful where it decides who is trusted (pattern lists, option keywords,
quoting, times); stricter where OpenSSH is lax (an empty or unknown option is an error here, and
so is a calendar date that ``mktime`` would silently roll over, such as 20250231).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import time
from dataclasses import dataclass

from gitsecure.crypto.sshkeys import KEY_TYPES

_WHITESPACE = " \t\r\n"
# OpenSSH key types that can appear in the file but never sign a git object we accept.
_UNSUPPORTED_TYPES = frozenset({"ssh-dss", "ssh-xmss@openssh.com"})
# match.c copies each sub-pattern into a 1024-byte buffer and fails the whole list past that.
_MAX_SUBPATTERN = 1023


@dataclass(frozen=True)
class LineFields:
    """The fields of one non-comment line: principals, options, and the key text left for the key parser."""

    principals: str
    cert_authority: bool
    namespaces: str | None
    window: tuple[int | None, int | None]  # valid-after, valid-before (Unix seconds)
    key: str  # "<type> <base64> [comment]"


@functools.lru_cache(maxsize=1024)
def _glob(pattern: bytes) -> re.Pattern[bytes]:
    parts = (
        b".*" if c == b"*" else b"." if c == b"?" else re.escape(c)
        for c in (pattern[i : i + 1] for i in range(len(pattern)))
    )
    return re.compile(b"".join(parts), re.DOTALL)


def match_pattern(string: str, pattern: str) -> bool:
    """OpenSSH ``match_pattern``: ``*`` and ``?`` wildcards over bytes, case-sensitive, whole string."""
    return _glob(pattern.encode("utf-8")).fullmatch(string.encode("utf-8")) is not None


def match_pattern_list(string: str, patterns: str) -> int:
    """OpenSSH ``match_pattern_list``: 1 on a positive match, -1 if a ``!`` pattern matches, else 0."""
    data = patterns.encode("utf-8")
    got_positive = False
    i, n = 0, len(data)
    while i < n:
        negated = data[i : i + 1] == b"!"
        if negated:
            i += 1
        end = data.find(b",", i)
        end = n if end < 0 else end
        sub = data[i:end]
        if len(sub) >= _MAX_SUBPATTERN:
            return 0
        i = end + 1 if end < n else end
        if _glob(sub).fullmatch(string.encode("utf-8")) is not None:
            if negated:
                return -1
            got_positive = True
    return 1 if got_positive else 0


def _principals_token(line: str) -> tuple[str, str]:
    # misc.c strdelimw: the token ends at whitespace; a double quote opens a span that may hold spaces.
    end = next((i for i, c in enumerate(line) if c in _WHITESPACE or c == '"'), None)
    if end is None:
        raise ValueError("missing key")
    if line[end] == '"':
        close = line.find('"', end + 1)
        if close < 0:
            raise ValueError("unterminated quote in principals")
        return line[:end] + line[end + 1 : close], line[close + 1 :].lstrip(_WHITESPACE)
    return line[:end], line[end + 1 :].lstrip(_WHITESPACE)


def _end_of_options(text: str) -> int:
    # sshkey_advance_past_options: options end at the first blank outside double quotes.
    quoted, i = False, 0
    while i < len(text) and (quoted or text[i] not in " \t"):
        if text[i] == "\\" and text[i + 1 : i + 2] == '"':
            i += 1
        elif text[i] == '"':
            quoted = not quoted
        i += 1
    if quoted:
        raise ValueError("unterminated quote in options")
    return i


def _dequote(text: str, i: int) -> tuple[str, int]:
    # misc.c opt_dequote: a value must be quoted; \" stands for a quote inside it.
    if text[i : i + 1] != '"':
        raise ValueError("missing start quote")
    out, i = [], i + 1
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and text[i + 1 : i + 2] == '"':
            i += 1
        out.append(text[i])
        i += 1
    if i >= len(text):
        raise ValueError("missing end quote")
    return "".join(out), i + 1


def parse_time(value: str) -> int:
    """``YYYYMMDD[HHMM[SS]]`` with an optional ``Z``/``UTC`` suffix (else local time), as Unix seconds."""
    utc = False
    if len(value) > 1 and value[-1] in "Zz":
        utc, value = True, value[:-1]
    elif len(value) > 3 and value[-3:].upper() == "UTC":
        utc, value = True, value[:-3]
    if len(value) not in (8, 12, 14) or not (value.isascii() and value.isdigit()):
        raise ValueError("invalid time")
    numbers = [int(value[i : i + 2]) for i in range(4, len(value), 2)] + [0] * ((14 - len(value)) // 2)
    month, day, hour, minute, second = numbers
    year = int(value[:4])
    dt.datetime(year, month, day, hour, minute, second)  # only validates the fields: 20250231 or hour 24 raise
    fields = (year, month, day, hour, minute, second, 0, 0, 0)
    # OpenSSH zeroes struct tm before strptime, so mktime sees tm_isdst=0; do the same to agree with it.
    seconds = calendar.timegm(fields) if utc else int(time.mktime(fields))
    if seconds <= 0:
        raise ValueError("invalid time")
    return seconds


def _parse_options(text: str) -> tuple[bool, str | None, int | None, int | None]:
    cert_authority, namespaces, after, before = False, None, None, None
    i = 0
    while i < len(text):
        rest = text[i:].lower()
        if rest.startswith("cert-authority"):
            cert_authority, i = True, i + len("cert-authority")
        elif rest.startswith("namespaces="):
            if namespaces is not None:
                raise ValueError('multiple "namespaces" clauses')
            namespaces, i = _dequote(text, i + len("namespaces="))
        elif rest.startswith(("valid-after=", "valid-before=")):
            name = "valid-after" if rest.startswith("valid-after=") else "valid-before"
            if (after if name == "valid-after" else before) is not None:
                raise ValueError(f'multiple "{name}" clauses')
            value, i = _dequote(text, i + len(name) + 1)
            try:
                seconds = parse_time(value)
            except ValueError as exc:
                raise ValueError(f'invalid "{name}" time') from exc
            after, before = (seconds, before) if name == "valid-after" else (after, seconds)
        else:
            raise ValueError("unknown key option")
        if i == len(text):
            break
        if text[i] != ",":
            raise ValueError("unknown key option")
        i += 1
        if i == len(text):
            raise ValueError("unexpected end-of-options")
    if after is not None and before is not None and before <= after:
        raise ValueError('"valid-before" time is before "valid-after"')
    return cert_authority, namespaces, after, before


def parse_line(line: str) -> LineFields | None:
    """Split one line into its fields; None for blank and comment lines; ValueError when malformed."""
    text = line.lstrip(_WHITESPACE)
    if not text or text.startswith("#"):
        return None
    principals, rest = _principals_token(text)
    if not principals:
        raise ValueError("empty principals")
    first = rest.split(maxsplit=1)[0] if rest.split() else ""
    if not first:
        raise ValueError("missing key")
    if first in KEY_TYPES:
        options, key = "", rest
    elif first in _UNSUPPORTED_TYPES or first.endswith("-cert-v01@openssh.com"):
        raise ValueError(f"unsupported key type {first}")
    else:
        end = _end_of_options(rest)
        options, key = rest[:end], rest[end:].lstrip(" \t")
        if not key:
            raise ValueError("missing key")
    cert_authority, namespaces, after, before = _parse_options(options)
    return LineFields(principals, cert_authority, namespaces, (after, before), key)
