"""Output as kubeseal prints it."""

from __future__ import annotations

import json

import pytest
import yaml

from gitsecure.errors import UsageError
from gitsecure.seal.render import format_for_path, parse_format, render, to_json, to_yaml

OBJ = {
    "kind": "SealedSecret",
    "apiVersion": "bitnami.com/v1alpha1",
    "metadata": {"name": "n", "namespace": "ns", "annotations": {"sealedsecrets.bitnami.com/cluster-wide": "true"}},
    "spec": {"template": {"metadata": {"name": "n", "labels": {"url": "a<b>&c", "num": "123"}}}, "encryptedData": {}},
}


def test_json_is_go_indented_with_html_escapes() -> None:
    text = to_json(OBJ)
    assert text.startswith('{\n  "kind": "SealedSecret",\n  "apiVersion": "bitnami.com/v1alpha1",\n  "metadata": {\n')
    assert text.endswith("}\n")
    assert '"url": "a\\u003cb\\u003e\\u0026c"' in text
    assert '"encryptedData": {}' in text
    assert json.loads(text) == OBJ


def test_yaml_sorts_keys_quotes_like_go_and_starts_with_separator() -> None:
    text = to_yaml(OBJ)
    assert text.startswith("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n")
    assert '    sealedsecrets.bitnami.com/cluster-wide: "true"\n' in text
    assert '        num: "123"\n' in text
    assert text.index("encryptedData") < text.index("template")
    assert yaml.safe_load(text.removeprefix("---\n")) == OBJ


def test_long_values_are_not_wrapped() -> None:
    value = "A" * 5000
    assert f"k: {value}\n" in to_yaml({"k": value})


def test_several_objects_concatenate() -> None:
    assert render([{"a": "1"}, {"b": "2"}], "yaml") == '---\na: "1"\n---\nb: "2"\n'
    assert render([{"a": 1}, {"b": 2}], "json") == '{\n  "a": 1\n}\n{\n  "b": 2\n}\n'


def test_format_parsing() -> None:
    assert parse_format("YAML") == "yaml"
    with pytest.raises(UsageError, match="unsupported output format: xml"):
        parse_format("xml")
    assert format_for_path("out.yml", "json") == "yaml"
    assert format_for_path("out.json", "yaml") == "yaml"
    assert format_for_path("out.json", "json") == "json"
