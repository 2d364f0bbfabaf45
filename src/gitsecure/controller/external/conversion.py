"""Secret keys from ``dataFrom``: conversion, rewrite and validation, as ESO applies them (reference §3.3).

Remote names such as ``prod/db/creds`` are not valid Secret keys. ``conversionStrategy`` replaces what a key
may not hold; a ``rewrite`` list (when present, instead of conversion) renames keys by regexp or template, or
merges JSON values. Errors name keys, never values.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitsecure.controller.external.model import Rewrite
from gitsecure.errors import GitsecureError

MAX_KEY = 253
_VALID_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# Go's ReplaceAllString template: $1, ${1}, $name, ${name}; $$ is a dollar. A name is the longest run of
# letters, digits and underscores, so "$1x" names the (absent) group "1x", which expands to nothing.
_GO_EXPAND = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<name>[A-Za-z0-9_]+))")

Render = Callable[[str, Mapping[str, Any]], str]
"""Renders a Go template with a context (``transform`` rewrites); supplied by the caller."""


class ConversionError(GitsecureError):
    """Keys cannot be converted, rewritten or validated (message names the key, never a value)."""

    reference = "key-conversion"


def _convert_rune(char: str, strategy: str) -> str:
    category = unicodedata.category(char)
    if category[0] in "LN" or char in "-._":
        return char
    return "_" if strategy != "Unicode" else f"_U{ord(char):04x}_"


def convert_keys(data: Mapping[str, bytes], strategy: str) -> dict[str, bytes]:
    """``conversionStrategy``: Default (``_``) or Unicode (``_U%04x_``) for every rune a key may not hold."""
    out: dict[str, bytes] = {}
    for key, value in data.items():
        converted = "".join(_convert_rune(char, strategy) for char in key)
        if converted in out:
            raise ConversionError(f"secret name collision during conversion: {converted}")
        out[converted] = value
    return out


def validate_keys(data: Mapping[str, bytes]) -> dict[str, bytes]:
    """Empty keys dropped; a key too long or holding other characters is an error (ESO's TIP included)."""
    out: dict[str, bytes] = {}
    bad = []
    for key, value in data.items():
        if not key:
            continue
        if len(key) > MAX_KEY or not _VALID_KEY.fullmatch(key):
            bad.append(key)
            continue
        out[key] = value
    if bad:
        names = ", ".join(sorted(bad)[:5])
        raise ConversionError(f"invalid secret keys {names} (TIP: use rewrite or conversionStrategy to change keys)")
    return out


def _go_expand(template: str, match: re.Match[str]) -> str:
    def one(found: re.Match[str]) -> str:
        if found.group(0) == "$$":
            return "$"
        name = found.group("braced") if found.group("braced") is not None else found.group("name")
        if name is None:
            return ""
        try:
            group = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:  # no such group: Go expands it to nothing
            return ""
        return group or ""

    return _GO_EXPAND.sub(one, template)


def _compile(source: str) -> re.Pattern[str]:
    try:
        # RE2 also accepts (?<name>…), which Python 3.11 does not: use the (?P<name>…) spelling.
        return re.compile(re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", source))
    except re.error as exc:
        raise ConversionError(f"rewrite regexp {source!r} is invalid: {exc}") from None


def _regexp(data: Mapping[str, bytes], rewrite: Rewrite) -> dict[str, bytes]:
    pattern = _compile(rewrite.source)
    out: dict[str, bytes] = {}
    for key, value in data.items():
        out[pattern.sub(lambda m: _go_expand(rewrite.target, m), key)] = value
    return out


def _transform(data: Mapping[str, bytes], rewrite: Rewrite, render: Render | None) -> dict[str, bytes]:
    if render is None:
        raise ConversionError("rewrite.transform needs the template engine")
    out: dict[str, bytes] = {}
    for key, value in data.items():
        out[render(rewrite.template, {"value": key})] = value
    return out


def _merge(data: Mapping[str, bytes], rewrite: Rewrite) -> dict[str, bytes]:
    options = rewrite.raw
    conflict = str(options.get("conflictPolicy") or "Error")
    priority = [str(k) for k in options.get("priority") or []]
    priority_policy = str(options.get("priorityPolicy") or "Strict")
    strategy = str(options.get("strategy") or "Extract")
    if priority_policy == "Strict":
        absent = [k for k in priority if k not in data]
        if absent:
            raise ConversionError(f"merge: priority key {absent[0]} not found")
    order = [k for k in sorted(data) if k not in priority] + [k for k in priority if k in data]
    merged: dict[str, Any] = {}
    for key in order:
        try:
            document = json.loads(data[key])
        except ValueError:
            raise ConversionError(f"merge: value of key {key} is not a JSON object") from None
        if not isinstance(document, dict):
            raise ConversionError(f"merge: value of key {key} is not a JSON object")
        for member, value in document.items():
            if member in merged and conflict == "Error" and key not in priority:
                raise ConversionError(f"merge: key {member} is defined in more than one source")
            merged[member] = value
    if strategy == "JSON":
        into = str(options.get("into") or "")
        if not into:
            raise ConversionError("merge: strategy JSON needs 'into'")
        return {into: json.dumps(merged, separators=(",", ":"), sort_keys=True).encode()}
    return {
        member: value.encode() if isinstance(value, str) else json.dumps(value, separators=(",", ":")).encode()
        for member, value in merged.items()
    }


def rewrite_keys(
    data: Mapping[str, bytes], rewrites: Sequence[Rewrite], render: Render | None = None
) -> dict[str, bytes]:
    """Apply ``rewrite`` items in order (regexp, transform with ``.value`` = the key, merge)."""
    out = dict(data)
    for rewrite in rewrites:
        if rewrite.kind == "regexp":
            out = _regexp(out, rewrite)
        elif rewrite.kind == "transform":
            out = _transform(out, rewrite, render)
        else:
            out = _merge(out, rewrite)
    return out
