"""values.py: gjson paths, Go number and JSON printing, extract per provider, decoding strategies (§3.1, §3.3)."""

from __future__ import annotations

import pytest

from gitsecure.controller.external.values import (
    DecodeError,
    PropertyError,
    aws_property,
    decode_value,
    go_json,
    loads_exact,
    raw_explode,
    vault_explode,
    vault_property,
    vault_value,
)

DOC = (
    b'{"a": {"b": [1, 2, {"c": "x"}]}, "n": 1.50, "e": 1e3, "big": 12345678901234567890, "s": "v", '
    b'"a.b": "dot", "arr": [{"name": "x", "v": "1"}, {"name": "y", "v": 2}], "nul": null, "t": true, '
    b'"o": { "z": 1 , "y": 2}}'
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b.2.c", b"x"),
        ("a.b.#", b"3"),
        ("a.b.0", b"1"),
        ("n", b"1.5"),  # non-integers print as Go's FormatFloat 'f', -1
        ("e", b"1000"),
        ("big", b"12345678901234567890"),  # integers keep their literal
        ("s", b"v"),
        ("a.b", b"dot"),  # escaped-dots first: the top-level key wins
        ("arr.#.name", b'["x","y"]'),
        ('arr.#(name=="y").v', b"2"),
        ('arr.#(name!="q")#.name', b'["x","y"]'),
        ("arr.#(v>1).name", b"y"),
        ("nul", b""),
        ("t", b"true"),
        ("o", b'{ "z": 1 , "y": 2}'),  # objects are the raw text of the document
        ("a.*.1", b"2"),
        ("a?b", b"dot"),
    ],
)
def test_aws_property_selects_like_gjson(path: str, expected: bytes) -> None:
    assert aws_property(DOC, path, "app") == expected


@pytest.mark.parametrize("path", ["missing", "a.b.9", "a.c", "s.x", 'arr.#(name=="z").v'])
def test_aws_property_missing_names_property_and_key_only(path: str) -> None:
    with pytest.raises(PropertyError) as caught:
        aws_property(DOC, path, "prod/app")
    assert caught.value.message == f"key {path} does not exist in secret prod/app"
    assert caught.value.kind == "invalid"


def test_property_on_a_non_json_value_is_missing_not_a_crash() -> None:
    with pytest.raises(PropertyError, match="key user does not exist in secret k"):
        aws_property(b"topsecret-not-json", "user", "k")
    with pytest.raises(PropertyError, match="not UTF-8"):
        aws_property(b"\xff\xfe", "user", "k")


def test_raw_explode_keeps_json_text_of_non_strings() -> None:
    assert raw_explode(b'{"n": 1.50, "z": null, "o": {"a" : 1}, "s": "x", "b": false}', "k") == {
        "n": b"1.50",
        "z": b"null",
        "o": b'{"a" : 1}',
        "s": b"x",
        "b": b"false",
    }


@pytest.mark.parametrize("document", [b"[1,2]", b'"s"', b"{bad json", b'{"a": 1,}', b"\xff"])
def test_raw_explode_refuses_non_objects_without_echoing_them(document: bytes) -> None:
    with pytest.raises(PropertyError) as caught:
        raw_explode(document, "db")
    assert "db" in caught.value.message
    assert document.decode(errors="replace") not in caught.value.message or document == b"\xff"


def test_go_json_matches_go_marshal() -> None:
    data = loads_exact(b'{"z": 1.50, "a": "<&>\\u2028\xc3\xa9", "m": {"y": [1e3, null, true]}}')
    assert go_json(data) == '{"a":"\\u003c\\u0026\\u003e\\u2028é","m":{"y":[1e3,null,true]},"z":1.50}'.encode()
    assert go_json({"f": 1e21, "g": 1e-7, "h": 0.5, "i": 100.0}) == b'{"f":1e+21,"g":1e-7,"h":0.5,"i":100}'


def test_vault_property_top_level_key_wins_and_keeps_number_literals() -> None:
    data = loads_exact(b'{"a.b": "dot", "a": {"b": "nested"}, "n": 1.50, "o": {"z": 1, "y": 2}, "nul": null}')
    assert vault_property(data, "a.b", "k") == b"dot"
    assert vault_property(data, "n", "k") == b"1.50"
    assert vault_property(data, "o", "k") == b'{"y":2,"z":1}'  # re-marshalled: sorted and compact
    assert vault_property(data, "o.z", "k") == b"1"
    assert vault_property(data, "nul", "k") == b""
    with pytest.raises(PropertyError, match="key nope does not exist in secret k"):
        vault_property(data, "nope", "k")


def test_vault_explode_prints_numbers_as_go_float64() -> None:
    data = loads_exact(b'{"n": 1.50, "e": 1e3, "h": 1e21, "s": "x", "nul": null, "b": true, "o": {"z": 2.0}}')
    assert vault_explode(data) == {
        "n": b"1.5",
        "e": b"1000",
        "h": b"1000000000000000000000",
        "s": b"x",
        "nul": b"",
        "b": b"true",
        "o": b'{"z":2}',
    }
    assert vault_value(["a", 1]) == b'["a",1]'


@pytest.mark.parametrize(
    ("value", "strategy", "expected"),
    [
        (b"aGVsbG8=", "Base64", b"hello"),
        (b"aGVs\nbG8=", "Base64", b"hello"),  # Go's decoder skips newlines
        (b"_-8=", "Base64URL", b"\xff\xef"),
        (b"aGVsbG8=", "Auto", b"hello"),
        (b"_-8=", "Auto", b"\xff\xef"),
        (b"not base64!", "Auto", b"not base64!"),
        (b"aGVsbG8", "Auto", b"aGVsbG8"),  # unpadded: Go's padded decoders refuse it, Auto keeps it raw
        (b"raw", "None", b"raw"),
        (b"raw", "", b"raw"),
    ],
)
def test_decoding_strategies(value: bytes, strategy: str, expected: bytes) -> None:
    assert decode_value(value, strategy) == expected


@pytest.mark.parametrize(
    ("value", "strategy"), [(b"aGVsbG8", "Base64"), (b"a+b=", "Base64URL"), (b"s3cr3tvalue", "Hex")]
)
def test_decoding_errors_do_not_echo_the_value(value: bytes, strategy: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_value(value, strategy)
    assert value.decode() not in caught.value.message


def test_loads_exact_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        loads_exact(b'{"a": NaN}')
