"""Key conversion, rewrites and validation (reference §3.3).

Go is not installed here: the expected keys are derived by hand from Go's ``regexp`` (``ReplaceAllString``,
``Expand``) and ``unicode`` rules, and from ESO's conversion code as the reference describes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from gitsecure.controller.external.conversion import ConversionError, convert_keys, rewrite_keys, validate_keys
from gitsecure.controller.external.gotemplate import render
from gitsecure.controller.external.model import Rewrite

SECRET = b"hunter2-secret-value"


@pytest.mark.parametrize(
    ("key", "default", "unicode"),
    [
        ("prod/db/creds", "prod_db_creds", "prod_U002f_db_U002f_creds"),
        ("a b", "a_b", "a_U0020_b"),
        ("é-ok_.9", "é-ok_.9", "é-ok_.9"),  # Unicode letters and numbers are kept (validation refuses é later)
        ("x:y@z", "x_y_z", "x_U003a_y_U0040_z"),
        ("emoji😀", "emoji_", "emoji_U1f600_"),  # %04x of a rune above U+FFFF has five digits
        ("٣", "٣", "٣"),  # an Arabic-Indic digit is a Unicode number
    ],
)
def test_conversion_strategies(key: str, default: str, unicode: str) -> None:
    assert convert_keys({key: b"v"}, "Default") == {default: b"v"}
    assert convert_keys({key: b"v"}, "Unicode") == {unicode: b"v"}


def test_conversion_collision_is_an_error_without_values() -> None:
    with pytest.raises(ConversionError) as caught:
        convert_keys({"a/b": SECRET, "a b": SECRET}, "Default")
    assert caught.value.message.startswith("secret name collision during conversion")
    assert caught.value.reference == "key-conversion"
    assert SECRET.decode() not in caught.value.message
    assert convert_keys({"a/b": b"1", "a b": b"2"}, "Unicode") == {"a_U002f_b": b"1", "a_U0020_b": b"2"}


@pytest.mark.parametrize("key", ["a.b", "A-Z_0.9", "k" * 253, ".x", "x..y"])
def test_valid_keys_pass(key: str) -> None:
    assert validate_keys({key: b"1", "": b"dropped"}) == {key: b"1"}


@pytest.mark.parametrize("key", ["a/b", "k" * 254, ".", "..", "..x", "é", "a b"])
def test_invalid_keys_are_refused_with_the_tip(key: str) -> None:
    with pytest.raises(ConversionError) as caught:
        validate_keys({key: SECRET, "fine": b"1"})
    assert caught.value.message.startswith(
        "invalid secret keys (TIP: use rewrite or conversionStrategy to change keys)"
    )
    assert SECRET.decode() not in caught.value.message


@pytest.mark.parametrize(
    ("source", "target", "key", "expected"),
    [
        ("path/to/(.*)", "$1", "path/to/key", "key"),
        ("path/to/(.*)", "${1}x", "path/to/key", "keyx"),
        ("(a)", "$1x", "ab", "b"),  # Go reads "$1x" as the group named "1x": absent, so empty
        ("(?P<svc>[a-z]+)-(.*)", "${svc}_${2}", "db-user", "db_user"),
        ("(?<svc>[a-z]+)-(.*)", "$svc.$2", "db-user", "db.user"),  # RE2's (?<name>) spelling; "." ends the name
        ("-", "_", "a-b-c", "a_b_c"),  # every match, anywhere (unanchored)
        ("^p", "q", "pop", "qop"),
        ("(o)", "$$1", "foo", "f$1$1"),  # "$$" is a literal dollar
        ("(o)", "${1", "fo", "f${1"),  # a malformed reference stays literal
        ("(o)", "[$01]", "fo", "f[]"),  # a leading zero makes it a name, and no group has it
        ("(o)", "[$2]", "fo", "f[]"),  # a group number past the last group expands to nothing
        ("(x)?o", "[$1]", "o", "[]"),  # a group that did not participate is empty
        ("x*", "-", "abxd", "-a-b-d-"),  # Go skips an empty match right after a match (re.sub gives -a-b--d-)
        ("nomatch", "z", "key", "key"),
    ],
)
def test_regexp_rewrite_follows_go(source: str, target: str, key: str, expected: str) -> None:
    assert rewrite_keys({key: b"v"}, [Rewrite("regexp", source=source, target=target)]) == {expected: b"v"}


def test_rewrites_apply_in_order() -> None:
    rewrites = [
        Rewrite("regexp", source="^prod/", target=""),
        Rewrite("regexp", source="/", target="-"),
        Rewrite("transform", template="{{ .value | upper }}"),
    ]
    assert rewrite_keys({"prod/db/user": b"u", "prod/db/pass": b"p"}, rewrites) == {"DB-USER": b"u", "DB-PASS": b"p"}


def test_invalid_regexp_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError, match="rewrite regexp"):
        rewrite_keys({"k": b"v"}, [Rewrite("regexp", source="(", target="")])


def test_transform_rewrite_is_a_template_over_value() -> None:
    rewrite = Rewrite("transform", template='app_{{ .value | replace "/" "_" | lower }}')
    assert rewrite_keys({"DB/User": b"1"}, [rewrite]) == {"app_db_user": b"1"}
    calls: list[Mapping[str, Any]] = []

    def spy(source: str, context: Mapping[str, Any]) -> str:
        calls.append(context)
        return render(source, context)

    assert rewrite_keys({"db": b"1"}, [Rewrite("transform", template="{{ .value }}-x")], spy) == {"db-x": b"1"}
    assert calls == [{"value": "db"}]


def test_transform_errors_name_the_problem_not_the_value() -> None:
    with pytest.raises(ConversionError) as caught:
        rewrite_keys({"k": SECRET}, [Rewrite("transform", template="{{ .nope }}")])
    assert "rewrite transform" in caught.value.message
    assert 'map has no entry for key "nope"' in caught.value.message
    assert SECRET.decode() not in caught.value.message


def _merge(data: dict[str, bytes], **options: Any) -> dict[str, bytes]:
    return rewrite_keys(data, [Rewrite("merge", raw=options)])


def test_merge_extracts_members_as_keys() -> None:
    data = {"a": b'{"x": "1", "n": 5, "f": 1.5}', "b": b'{"y": {"k": "v"}, "t": true, "z": null}'}
    assert _merge(data) == {"x": b"1", "n": b"5", "f": b"1.5", "y": b'{"k":"v"}', "t": b"true", "z": b""}


def test_merge_conflicts_and_priority() -> None:
    data = {"b": b'{"x": 2}', "a": b'{"x": 1}'}
    with pytest.raises(ConversionError, match="defined in more than one source"):
        _merge(data)
    assert _merge(data, conflictPolicy="Ignore") == {"x": b"2"}  # sorted keys: "b" is merged last
    assert _merge(data, priority=["a"]) == {"x": b"1"}  # priority keys come last, so they win
    with pytest.raises(ConversionError, match="priority key 'c' not found"):
        _merge(data, priority=["c"], conflictPolicy="Ignore")
    assert _merge(data, priority=["c"], priorityPolicy="IgnoreNotFound", conflictPolicy="Ignore") == {"x": b"2"}


def test_merge_json_strategy_writes_one_key() -> None:
    data = {"a": b'{"x": 1, "h": "<&>"}', "b": b'{"y": "s"}'}
    assert _merge(data, strategy="JSON", into="all") == {"all": b'{"h":"\\u003c\\u0026\\u003e","x":1,"y":"s"}'}
    with pytest.raises(ConversionError, match="needs 'into'"):
        _merge(data, strategy="JSON")


@pytest.mark.parametrize("value", [SECRET, b'["hunter2-secret-value"]', b'"hunter2-secret-value"'])
def test_merge_refuses_non_objects_without_quoting_them(value: bytes) -> None:
    with pytest.raises(ConversionError) as caught:
        _merge({"k": value})
    assert "value of key 'k' is not a JSON object" in caught.value.message
    assert "hunter2" not in caught.value.message
