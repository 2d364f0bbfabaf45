"""Turning what a provider returns into Secret bytes, as ESO does (reference §3.1 and §3.3 "Decoding").

``property`` follows gjson's path syntax on the provider's JSON. The subset here covers what manifests use:
dotted keys with ``\\.`` escapes, ``*``/``?`` wildcards in a key, array indexes, ``#`` (length), ``#.field``
(the field of every element) and ``#(field op value)`` / ``#(…)#`` queries. Objects and arrays come back as
the raw JSON text they have in the document, numbers as gjson prints them; so a value reads the same here as
under ESO. Errors name the property and the remote key, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from gitsecure.controller.external.providers.base import ProviderError
from gitsecure.errors import GitsecureError

_DECODER = json.JSONDecoder()
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]  # public since Python 2.6, untyped
_WS = " \t\n\r"


class PropertyError(ProviderError):
    """``property`` selects nothing, or the document is not the JSON it must be."""

    reference = "provider-property"

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="invalid")


class DecodeError(GitsecureError):
    """A value does not decode under its ``decodingStrategy``."""

    reference = "decoding-strategy"


class JsonNumber(str):
    """A JSON number kept as its literal text, so it is written back exactly as the provider stored it."""


def loads_exact(text: str | bytes) -> Any:
    """``json.loads`` keeping every number's literal (as :class:`JsonNumber`); NaN/Infinity are refused."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=refuse)


