"""Secret keys from ``dataFrom``: conversion, rewrite and validation, as ESO applies them (reference §3.3).

Remote names such as ``prod/db/creds`` are not valid Secret keys. ``conversionStrategy`` replaces what a key
may not hold; a ``rewrite`` list (when present, instead of conversion) renames keys by regexp or template, or
merges JSON values. Errors name keys and options, never values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitsecure.controller.external.gotemplate import TemplateError, go_bytes
from gitsecure.controller.external.gotemplate import render as render_template
from gitsecure.controller.external.model import Rewrite
from gitsecure.controller.external.values import go_json, loads_exact, vault_value
from gitsecure.errors import GitsecureError

MAX_KEY = 253
_VALID_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_INVALID_KEYS = "invalid secret keys (TIP: use rewrite or conversionStrategy to change keys)"
_GO_WORD = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})  # Go's unicode.IsLetter and unicode.IsDigit
_COLLISION = "secret name collision during conversion"

Render = Callable[[str, Mapping[str, Any]], str]
"""Renders a Go template with a context (``transform`` rewrites)."""


class ConversionError(GitsecureError):
    """Keys cannot be converted, rewritten or validated (the message names keys, never values)."""

    reference = "key-conversion"


def _convert_rune(char: str, strategy: str) -> str:
    # Go's unicode.IsLetter / unicode.IsNumber are the L* and N* categories.
    if unicodedata.category(char)[0] in "LN" or char in "-._":
        return char
    return f"_U{ord(char):04x}_" if strategy == "Unicode" else "_"


def convert_keys(data: Mapping[str, bytes], strategy: str) -> dict[str, bytes]:
    """``conversionStrategy``: Default (``_``) or Unicode (``_U%04x_``) for every rune a key may not hold.

    Two keys converting to the same name is an error (``secret name collision during conversion``).
    """
    out: dict[str, bytes] = {}
    for key, value in data.items():
        converted = "".join(_convert_rune(char, strategy) for char in key)
        if converted in out:
            raise ConversionError(f"{_COLLISION}: {converted}")
        out[converted] = value
    return out


def _valid(key: str) -> bool:
    # Kubernetes' IsConfigMapKey: length, alphabet, and no "." / ".." / "..x" (they would be directory names).
    return len(key) <= MAX_KEY and bool(_VALID_KEY.fullmatch(key)) and key != "." and not key.startswith("..")


def _show(key: str) -> str:
    return repr(key if len(key) <= 64 else key[:61] + "...")


def validate_keys(data: Mapping[str, bytes]) -> dict[str, bytes]:
    """Empty keys dropped; a key too long or holding other characters is an error (ESO's TIP included)."""
    out = {key: value for key, value in data.items() if key}
    bad = sorted(key for key in out if not _valid(key))
    if bad:
        names = ", ".join(_show(key) for key in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ConversionError(f"{_INVALID_KEYS}: {names}")
    return out


def _go_group(text: str) -> tuple[str, int, str] | None:
    """Go's ``regexp.extract``: the group name after ``$``, its number (-1 if a name) and the rest, or None."""
    brace = text.startswith("{")
    body = text[1:] if brace else text
    end = 0
    while end < len(body) and (body[end] == "_" or unicodedata.category(body[end]) in _GO_WORD):
        end += 1
    if end == 0 or (brace and body[end : end + 1] != "}"):
        return None
    name = body[:end]
    number = int(name) if name.isascii() and name.isdigit() and (name == "0" or name[0] != "0") else -1
    return name, number, body[end + brace :]


def _go_expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``; ``$$`` is ``$``; unknown groups expand
    to nothing; a malformed reference stays literal. A name is the longest run of letters, digits and ``_``,
    so ``$1x`` names the group "1x" (normally absent, hence empty), not group 1 followed by "x"."""
    out: list[str] = []
    rest = template
    while (dollar := rest.find("$")) >= 0:
        out.append(rest[:dollar])
        rest = rest[dollar + 1 :]
        if rest.startswith("$"):
            out.append("$")
            rest = rest[1:]
            continue
        found = _go_group(rest)
        if found is None:
            out.append("$")
            continue
        name, number, rest = found
        if number >= 0:
            if number <= (match.re.groups or 0):
                out.append(match.group(number) or "")
        elif name in match.re.groupindex:
            out.append(match.group(name) or "")
    out.append(rest)
    return "".join(out)


def _compile(source: str) -> re.Pattern[str]:
    try:
        # RE2 also accepts (?<name>...), which Python 3.11 does not: use the (?P<name>...) spelling.
        return re.compile(re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", source))
    except re.error as exc:
        raise ConversionError(f"rewrite regexp {source!r} is invalid: {exc.msg}") from None


def replace_all(pattern: re.Pattern[str], text: str, template: str) -> str:
    """Go's ``Regexp.ReplaceAllString``: unlike ``re.sub``, an empty match right after a match is not replaced."""
    out: list[str] = []
    last_end = search = 0
    while search <= len(text):
        match = pattern.search(text, search)
        if match is None:
            break
        start, end = match.span()
        out.append(text[last_end:start])
        if end > last_end or start == 0:
            out.append(_go_expand(template, match))
        last_end = end
        search = search + 1 if end <= search else end
    out.append(text[last_end:])
    return "".join(out)


def _regexp(data: Mapping[str, bytes], rewrite: Rewrite) -> dict[str, bytes]:
    pattern = _compile(rewrite.source)
    return {replace_all(pattern, key, rewrite.target): value for key, value in data.items()}


def _transform(data: Mapping[str, bytes], rewrite: Rewrite, render: Render) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in data.items():
        try:
            new_key = render(rewrite.template, {"value": key})
        except TemplateError as exc:
            raise ConversionError(f"rewrite transform: {exc.message}") from None
        out[go_bytes(new_key).decode("utf-8", "replace")] = value
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
            raise ConversionError(f"rewrite merge: priority key {_show(absent[0])} not found")
    # Sorted keys first, then the priority keys in their order: a later source wins, so priority keys win.
    order = [k for k in sorted(data) if k not in priority] + [k for k in dict.fromkeys(priority) if k in data]
    merged: dict[str, Any] = {}
    for key in order:
        try:
            document = loads_exact(data[key])
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise ConversionError(f"rewrite merge: the value of key {_show(key)} is not a JSON object")
        for member, value in document.items():
            if member in merged and conflict != "Ignore" and key not in priority:
                raise ConversionError(f"rewrite merge: key {_show(member)} is defined in more than one source")
            merged[member] = value
    if strategy == "JSON":
        into = str(options.get("into") or "")
        if not into:
            raise ConversionError("rewrite merge: strategy JSON needs 'into'")
        return {into: go_json(merged)}
    return {member: vault_value(value) for member, value in merged.items()}


def rewrite_keys(
    data: Mapping[str, bytes], rewrites: Sequence[Rewrite], render: Render | None = None
) -> dict[str, bytes]:
    """Apply ``rewrite`` items in order: regexp (Go ``ReplaceAllString`` on each key), transform (a template with
    ``.value`` = the key; ``render`` defaults to ESO's engine), merge (JSON values merged, §3.3)."""
    out = dict(data)
    for rewrite in rewrites:
        if rewrite.kind == "regexp":
            out = _regexp(out, rewrite)
        elif rewrite.kind == "transform":
            out = _transform(out, rewrite, render or _render_transform)
        elif rewrite.kind == "merge":
            out = _merge(out, rewrite)
        else:
            raise ConversionError(f"unknown rewrite kind {rewrite.kind!r}")
    return out


def _render_transform(source: str, context: Mapping[str, Any]) -> str:
    return render_template(source, context, name="transform")
