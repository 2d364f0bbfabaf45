"""Flag values in the syntax of the Go controller, so existing Deployments keep their arguments.

Durations are Go's ``time.ParseDuration`` (``720h``, ``1h30m``, ``90s``; no
day unit), times are ``time.RFC1123Z`` (what ``date -R`` prints), booleans
are ``strconv.ParseBool``. Each parser raises :class:`UsageError` with a
one-line message; the caller prefixes the flag or variable it came from.
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

from gitsecure.errors import UsageError

_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
# Longest units first, so "1ms" is not read as one minute and a stray "s".
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|h|m|s)")
_DURATION = re.compile(rf"(?:{_DURATION_PART.pattern})+")
_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123Z = re.compile(
    rf"({'|'.join(_DAYS)}), (\d\d) ({'|'.join(_MONTHS)}) (\d{{4}}) "
    r"(\d\d?):(\d\d):(\d\d)(?:[.,]\d+)? ([+-])(\d\d)(\d\d)",
    re.IGNORECASE,
)
RFC1123Z_EXAMPLE = "Mon, 02 Jan 2006 15:04:05 -0700"


def parse_go_duration(text: str) -> dt.timedelta:
    """A Go duration: ``720h``, ``1h30m``, ``1.5h``, ``90s``, ``250ms``, ``0``; sub-microsecond parts are dropped."""
    value = text.strip()
    body = value[1:] if value[:1] in ("+", "-") else value
    if body == "0":
        return dt.timedelta(0)
    if not _DURATION.fullmatch(body):
        raise UsageError(f"invalid duration {text!r}: {_duration_problem(body)}")
    total = sum((Fraction(number) * _NS_PER_UNIT[unit] for number, unit in _DURATION_PART.findall(body)), Fraction())
    if total > _MAX_NS:
        raise UsageError(f"invalid duration {text!r}: longer than Go's limit of about 2562047h")
    microseconds = int(total // 1000)
    return dt.timedelta(microseconds=-microseconds if value.startswith("-") else microseconds)


def _duration_problem(body: str) -> str:
    if re.fullmatch(r"[\d.]+", body) and re.search(r"\d", body):
        return "missing unit (h, m, s, ms, us or ns)"
    unit = re.search(r"[\d.]([^\d.\s]+)", body)
    if unit and unit.group(1) not in _NS_PER_UNIT:
        return f"unknown unit {unit.group(1)!r} (use h, m, s, ms, us or ns; there is no day unit: 720h is 30 days)"
    return "use Go syntax such as 720h, 1h30m or 90s"


def format_go_duration(value: dt.timedelta) -> str:
    """``value`` as Go prints a duration, to whole seconds: ``720h0m0s``, ``1m30s``, ``0s``."""
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    return f"{sign}{minutes}m{secs}s" if minutes else f"{sign}{secs}s"


def parse_rfc1123z(text: str) -> dt.datetime:
    """A time in Go's ``RFC1123Z`` layout (``date -R``): ``Mon, 02 Jan 2006 15:04:05 -0700``; timezone-aware."""
    match = _RFC1123Z.fullmatch(text.strip())
    if match is None:
        raise UsageError(
            f"invalid time {text!r}: use RFC 1123 with a numeric zone, e.g. {RFC1123Z_EXAMPLE!r} (date -R)"
        )
    _, day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    offset = dt.timedelta(hours=int(zone_h), minutes=int(zone_m))
    try:
        month_number = [m.lower() for m in _MONTHS].index(month.lower()) + 1
        return dt.datetime(
            int(year),
            month_number,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=dt.timezone(-offset if sign == "-" else offset),
        )
    except ValueError as exc:  # day 31 of a 30-day month, hour 24, zone offset of a day or more, ...
        raise UsageError(f"invalid time {text!r}: {exc}") from None


def parse_go_bool(text: str) -> bool:
    """A boolean as Go's ``strconv.ParseBool`` reads it: 1, t, T, TRUE, true, True and their negatives."""
    value = text.strip()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"invalid boolean {text!r}: use true or false")


def parse_key_values(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` into a dict; values may contain ``=``; an entry without ``=`` is an error."""
    pairs: dict[str, str] = {}
    for entry in text.split(","):
        item = entry.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"invalid entry {item!r}: expected key=value, entries separated by commas")
        pairs[key.strip()] = value.strip()
    return pairs
