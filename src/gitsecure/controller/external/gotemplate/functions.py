"""Go's template builtins and the sprig functions ESO templates use, with Go's printing and truth rules.

Template values are strings (ESO hands secret values to templates as strings), numbers, booleans, nil, lists
and maps. Functions raise ``ValueError("invalid ...")`` with a message that never includes an argument.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

_PEM = re.compile(r"-----BEGIN (?P<type>[A-Z0-9 ]+)-----\r?\n.*?-----END (?P=type)-----\r?\n?", re.S)
MAX_REPEAT = 1 << 20


def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil and empty strings, lists and maps are false."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float, str, bytes, list, tuple, dict)):
        return bool(value)
    if isinstance(value, Mapping):
        return len(value) > 0
    return True


def go_print(value: Any) -> str:
    """How ``{{ x }}`` / ``fmt.Sprint`` prints a value."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{go_print(k)}:{_inner(value[k])}" for k in sorted(value, key=str)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_inner(v) for v in value) + "]"
    return str(value)


def _inner(value: Any) -> str:
    return "<nil>" if value is None else go_print(value)


def _go_float(value: float) -> str:
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return text.replace("e+", "e+0") if re.search(r"e\+\d$", text) else text


def _printf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    index = 0
    argi = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        match = re.match(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])", fmt[index:])
        if match is None:
            out.append("%!(NOVERB)")
            break
        flags, width, precision, verb = match.groups()
        index += match.end()
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        text = _format_one(verb, arg, precision)
        if width:
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), "0" if "0" in flags else " ")
        out.append(text)
    if argi < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{type(a).__name__}={go_print(a)}" for a in args[argi:]) + ")")
    return "".join(out)


def _format_one(verb: str, arg: Any, precision: str | None) -> str:
    if verb in ("s", "v"):
        return go_print(arg)
    if verb == "q":
        return json.dumps(go_print(arg), ensure_ascii=False)
    if verb == "d" and isinstance(arg, int) and not isinstance(arg, bool):
        return str(arg)
    if verb == "f" and isinstance(arg, (int, float)):
        return f"{float(arg):.{int(precision) if precision else 6}f}"
    if verb == "x" and isinstance(arg, (str, bytes)):
        return (arg.encode() if isinstance(arg, str) else arg).hex()
    if verb == "x" and isinstance(arg, int):
        return format(arg, "x")
    if verb == "t" and isinstance(arg, bool):
        return go_print(arg)
    return f"%!{verb}({type(arg).__name__}={go_print(arg)})"


def _compare(op: str) -> Callable[..., bool]:
    def compare(left: Any, *rights: Any) -> bool:
        if not rights:
            raise ValueError("wrong number of args: want at least 2")
        for right in rights:
            if isinstance(left, bool) != isinstance(right, bool) or (
                isinstance(left, str) != isinstance(right, str) and op != "eq"
            ):
                raise ValueError("invalid type for comparison")
            result = {
                "eq": left == right,
                "ne": left != right,
                "lt": left < right,
                "le": left <= right,
                "gt": left > right,
                "ge": left >= right,
            }[op]
            if op == "eq" and result:
                return True
            if op != "eq":
                return bool(result)
        return False

    return compare


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, Mapping):
            item = item.get(key)  # Go's index yields the zero value for a missing key
        elif isinstance(item, (list, tuple, str)):
            if not isinstance(key, int) or not 0 <= key < len(item):
                raise ValueError("invalid index: out of range")
            item = item[key]
        else:
            raise ValueError("invalid index of a non-collection")
    return item


def _text(value: Any) -> str:
    return go_print(value) if not isinstance(value, str) else value