def _go_json_float(value: float) -> str:
    """encoding/json's float64 text: shortest digits, an exponent below 1e-6 or from 1e21 ("1e-7", "1e+21")."""
    if value == 0:
        return "0"
    digits = Decimal(repr(value))
    exponent = digits.adjusted()
    if exponent >= 21 or exponent < -6:
        mantissa, _, exp = f"{digits:e}".partition("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        sign = exp[0] if exp[0] in "+-" else "+"
        # Go pads a positive exponent to two digits and cleans "e-07" to "e-7".
        number = exp.lstrip("+-").lstrip("0").rjust(1 if sign == "-" else 2, "0")
        return f"{mantissa}e{sign}{number}"
    return _format_f(value)


def _format_f(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, never an exponent."""
    text = f"{Decimal(repr(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _go_string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    for raw in "<>&\u2028\u2029":
        text = text.replace(raw, f"\\u{ord(raw):04x}")
    return text


def _go_json_text(value: Any) -> str:
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, str):
        return _go_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value)
    if isinstance(value, Mapping):
        members = (f"{_go_string(str(k))}:{_go_json_text(value[k])}" for k in sorted(value, key=str))
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_go_json_text(item) for item in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def go_json(value: Any) -> bytes:
    """Go's ``json.Marshal`` of ``value``: sorted keys, compact, ``<>&`` escaped, number literals kept."""
    return _go_json_text(value).encode()


def vault_value(value: Any) -> bytes:
    """A top-level Vault value as a Secret value: strings raw, numbers literal, null empty, JSON otherwise."""
    if isinstance(value, str):
        return value.encode()
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return go_json(value)


def _as_float_text(value: Any) -> bytes:
    """A value after Go decoded it into ``any`` (numbers are float64) and ESO printed it."""
    if isinstance(value, str) and not isinstance(value, JsonNumber):
        return value.encode()
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (JsonNumber, int, float)):
        # ESO's GetByteValue prints float64 with strconv.FormatFloat(v, 'f', -1, 64): never an exponent.
        return _format_f(float(value)).encode()
    return go_json(_floats(value))


def _floats(value: Any) -> Any:
    if isinstance(value, JsonNumber):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def vault_property(data: Mapping[str, Any], prop: str, key: str) -> bytes:
    """``property`` on a Vault data map: a top-level key of that exact name wins, else gjson on its JSON."""
    if prop in data:
        return vault_value(data[prop])
    found = gjson(go_json(data).decode(), prop)
    if found is None:
        raise PropertyError(f"key {prop} does not exist in secret {key}")
    return found


def vault_explode(data: Mapping[str, Any]) -> dict[str, bytes]:
    """``dataFrom.extract`` on Vault: each member, as Go prints it after decoding into ``any``."""
    return {str(k): _as_float_text(v) for k, v in data.items()}


def _escape_dots(prop: str) -> str:
    return prop.replace(".", "\\.")


def aws_property(document: bytes, prop: str, key: str) -> bytes:
    """``property`` on an AWS value: the whole name with its dots escaped first, then as a dotted path."""
    text = _text(document, key)
    found = gjson(text, _escape_dots(prop)) if "." in prop else None
    if found is None:
        found = gjson(text, prop)
    if found is None:
        raise PropertyError(f"key {prop} does not exist in secret {key}")
    return found


def raw_explode(document: bytes, key: str) -> dict[str, bytes]:
    """``dataFrom.extract`` on AWS: each member of the JSON object, strings unquoted, others as raw text."""
    text = _text(document, key)
    start = _skip_ws(text, 0)
    if start >= len(text) or text[start] != "{":
        raise PropertyError(f"unable to unmarshal secret {key}: not a JSON object")
    out: dict[str, bytes] = {}
    try:
        for name, begin, end, value in _members(text, start):
            out[name] = value.encode() if isinstance(value, str) else text[begin:end].encode()
        _DECODER.raw_decode(text, start)
    except ValueError:
        raise PropertyError(f"unable to unmarshal secret {key}: invalid JSON") from None
    return out


def _text(document: bytes, key: str) -> str:
    try:
        return document.decode()
    except UnicodeDecodeError:
        raise PropertyError(f"secret {key} is not UTF-8 JSON, so property cannot apply") from None


def decode_value(value: bytes, strategy: str) -> bytes:
    """``decodingStrategy``: None (raw), Base64, Base64URL (both padded, as Go's decoders), Auto (try both)."""
    if strategy in ("", "None"):
        return value
    cleaned = value.replace(b"\r", b"").replace(b"\n", b"")
    if strategy == "Base64":
        return _b64(cleaned, url=False)
    if strategy == "Base64URL":
        return _b64(cleaned, url=True)
    if strategy == "Auto":
        for url in (False, True):
            try:
                return _b64(cleaned, url=url)
            except DecodeError:
                continue
        return value
    raise DecodeError(f"unsupported decodingStrategy {strategy!r}")


def _b64(value: bytes, *, url: bool) -> bytes:
    alphabet = rb"[A-Za-z0-9\-_]" if url else rb"[A-Za-z0-9+/]"
    if len(value) % 4 or not re.fullmatch(alphabet + rb"*={0,2}", value):
        raise DecodeError(f"value is not {'base64url' if url else 'base64'} (decodingStrategy)")
    try:
        return base64.b64decode(value, altchars=b"-_" if url else None, validate=True)
    except binascii.Error:
        raise DecodeError(f"value is not {'base64url' if url else 'base64'} (decodingStrategy)") from None


# --- gjson subset on raw JSON text ---------------------------------------------------------------------


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def _members(text: str, start: int) -> Iterator[tuple[str, int, int, Any]]:
    """Each ``(name, value start, value end, value)`` of the object at ``start``."""
    index = _skip_ws(text, start + 1)
    if index < len(text) and text[index] == "}":
        return
    while True:
        if index >= len(text) or text[index] != '"':
            raise ValueError("object key expected")
        name, index = _scanstring(text, index + 1)
        index = _skip_ws(text, index)
        if index >= len(text) or text[index] != ":":
            raise ValueError("':' expected")
        begin = _skip_ws(text, index + 1)
        value, end = _DECODER.raw_decode(text, begin)
        yield name, begin, end, value
        index = _skip_ws(text, end)
        if index < len(text) and text[index] == ",":
            index = _skip_ws(text, index + 1)
            continue
        if index < len(text) and text[index] == "}":
            return
        raise ValueError("',' or '}' expected")


def _elements(text: str, start: int) -> Iterator[tuple[int, int, Any]]:
    index = _skip_ws(text, start + 1)
    if index < len(text) and text[index] == "]":
        return
    while True:
        value, end = _DECODER.raw_decode(text, index)
        yield index, end, value
        index = _skip_ws(text, end)
        if index < len(text) and text[index] == ",":
            index = _skip_ws(text, index + 1)
            continue
        if index < len(text) and text[index] == "]":
            return
        raise ValueError("',' or ']' expected")


def _split_path(path: str) -> list[str]:
    """Path components; ``\\.`` is a literal dot, and a query's parentheses are kept whole."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    index = 0
    while index < len(path):
        char = path[index]
        if char == "\\" and index + 1 < len(path):
            current.append("\\" + path[index + 1])
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _unescape(part: str) -> str:
    return re.sub(r"\\(.)", r"\1", part)


def _key_pattern(part: str) -> re.Pattern[str] | None:
    """A wildcard component as a regexp, or None when it is a plain key."""
    if not re.search(r"(?<!\\)[*?]", part):
        return None
    out = []
    index = 0
    while index < len(part):
        char = part[index]
        if char == "\\" and index + 1 < len(part):
            out.append(re.escape(part[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


_QUERY = re.compile(r"#\((?P<field>[^=!<>%]*?)\s*(?:(?P<op>==|!=|<=|>=|<|>|%|!%)\s*(?P<value>.*?))?\s*\)(?P<all>#?)")


def _compare(candidate: Any, op: str, raw: str) -> bool:
    try:
        wanted = json.loads(raw)
    except ValueError:
        wanted = raw
    if op in {"%", "!%"}:
        if not isinstance(candidate, str) or not isinstance(wanted, str):
            return False
        matched = _key_pattern(wanted)
        hit = bool(matched.fullmatch(candidate)) if matched else candidate == wanted
        return hit if op == "%" else not hit
    if isinstance(candidate, bool) or isinstance(wanted, bool):
        return (candidate == wanted) if op == "==" else (candidate != wanted) if op == "!=" else False
    if isinstance(candidate, (int, float)) and isinstance(wanted, (int, float)):
        pass
    elif not (isinstance(candidate, str) and isinstance(wanted, str)):
        return op == "!="
    table: dict[str, bool] = {
        "==": candidate == wanted,
        "!=": candidate != wanted,
        "<": candidate < wanted,
        "<=": candidate <= wanted,
        ">": candidate > wanted,
        ">=": candidate >= wanted,
    }
    return bool(table[op])


def _select(text: str, begin: int, end: int, value: Any, parts: list[str]) -> str | None:
    """The raw text ``parts`` selects in the value at ``text[begin:end]`` (None: nothing)."""
    if not parts:
        return text[begin:end]
    part, rest = parts[0], parts[1:]
    if isinstance(value, dict):
        pattern = _key_pattern(part)
        for name, vbegin, vend, member in _members(text, begin):
            if (pattern.fullmatch(name) is not None) if pattern else name == _unescape(part):
                return _select(text, vbegin, vend, member, rest)
        return None
    if not isinstance(value, list):
        return None
    if part == "#":
        if not rest:
            return str(len(value))
        found = [_select(text, b, e, v, rest) for b, e, v in _elements(text, begin)]
        return "[" + ",".join(item for item in found if item is not None) + "]"
    query = _QUERY.fullmatch(part)
    if query:
        field = _unescape(query["field"].strip())
        hits = []
        for b, e, element in _elements(text, begin):
            candidate: Any = element
            if field:
                sub = _select(text, b, e, element, _split_path(field))
                if sub is None:
                    continue
                candidate = json.loads(sub)
            if query["op"] is None or _compare(candidate, query["op"], query["value"]):
                hits.append((b, e, element))
                if not query["all"]:
                    break
        if not query["all"]:
            return _select(text, *hits[0], rest) if hits else None
        found = [_select(text, b, e, v, rest) for b, e, v in hits]
        return "[" + ",".join(item for item in found if item is not None) + "]"
    if part.isdigit():
        for position, (b, e, element) in enumerate(_elements(text, begin)):
            if position == int(part):
                return _select(text, b, e, element, rest)
    return None


def _result(raw: str, value: Any) -> bytes:
    """A selected value as gjson's ``String()`` prints it."""
    if isinstance(value, str):
        return value.encode()
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (int, float)):
        if re.fullmatch(r"-?[0-9]+", raw):
            return raw.encode()
        return _format_f(float(value)).encode()
    return raw.encode()


def gjson(text: str, path: str) -> bytes | None:
    """The value ``path`` selects in the JSON ``text``, as bytes (None when nothing matches or not JSON)."""
    try:
        begin = _skip_ws(text, 0)
        value, end = _DECODER.raw_decode(text, begin)
        raw = _select(text, begin, end, value, _split_path(path))
    except (ValueError, IndexError):
        return None
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return _result(raw, parsed)
