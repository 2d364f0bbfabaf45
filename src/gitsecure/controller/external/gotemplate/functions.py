"""ESO's template function map (engine ``v2``, reference §4.1): Go's builtins and Sprig, plus ESO's own helpers.

ESO registers Sprig's generic map minus ``env``, ``expandenv`` and ``getHostByName`` -- the same map the
sealed-secrets controller uses, so the Go-exact implementations of :mod:`gitsecure.seal.gotemplate.funcs` are
reused as they are. On top come the ESO helpers that need no cryptography: ``toYaml``/``fromYaml`` (through
``sigs.k8s.io/yaml``, i.e. via JSON), ``filterPEM`` (PEM blocks are text), ``hexdec``, and Sprig's ``substr``.
The helpers that parse certificates, keys or PKCS#12 are refused by name (:data:`UNSUPPORTED`): only
``gitsecure.crypto`` may parse those. Function errors carry fixed text, never an argument: the arguments are
secrets.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from gitsecure.seal.gotemplate.errors import FuncError, TooLarge
from gitsecure.seal.gotemplate.funcs import FUNCS as SPRIG
from gitsecure.seal.gotemplate.funcs import UNSUPPORTED as SPRIG_UNSUPPORTED
from gitsecure.seal.gotemplate.gostrconv import float_shortest
from gitsecure.seal.gotemplate.values import A, Func, N, S, from_bytes, to_bytes

# ESO helpers that need x509/PKCS#12/JWK parsing or a private key: a template naming one fails with a message
# saying it is unsupported here (it would render under ESO, so "not defined" would mislead).
ESO_UNSUPPORTED = frozenset(
    """pkcs12key pkcs12keyPass pkcs12cert pkcs12certPass pemToPkcs12 pemToPkcs12Pass fullPemToPkcs12
    fullPemToPkcs12Pass pemTruststoreToPKCS12 pemTruststoreToPKCS12Pass filterCertChain certSANs jwkPublicKeyPem
    jwkPrivateKeyPem rsaDecrypt""".split()  # noqa: SIM905 - a word list reads better
)

MAX_YAML_NODES = 1_000_000
_PEM_BEGIN = re.compile(r"(?:^|(?<=\n))-----BEGIN (?P<type>[^\n]*?)-----[ \t\r]*(?:\n|$)")
_PEM_END = re.compile(r"\n-----END ")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_B64_SPACE = str.maketrans("", "", " \t\r\n")


class _NoTimestamps(yaml.SafeLoader):
    """YAML 1.1 as go-yaml v2 reads it into ``interface{}``: timestamps stay strings."""


_NoTimestamps.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


class _GoYamlDumper(yaml.SafeDumper):
    """Strings styled as go-yaml v2 styles them: multi-line ones literal, ambiguous ones double-quoted."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style: str | None = None
    implicit_tag = dumper.resolve(yaml.ScalarNode, data, (True, False))  # type: ignore[no-untyped-call]
    if "\n" in data:
        style = "|"
    elif data in ("y", "Y", "n", "N") or implicit_tag != dumper.DEFAULT_SCALAR_TAG:
        style = '"'  # go-yaml quotes what would read back as another type (YAML 1.1), with double quotes
    return dumper.represent_scalar(dumper.DEFAULT_SCALAR_TAG, data, style=style)


def _represent_float(dumper: yaml.SafeDumper, data: float) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", float_shortest(data, "g"))


_GoYamlDumper.add_representer(str, _represent_str)
_GoYamlDumper.add_representer(float, _represent_float)


def _via_json(value: object, budget: list[int]) -> object:
    """``value`` as it comes back from a JSON round trip in Go: whole floats become ints, maps get string keys.

    ``budget`` counts the nodes still allowed: lists and dicts built in a template may share elements, so a
    short template can describe an exponentially large document.
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge()
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FuncError("json: unsupported value")
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, str):
        return to_bytes(value).decode("utf-8", "replace")  # Go's JSON encoder replaces invalid UTF-8
    if isinstance(value, Mapping):
        return {str(k): _via_json(v, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_via_json(v, budget) for v in value]
    raise FuncError("json: unsupported type")


def _to_yaml(value: object) -> str:
    """ESO's ``toYaml``: ``yaml.Marshal`` (sigs.k8s.io/yaml), one trailing newline removed, "" on error."""
    try:
        text = yaml.dump(
            _via_json(value, [MAX_YAML_NODES]),
            Dumper=_GoYamlDumper,
            default_flow_style=False,
            sort_keys=True,
            allow_unicode=True,
            width=1 << 30,
        )
    except TooLarge:
        raise
    except FuncError:
        return ""
    return text.removesuffix("...\n").removesuffix("\n")  # PyYAML ends a bare scalar document with "..."


