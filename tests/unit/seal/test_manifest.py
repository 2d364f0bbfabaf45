"""Reading YAML/JSON manifest streams."""

from __future__ import annotations

import codecs

import pytest

from gitsecure.errors import InputError
from gitsecure.seal.manifest import decode_base64, decode_text, load_objects


def test_multi_document_yaml_skips_empty_documents() -> None:
    text = "---\na: 1\n---\n---\nb: 2\n...\n"
    assert load_objects(text) == [{"a": 1}, {"b": 2}]


def test_concatenated_json_objects() -> None:
    assert load_objects('  {"a": 1}\n{"b": "x"}{"c": []}') == [{"a": 1}, {"b": "x"}, {"c": []}]


def test_timestamps_stay_strings() -> None:
    [obj] = load_objects("metadata:\n  annotations:\n    when: 2024-01-02T03:04:05Z\n")
    assert obj["metadata"]["annotations"]["when"] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2\n", "not valid YAML or JSON"),
        ('{"a": 1', "not valid JSON"),
        ("- just\n- a list\n", "not a Kubernetes object"),
        ("plain string\n", "not a Kubernetes object"),
    ],
)
def test_malformed_input_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load_objects(text)
    assert "\n" not in info.value.message


def test_yaml_error_does_not_quote_the_input() -> None:
    with pytest.raises(InputError) as info:
        load_objects("stringData:\n  password: hunter2-very-secret\n  bad: [unclosed\n")
    assert "hunter2" not in info.value.message


def test_utf16_and_bom_inputs_are_read() -> None:
    text = "kind: Secret\n"
    assert decode_text(codecs.BOM_UTF16_LE + text.encode("utf-16-le")) == text
    assert decode_text(codecs.BOM_UTF8 + text.encode()) == text
    with pytest.raises(InputError, match="not valid UTF-8"):
        decode_text(b"\xff\xfe\xfd"[1:])


def test_base64_like_go() -> None:
    assert decode_base64("YWJj\nZGVm", what="x") == b"abcdef"
    with pytest.raises(InputError, match="illegal base64 data at input byte 3"):
        decode_base64("YWJ*", what="x")
    with pytest.raises(InputError, match="not valid base64"):
        decode_base64("YWJjZ", what="x")


def test_duplicate_keys_are_refused_in_yaml_and_json() -> None:
    with pytest.raises(InputError, match="duplicate key 'stringData' at line 4"):
        load_objects("kind: Secret\nstringData:\n  a: one\nstringData:\n  b: two\n")
    with pytest.raises(InputError, match="duplicate key 'password' in JSON object"):
        load_objects('{"stringData": {"password": "x", "password": "y"}}')


@pytest.mark.parametrize(
    "text",
    [
        "a: !!int x",
        "!!int ",
        "a: !!float .",
        "a: !!timestamp x",
        "a: !!timestamp 2020-13-45",
        "a: " + "1" * 5000,
        "!!map [a]",
        "!!set [a]",
        '{"a": ' + "1" * 5000 + "}",
        '{"kind": "Secret", "stringData": {"k": "\\ud800"}}',
        "&a [*a]",
        'kind: Secret\n!!binary aGk=: x\nstringData: {k: "\\ud800"}\n',
    ],
    ids=lambda t: t[:24],
)
def test_inputs_found_by_fuzzing_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        load_objects(text)
