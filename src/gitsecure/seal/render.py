"""Printing objects the way kubeseal does.

JSON: Go's ``MarshalIndent`` with two spaces, struct field order, HTML
characters escaped, one newline after each object. YAML: ``sigs.k8s.io/yaml``
output, i.e. every key sorted, 2-space indent, double quotes where quoting is
needed, no line wrapping, and ``---`` before each document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml

from gitsecure.errors import UsageError

FORMATS = ("json", "yaml")


def parse_format(value: str) -> str:
    """Validate ``-o/--format`` (case-insensitive, as kubeseal)."""
    fmt = value.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unsupported output format: {value}", reference="bad-format", hint="use json or yaml")
    return fmt


def to_json(obj: Any) -> str:
    """One object as Go's encoding/json prints it indented, newline-terminated."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    # encoding/json escapes these even inside strings; they can only occur in strings.
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text + "\n"


class _GoYamlDumper(yaml.SafeDumper):
    """A SafeDumper that quotes like go-yaml: double quotes, literal blocks for multi-line text."""

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and all(c.isprintable() or c == "\n" for c in value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_GoYamlDumper.add_representer(str, _represent_str)


def to_yaml(obj: Any) -> str:
    """One object as ``---`` followed by sorted-key YAML."""
    body = yaml.dump(
        obj,
        Dumper=_GoYamlDumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=float("inf"),
        indent=2,
    )
    return "---\n" + body


def render(objects: Iterable[Any], fmt: str) -> str:
    """Every object in ``fmt``, concatenated as kubeseal prints several."""
    dump = to_json if fmt == "json" else to_yaml
    return "".join(dump(obj) for obj in objects)


def format_for_path(path: str, fmt: str) -> str:
    """kubeseal's rule: a ``.yaml``/``.yml`` output file forces YAML."""
    return "yaml" if path.lower().endswith((".yaml", ".yml")) else fmt
