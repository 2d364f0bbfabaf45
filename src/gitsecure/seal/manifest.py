"""Reading Kubernetes manifests the way kubectl and kubeseal do.

Input is either a stream of concatenated JSON objects (when the first
non-space character is ``{``) or a multi-document YAML stream. Errors never
quote the input: manifests carry secret values.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from gitsecure.errors import InputError

Manifest = dict[str, Any]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML without timestamp resolution.

    Kubernetes converts YAML to JSON before decoding, so an unquoted date in
    an annotation stays a string; PyYAML would turn it into a datetime.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        # A repeated key (two `stringData:` blocks, say) would silently drop values.
        seen: set[object] = set()
        if not isinstance(node, yaml.MappingNode):  # e.g. `!!map [a]`: let PyYAML report it
            return dict(super().construct_mapping(node, deep=deep))
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise InputError(
                    f"duplicate key {str(key)[:80]!r} at line {key_node.start_mark.line + 1}", reference="bad-manifest"
                )
            if isinstance(key, (str, int, float, bool)):
                seen.add(key)
        mapping: dict[object, object] = super().construct_mapping(node, deep=deep)
        return mapping


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode_text(raw: bytes) -> str:
    """Bytes to text: UTF-8, with or without BOM, and UTF-16 with a BOM.

    UTF-16 is what old PowerShell redirection writes; kubeseal silently finds
    "no secrets" in it, we read it.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"input is not valid UTF-8 (byte {exc.start})",
            reference="bad-encoding",
            hint="save the manifest as UTF-8",
        ) from None


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"duplicate key {key[:80]!r} in JSON object", reference="bad-manifest")
        result[key] = value
    return result


def _json_stream(text: str) -> Iterator[object]:
    decoder = json.JSONDecoder(object_pairs_hook=_unique_pairs)
    pos, end, index = 0, len(text), 0
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            return
        index += 1
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"input is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (object {index})",
                reference="bad-manifest",
            ) from None
        except RecursionError:
            raise InputError("input is not valid JSON: nested too deeply", reference="bad-manifest") from None
        except ValueError:  # e.g. an integer beyond Python's digit limit
            raise InputError(
                f"input is not valid JSON: a value cannot be read (object {index})", reference="bad-manifest"
            ) from None
        yield obj


def _yaml_stream(text: str) -> Iterator[object]:
    try:
        yield from yaml.load_all(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        # Only the problem and its position: the snippet PyYAML attaches would quote input.
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"input is not valid YAML or JSON: {exc.problem}{where}", reference="bad-manifest") from None
    except yaml.YAMLError:
        raise InputError("input is not valid YAML or JSON", reference="bad-manifest") from None
    except RecursionError:
        raise InputError("input is not valid YAML: nested too deeply", reference="bad-manifest") from None
    except (ValueError, TypeError, IndexError, AttributeError, OverflowError):
        # PyYAML's constructors raise plain errors for bad tagged scalars (`!!int x`, `!!timestamp 2020-13-45`).
        raise InputError(
            "input is not valid YAML: a tagged or oversized value cannot be read", reference="bad-manifest"
        ) from None


def iter_documents(text: str) -> Iterator[object]:
    """Every document of a YAML or JSON stream, skipping empty YAML documents."""
    stripped = text.lstrip()
    stream = _json_stream(stripped) if stripped.startswith("{") else _yaml_stream(text)
    for index, doc in enumerate(stream, start=1):
        if doc is not None:
            _check_encodable(doc, index)
            yield doc


def _check_encodable(doc: object, index: int) -> None:
    # `\ud800` escapes decode to lone surrogates, which no output or label can encode.
    try:
        json.dumps(doc, ensure_ascii=False, default=repr, skipkeys=True).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"document {index} holds an invalid Unicode escape (a lone surrogate)", reference="bad-manifest"
        ) from None
    except (ValueError, RecursionError):  # circular YAML aliases or extreme nesting
        raise InputError(
            f"document {index} is nested too deeply or refers to itself", reference="bad-manifest"
        ) from None


def load_objects(text: str) -> list[Manifest]:
    """Every document as a mapping; anything else is an error."""
    objects = []
    for index, doc in enumerate(iter_documents(text), start=1):
        if not isinstance(doc, dict):
            raise InputError(
                f"document {index} is not a Kubernetes object (found a {_kind_of_value(doc)})",
                reference="bad-manifest",
            )
        objects.append(doc)
    return objects


def _kind_of_value(value: object) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "value")


_LINEBREAKS = re.compile(r"[\r\n]")


def decode_base64(value: str, *, what: str) -> bytes:
    """Decode standard padded base64 as Go's encoding/json does for ``[]byte`` (CR/LF ignored)."""
    cleaned = _LINEBREAKS.sub("", value)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        position = next(
            (i for i, ch in enumerate(cleaned) if not (ch.isascii() and (ch.isalnum() or ch in "+/="))),
            len(cleaned),
        )
        raise InputError(
            f"{what} is not valid base64: illegal base64 data at input byte {position}",
            reference="bad-base64",
            hint="values under 'data' must be base64; put plain text under 'stringData' instead",
        ) from None


def mapping_field(obj: Manifest, key: str, *, where: str) -> dict[str, Any]:
    """``obj[key]`` as a mapping ({} when absent or null); an error for any other type."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{where}.{key} must be a mapping", reference="bad-manifest")
    return value


def string_map(obj: Manifest, key: str, *, where: str) -> dict[str, str]:
    """``obj[key]`` as a map of strings; non-string values are an error, as in Kubernetes."""
    value = mapping_field(obj, key, where=where)
    for item_key, item in value.items():
        if not isinstance(item_key, str) or not isinstance(item, str):
            raise InputError(
                f"{where}.{key}[{item_key!s}] must be a string (quote it in YAML)", reference="bad-manifest"
            )
    return value


def describe(obj: Manifest) -> str:
    """``namespace/name`` (or what is known of it) for messages."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    name = meta.get("name") or "<unnamed>"
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if namespace else str(name)