def _json_number(value: object, budget: list[int]) -> object:
    """A YAML value as Go holds it after YAML -> JSON -> ``interface{}``: numbers are float64.

    ``budget`` counts the nodes still allowed: YAML aliases share nodes, so a small document can stand for
    billions of them ("billion laughs"); Go's converter refuses such documents too.
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("document too large")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not representable in JSON")
        return number
    if isinstance(value, dict):
        return {_yaml_key(k): _json_number(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_number(v, budget) for v in value]
    raise ValueError("not representable in JSON")


def _yaml_key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return float_shortest(key, "g")
    return str(key)


def load_yaml(text: str) -> object:
    """A YAML document read the way go-yaml v2 reads it (no timestamps); raises ``ValueError`` when malformed."""
    try:
        return yaml.load(text, Loader=_NoTimestamps)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError):
        raise ValueError("malformed YAML") from None


def _from_yaml(text: str) -> dict[str, object]:
    """ESO's ``fromYaml``: a map; on error, ESO (like Helm) puts the error under the key ``Error``."""
    try:
        loaded = _json_number(load_yaml(text), [MAX_YAML_NODES])
    except (ValueError, RecursionError):
        return {"Error": "error converting YAML to JSON"}
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        return {"Error": "error unmarshaling JSON: the YAML document is not a mapping"}
    return loaded


def _pem_encode(kind: str, headers: list[tuple[str, str]], body: bytes) -> str:
    """Go's ``pem.Encode``: headers (Proc-Type first, the rest sorted), then base64 in 64-column lines."""
    lines = [f"-----BEGIN {kind}-----"]
    if headers:
        ordered = [h for h in headers if h[0] == "Proc-Type"] + sorted(h for h in headers if h[0] != "Proc-Type")
        lines += [f"{key}: {value}" for key, value in ordered] + [""]
    encoded = base64.b64encode(body).decode("ascii")
    lines += [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    lines.append(f"-----END {kind}-----")
    return "\n".join(lines) + "\n"


class _PemText:
    """A text scanned for PEM blocks as Go's ``pem.Decode`` scans it, END lines indexed once (no quadratic rescans)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ends = [m.start() for m in _PEM_END.finditer(text)]

    def block(self, begin: re.Match[str]) -> tuple[str, str, int] | None:
        """The block opened by ``begin``: (type, re-encoded block, offset after it), or None if malformed."""
        text, kind = self.text, begin.group("type")
        # Go takes the first END line after the BEGIN line, whatever its type, and rejects a mismatch.
        index = bisect.bisect_left(self.ends, begin.end() - 1)
        if index == len(self.ends):
            return None
        end = self.ends[index] + 1
        marker = f"-----END {kind}-----"
        newline = text.find("\n", end)
        end_line = text[end:] if newline < 0 else text[end:newline]
        if not end_line.startswith(marker) or end_line[len(marker) :].strip(" \t\r"):
            return None
        lines = text[begin.end() : end].split("\n")
        headers: list[tuple[str, str]] = []
        while lines and ":" in lines[0]:
            key, _, value = lines.pop(0).partition(":")
            headers.append((key.strip(), value.strip()))
        try:
            body = base64.b64decode("".join(lines).translate(_B64_SPACE), validate=True)
        except (binascii.Error, ValueError):
            return None
        return kind, _pem_encode(kind, headers, body), len(text) if newline < 0 else newline + 1


def _filter_pem(kind: str, text: str) -> str:
    """ESO's ``filterPEM``: the blocks of one type (case-insensitive), re-encoded as Go's ``pem.Encode`` writes."""
    scanner = _PemText(text)
    blocks: list[str] = []
    position = after_last_block = 0
    while (begin := _PEM_BEGIN.search(text, position)) is not None:
        found = scanner.block(begin)
        if found is None:  # Go's pem.Decode skips a malformed block and looks for the next BEGIN line
            position = begin.end()
            continue
        block_type, encoded, position = found
        after_last_block = position
        if block_type.casefold() == kind.casefold():
            blocks.append(encoded)
    if not blocks and text[after_last_block:]:
        raise FuncError("error filtering pem: found junk")
    return "".join(blocks)


def _substr(start: int, end: int, text: str) -> str:
    """Sprig's ``substr``: byte offsets; a negative start means 0, a negative or too-large end the length."""
    raw = to_bytes(text)
    stop = len(raw) if end < 0 or end > len(raw) else end
    first = 0 if start < 0 else start
    if first > stop:
        raise FuncError("runtime error: slice bounds out of range")
    return from_bytes(raw[first:stop])


def _hexdec(text: str) -> str:
    """ESO's ``hexdec``: Go's ``hex.DecodeString`` (pairs of hex digits, nothing else)."""
    if not _HEX.fullmatch(text):
        raise FuncError("encoding/hex: invalid hex input")
    return from_bytes(bytes.fromhex(text))


ESO_FUNCTIONS: dict[str, Func] = {
    "toYaml": Func(_to_yaml, (A,)),
    "fromYaml": Func(_from_yaml, (S,)),
    "filterPEM": Func(_filter_pem, (S, S)),
    "hexdec": Func(_hexdec, (S,)),
    "substr": Func(_substr, (N, N, S)),
}

FUNCTIONS: dict[str, Func] = {**SPRIG, **ESO_FUNCTIONS}
"""Every function a template may call, by name."""

UNSUPPORTED = frozenset((SPRIG_UNSUPPORTED | ESO_UNSUPPORTED) - FUNCTIONS.keys())
"""Names ESO accepts that gitsecure refuses with an explicit "not supported" error."""


def function_table(extra: Mapping[str, Callable[..., Any] | Func] | None) -> dict[str, Func]:
    """:data:`FUNCTIONS` plus ``extra``; a plain callable takes any number of arguments of any type."""
    table = dict(FUNCTIONS)
    for name, function in (extra or {}).items():
        table[name] = function if isinstance(function, Func) else Func(function, (), A)
    return table