def _b64dec(value: Any) -> str:
    try:
        return base64.b64decode(_text(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("invalid base64 input") from None


def _from_json(value: Any) -> Any:
    try:
        return json.loads(_text(value))
    except ValueError:
        return {}  # sprig's fromJson yields an empty map on malformed input


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _from_yaml(value: Any) -> Any:
    try:
        return yaml.safe_load(_text(value)) or {}
    except yaml.YAMLError:
        return {}


def _indent(spaces: int, value: Any) -> str:
    pad = " " * int(spaces)
    return pad + _text(value).replace("\n", "\n" + pad)


def _filter_pem(kind: str, value: Any) -> str:
    return "".join(m.group(0) for m in _PEM.finditer(_text(value)) if m.group("type") == kind)


def _repeat(count: int, value: Any) -> str:
    text = _text(value)
    if count * len(text) > MAX_REPEAT:
        raise ValueError("invalid repeat: result too large")
    return text * max(0, int(count))


def _default(fallback: Any, *given: Any) -> Any:
    return given[0] if given and truth(given[0]) else fallback


def _dict(*pairs: Any) -> dict[str, Any]:
    return {_text(pairs[i]): (pairs[i + 1] if i + 1 < len(pairs) else "") for i in range(0, len(pairs), 2)}


def _substr(start: int, end: int, value: Any) -> str:
    text = _text(value)
    return text[start:] if end < 0 else text[start:end]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Go builtins (and/or are evaluated lazily by the evaluator; listed so lookups succeed)
    "and": lambda *a: a[-1],
    "or": lambda *a: a[-1],
    "not": lambda v: not truth(v),
    "len": len,
    "index": _index,
    "print": lambda *a: "".join(go_print(v) for v in a),
    "println": lambda *a: " ".join(go_print(v) for v in a) + "\n",
    "printf": _printf,
    "eq": _compare("eq"),
    "ne": _compare("ne"),
    "lt": _compare("lt"),
    "le": _compare("le"),
    "gt": _compare("gt"),
    "ge": _compare("ge"),
    # sprig: encoding
    "b64enc": lambda v: base64.b64encode(_text(v).encode()).decode(),
    "b64dec": _b64dec,
    "toJson": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
    "toPrettyJson": lambda v: json.dumps(v, indent=2, ensure_ascii=False),
    "toRawJson": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
    "fromJson": _from_json,
    "mustFromJson": lambda v: json.loads(_text(v)),
    "toYaml": _to_yaml,
    "fromYaml": _from_yaml,
    "sha256sum": lambda v: hashlib.sha256(_text(v).encode()).hexdigest(),
    # sprig: strings
    "toString": _text,
    "quote": lambda *a: " ".join(json.dumps(_text(v), ensure_ascii=False) for v in a if v is not None),
    "squote": lambda *a: " ".join(f"'{_text(v)}'" for v in a if v is not None),
    "upper": lambda v: _text(v).upper(),
    "lower": lambda v: _text(v).lower(),
    "title": lambda v: _text(v).title(),
    "trim": lambda v: _text(v).strip(),
    "trimAll": lambda cut, v: _text(v).strip(_text(cut)),
    "trimPrefix": lambda prefix, v: _text(v).removeprefix(_text(prefix)),
    "trimSuffix": lambda suffix, v: _text(v).removesuffix(_text(suffix)),
    "replace": lambda old, new, v: _text(v).replace(_text(old), _text(new)),
    "contains": lambda part, v: _text(part) in _text(v),
    "hasPrefix": lambda prefix, v: _text(v).startswith(_text(prefix)),
    "hasSuffix": lambda suffix, v: _text(v).endswith(_text(suffix)),
    "repeat": _repeat,
    "substr": _substr,
    "indent": _indent,
    "nindent": lambda spaces, v: "\n" + _indent(spaces, v),
    "split": lambda sep, v: {f"_{i}": p for i, p in enumerate(_text(v).split(_text(sep)))},
    "splitList": lambda sep, v: _text(v).split(_text(sep)),
    "join": lambda sep, v: _text(sep).join(_text(x) for x in v),
    "filterPEM": _filter_pem,
    # sprig: defaults and collections
    "default": _default,
    "empty": lambda v: not truth(v),
    "coalesce": lambda *a: next((v for v in a if truth(v)), None),
    "ternary": lambda yes, no, cond: yes if truth(cond) else no,
    "list": lambda *a: list(a),
    "dict": _dict,
    "get": lambda d, k: d.get(_text(k), "") if isinstance(d, Mapping) else "",
    "hasKey": lambda d, k: isinstance(d, Mapping) and _text(k) in d,
    "keys": lambda *ds: [k for d in ds for k in d],
    "values": lambda d: list(d.values()),
    "first": lambda v: v[0] if v else None,
    "last": lambda v: v[-1] if v else None,
}
