"""Go's ``encoding/json`` as Sprig's JSON functions see it: Marshal, MarshalIndent and a lenient Unmarshal.

Output matches Go byte for byte: map keys sorted bytewise, HTML characters
escaped unless asked not to, floats spelled as Go spells them, and invalid
UTF-8 replaced. It is built in a :class:`.values.Buf`, so it stays under the
string limit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable

from gitsecure.seal.gotemplate.errors import FuncError, TooLarge
from gitsecure.seal.gotemplate.gostrconv import float_shortest
from gitsecure.seal.gotemplate.values import Buf, sorted_keys

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_HTML = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')
_JSON_RAW = re.compile('["\\\\\x00-\x1f\u2028\u2029\ud800-\udfff]')


def _json_escape(m: re.Match[str]) -> str:
    c = m.group()
    if c in _JSON_SHORT:
        return _JSON_SHORT[c]
    return "\\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}"


def _json_float(f: float) -> str:
    if not math.isfinite(f):
        raise FuncError("json: unsupported value")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        return re.sub(r"e-0(\d)$", r"e-\1", float_shortest(f, "e"))
    return float_shortest(f, "f")


def _json(buf: Buf, v: object, html: bool, indent: str | None, level: int) -> None:
    if v is None:
        buf.add("null")
    elif isinstance(v, bool):
        buf.add("true" if v else "false")
    elif isinstance(v, int):
        buf.add(str(v))
    elif isinstance(v, float):
        buf.add(_json_float(v))
    elif isinstance(v, str):
        buf.add('"' + (_JSON_HTML if html else _JSON_RAW).sub(_json_escape, v) + '"')
    elif isinstance(v, (list, dict)):
        opener, closer = ("{", "}") if isinstance(v, dict) else ("[", "]")
        buf.add(opener)
        keys: Iterable[object] = sorted_keys(v) if isinstance(v, dict) else v
        inner = "\n" + indent * (level + 1) if indent is not None else ""
        count = 0
        for count, item in enumerate(keys, 1):
            buf.add(("," if count > 1 else "") + inner)
            if isinstance(v, dict):
                assert isinstance(item, str)
                _json(buf, item, html, None, 0)
                buf.add(": " if indent is not None else ":")
            _json(buf, v[item] if isinstance(v, dict) else item, html, indent, level + 1)
        if count and indent is not None:
            buf.add("\n" + indent * level)
        buf.add(closer)
    else:
        raise FuncError("json: unsupported type")


def json_encode(v: object, *, html: bool = True, indent: str | None = None) -> str:
    """``json.Marshal`` (``html``: escape <, >, &) or ``json.MarshalIndent`` with ``indent``."""
    buf = Buf()
    _json(buf, v, html, indent, 0)
    return buf.value()


def _json_number(text: str) -> float:
    f = float(text)
    if math.isinf(f):
        raise ValueError("out of range")  # Go refuses a number that overflows float64
    return f


def _reject_constant(_: str) -> float:
    raise ValueError("not JSON")


def from_json(s: str) -> object:
    """Sprig's ``fromJson``: Go's ``json.Unmarshal`` into an ``interface{}``, nil on any error."""
    try:
        result: object = json.loads(
            s, parse_float=_json_number, parse_int=_json_number, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError):
        return None  # Sprig's fromJson ignores the error and yields nil
    return result


def json_or_empty(v: object, *, html: bool = True, indent: str | None = None) -> str:
    """Sprig's ``toJson``/``toPrettyJson``: :func:`json_encode`, or "" if Go could not marshal ``v``."""
    try:
        return json_encode(v, html=html, indent=indent)
    except TooLarge:
        raise
    except FuncError:
        return ""  # Sprig's toJson/toPrettyJson ignore marshal errors
