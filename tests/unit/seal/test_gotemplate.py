"""Tests for gitsecure.seal.gotemplate: Go text/template + Sprig as the sealed-secrets controller runs it.

Expected outputs are what Go's text/template (with Sprig's generic function map)
produces for a ``map[string]string`` dot; where Go behaviour is surprising the
test says why.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitsecure.errors import InputError
from gitsecure.seal import gotemplate
from gitsecure.seal.gotemplate import TemplateError, render
from gitsecure.seal.gotemplate.funcs import FUNCS, UNSUPPORTED

SECRET = "s3cr3t-Value"
DATA = {
    "foo": "bar",
    "user": "admin",
    "pass": "p@ss w/rd&",
    "password": 'pa"ss<w>&rd',
    "secret": SECRET,
    "x": "1",
    "empty": "",
}


def r(source: str, data: dict[str, str] | None = None) -> str:
    return render(source, DATA if data is None else data, name="item")


def error_of(source: str, data: dict[str, str] | None = None) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        r(source, data)
    return info.value


# --- the examples seen in SealedSecrets -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ index . "foo" }}', "bar"),
        ("{{ toJson .password }}", '"pa\\"ss\\u003cw\\u003e\\u0026rd"'),
        ("{{ .user }}:{{ .pass }}", "admin:p@ss w/rd&"),
        ('{{ printf "%s:%s" .user .pass | b64enc }}', base64.b64encode(b"admin:p@ss w/rd&").decode()),
        ("{{ .password | quote }}", '"pa\\"ss<w>&rd"'),
        ("postgres://{{ .user }}:{{ urlquery .pass }}@db:5432/app", "postgres://admin:p%40ss+w%2Frd%26@db:5432/app"),
        ("a\n{{- if .x }}\nyes\n{{- else }}\nno\n{{ end -}}\nb", "a\nyesb"),
        ("a\n{{- if .nope }}\nyes\n{{- else }}\nno\n{{ end -}}\nb", "a\nno\nb"),
        (
            "{{ range $k, $v := . }}{{ $k }}={{ $v }}\n{{ end }}",
            "".join(f"{k}={v}\n" for k, v in sorted(DATA.items())),
        ),
        ("{{ $u := .user }}{{ $u | upper }}", "ADMIN"),
        ('{{ default "x" .missing }}', "x"),
        ('{{ default "x" .empty }}', "x"),
        ('{{ default "x" .user }}', "admin"),
        ("a{{/* a comment */}}b", "ab"),
        ("a {{- /* trimmed\n comment */ -}} b", "ab"),
    ],
)
def test_examples_from_the_field(source: str, expected: str) -> None:
    assert r(source) == expected


def test_toJson_escapes_html_like_go() -> None:
    assert r("{{ toJson .v }}", {"v": "a<b"}) == '"a\\u003cb"'
    assert r("{{ toRawJson .v }}", {"v": "a<b"}) == '"a<b"'


# --- missing keys ---------------------------------------------------------------------------------


def test_missing_field_prints_no_value_even_for_a_string_map() -> None:
    # Go's default missingkey=invalid yields an invalid value whatever the map's element type,
    # and text/template prints an invalid value as "<no value>"; only missingkey=zero gives "".
    assert r("[{{ .missing }}]") == "[<no value>]"
    assert r("[{{ .missing.deeper }}]") == "[<no value>]"


def test_index_of_missing_key_is_the_zero_string() -> None:
    assert r('[{{ index . "missing" }}]') == "[]"


def test_missing_value_as_argument_follows_go_type_rules() -> None:
    assert r("[{{ .missing | quote }}]") == "[]"  # quote skips nil arguments
    assert r("{{ print .missing }}") == "<nil>"
    assert r("{{ urlquery .missing }}") == "%3Cno+value%3E"
    err = error_of("{{ upper .missing }}")
    assert "invalid value; expected string" in err.message


# --- actions, control flow, variables ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x \r\n\t{{- 3 -}}\n\n\ty", "x3y"),
        ("{{-3}}", "-3"),
        ("{{ if .x }}1{{ else if .foo }}2{{ else }}3{{ end }}", "1"),
        ("{{ if .nope }}1{{ else if .foo }}2{{ else }}3{{ end }}", "2"),
        ("{{ with .user }}<{{ . }}>{{ else }}none{{ end }}", "<admin>"),
        ("{{ with .nope }}x{{ else with .foo }}{{ . }}{{ end }}", "bar"),
        ("{{ range list }}x{{ else }}empty{{ end }}", "empty"),
        ('{{ range $i, $v := list "a" "b" }}{{ $i }}:{{ $v }},{{ end }}', "0:a,1:b,"),
        (
            "{{ range $v := list 1 2 3 4 }}{{ if eq $v 2 }}{{ continue }}{{ end }}"
            "{{ if eq $v 4 }}{{ break }}{{ end }}{{ $v }}{{ end }}",
            "13",
        ),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ $.user }}", "admin"),
        ('{{ (dict "a" (dict "b" "deep")).a.b }}', "deep"),
        ('{{ $d := dict "k" "v" }}{{ $d.k }}', "v"),
        ('{{ "raw" }} {{ `ra\\w` }} {{ "\\x41\\u00e9\\t" }}', "raw ra\\w A\u00e9\t"),
        ("{{ 42 }} {{ -7 }} {{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }} {{ 'a' }}", "42 -7 31 15 15 1000 97"),
        ("{{ 1.5 }} {{ 1.0 }} {{ 1e3 }} {{ 1e6 }} {{ 100000.0 }} {{ 0.00001 }}", "1.5 1 1000 1e+06 100000 1e-05"),
        ("{{ true }} {{ false }}", "true false"),
        ('{{ .user | printf "%s!" | printf "<%s>" }}', "<admin!>"),
        ("{{ .user | }}", "admin"),  # Go's parser accepts a trailing pipe
        ('{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" "z" }} {{ or 0 "" }}|{{ not 0 }}', "0 2 z |true"),
        ("{{ and false (fail `not evaluated`) }}", "false"),  # and/or short-circuit
        ("{{ $x := .user }}", ""),  # declarations print nothing
    ],
)
def test_language(source: str, expected: str) -> None:
    assert r(source) == expected


def test_variables_are_scoped_to_their_block() -> None:
    assert "undefined variable" in error_of("{{ with $x := 1 }}{{ end }}{{ $x }}").message


def test_dot_is_a_string_map_so_sprig_map_functions_refuse_it() -> None:
    # Go will not pass map[string]string where Sprig wants map[string]interface{}.
    err = error_of('{{ hasKey . "user" }}')
    assert "expected map[string]interface {}; got map[string]string" in err.message


def test_int64_results_are_not_ints() -> None:
    assert "expected int; got int64" in error_of('{{ repeat (add 1 1) "x" }}').message
    assert r('{{ repeat (int (add 1 1)) "x" }}') == "xx"


# --- Go builtins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ printf "%s|%d|%v|%q|%x|%X|%%" "a" 42 "v" "q" "hi" 255 }}', 'a|42|v|"q"|6869|FF|%'),
        (
            '{{ printf "%5s|%-5s|%05d|%+d|%.2f|%e|%g|%o|%b|%c|%U|%t" '
            '"a" "b" 42 3 3.14159 1234.5678 0.5 8 5 65 65 true }}',
            "    a|b    |00042|+3|3.14|1.234568e+03|0.5|10|101|A|U+0041|true",
        ),
        ('{{ printf "%[2]s-%[1]s" "a" "b" }}', "b-a"),
        ('{{ printf "%s" 5 }}', "%!s(int=5)"),
        ('{{ printf "%d" "x" }}', "%!d(string=x)"),
        ('{{ printf "%d" }}', "%!d(MISSING)"),
        ('{{ printf "%d" 1 "x" }}', "1%!(EXTRA string=x)"),
        ('{{ printf "%s" nil }}', "%!s(<nil>)"),
        ('{{ printf "%v" (list "a" nil 1) }}', "[a <nil> 1]"),
        ('{{ printf "%v" (dict "b" 2 "a" 1) }}', "map[a:1 b:2]"),
        ('{{ printf "%q" "tab\\there" }}', '"tab\\there"'),
        ('{{ print 1 2 "a" "b" 3 }}', "1 2ab3"),  # Sprint spaces only between two non-strings
        ('{{ println 1 "a" }}', "1 a\n"),
        ('{{ len .password }} {{ len "\u00e9" }} {{ len (list 1 2) }}', "11 2 2"),  # len counts bytes
        ('{{ index (list "a" "b") 1 }} {{ index (dict "k" (list 1 2)) "k" 0 }}', "b 1"),
        (
            '{{ eq .user "root" "admin" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1 2 }}',
            "true true true true true false",
        ),
        ('{{ eq .missing .nope }} {{ eq .missing "" }}', "true false"),
        ("{{ html \"<a href='x'>&\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;"),
        ('{{ js "a\'b<c=" }}', "a\\'b\\u003Cc\\u003D"),
        ('{{ urlquery "a b&c/é" }}', "a+b%26c%2F%C3%A9"),
    ],
)
def test_go_builtins(source: str, expected: str) -> None:
    assert r(source) == expected


# --- Sprig ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ "hello" | b64enc }} {{ "aGVsbG8=" | b64dec }}', "aGVsbG8= hello"),
        ('{{ "aGVsbG8" | b64dec }}', "illegal base64 data at input byte 4"),  # Sprig returns the error text
        ('{{ "hello" | b32enc }} {{ "NBSWY3DP" | b32dec }}', "NBSWY3DP hello"),
        ('{{ toJson (dict "b" (list 1 2.5 nil true) "a" "x") }}', '{"a":"x","b":[1,2.5,null,true]}'),
        ('{{ toPrettyJson (dict "a" (list 1) "b" (dict)) }}', '{\n  "a": [\n    1\n  ],\n  "b": {}\n}'),
        ('{{ toJson "\\u2028\\n\\b\\u0001" }}', '"\\u2028\\n\\b\\u0001"'),
        ('{{ (fromJson "{\\"a\\": [1, 2e30, 1e-7]}").a | toJson }}', "[1,2e+30,1e-7]"),
        ('{{ fromJson "not json" }}', "<no value>"),
        ('{{ quote "a" 1 nil }} {{ squote "a" }}', '"a" "1" \'a\''),
        (
            '{{ upper "abc\u00e9" }} {{ lower "ABC" }} {{ title "hello wORLD-foo_bar" }}',
            "ABC\u00c9 abc Hello WORLD-Foo_bar",
        ),
        (
            '[{{ trim "  a \\t" }}] {{ trimAll "$" "$$x$" }} {{ trimPrefix "x" "xy" }} {{ trimSuffix "y" "xy" }}',
            "[a] x y x",
        ),
        ('{{ trunc 3 "abcdef" }} {{ trunc -2 "abcdef" }} {{ trunc 10 "ab" }}', "abc ef ab"),
        ('{{ replace "a" "o" "banana" }} {{ repeat 3 "ab" }} {{ nospace " a b\\t" }}', "bonono ababab ab"),
        ('{{ contains "b" "abc" }} {{ hasPrefix "a" "abc" }} {{ hasSuffix "a" "abc" }}', "true true false"),
        ('{{ indent 2 "a\\nb" }}|{{ nindent 2 "c" }}', "  a\n  b|\n  c"),
        ('{{ cat "a" nil 1 }} {{ toString 3 }} {{ toString nil }}', "a 1 3 <nil>"),
        (
            '{{ splitList "," "a,b,c" | join "-" }} {{ (split "," "a,b")._1 }} {{ join "," (list 1 nil "x") }}',
            "a-b-c b 1,x",
        ),
        ('{{ sortAlpha (list "b" "a" "C") }}', "[C a b]"),
        ('{{ atoi "42" }} {{ atoi "x" }} {{ int "0x1f" }} {{ int "12.00" }} {{ int 3.9 }}', "42 0 31 12 3"),
        ("{{ add 1 2 3 }} {{ sub 1 5 }} {{ mul 2 3 4 }} {{ div 7 -2 }} {{ mod -7 2 }}", "6 -4 24 -3 -1"),
        ('{{ add "2" 1 }}', "3"),  # Sprig converts with spf13/cast
        ('{{ empty "" }} {{ empty 0 }} {{ empty (list) }} {{ empty "x" }}', "true true true false"),
        ('{{ coalesce "" nil "z" }} {{ ternary "y" "n" true }} {{ true | ternary "y" "n" }}', "z y y"),
        ('{{ list 1 "a" nil }} {{ dict "k" "v" "odd" }}', "[1 a <nil>] map[k:v odd:]"),
        (
            '{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}'
            '{{ keys $d | sortAlpha }} {{ hasKey $d "a" }} [{{ get $d "z" }}]',
            "[a b] true []",
        ),
        ("{{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3) 1 }}", "[2 3] [2 3]"),
        ('{{ sha256sum "abc" }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ('{{ sha1sum "abc" }}', "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ],
)
def test_sprig(source: str, expected: str) -> None:
    assert r(source) == expected


def test_bytes_that_are_not_utf8_stay_bytes() -> None:
    raw = b"\xff\xfe".decode("utf-8", "surrogateescape")
    assert r("{{ len .v }} {{ b64enc .v }}", {"v": raw}) == "2 //4="
    assert r("{{ .v | b64enc | b64dec }}", {"v": raw}) == raw
    assert r("{{ .v | quote }}", {"v": raw}) == '"\\xff\\xfe"'


def test_function_table_matches_the_controller() -> None:
    # sealed-secrets deletes these three from Sprig's map; Helm's "required" was never in it.
    for name in ("env", "expandenv", "getHostByName", "required"):
        assert name not in FUNCS
        assert name not in UNSUPPORTED
    assert not set(FUNCS) & UNSUPPORTED


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ .user ", "template: item:1: unclosed action"),
        ("x\n{{ .user\n", "template: item:3: unclosed action started at item:2"),
        ("{{ .user }", 'template: item:1: unexpected "}" in operand'),
        ("{{ nope .user }}", 'template: item:1: function "nope" not defined'),
        ('{{ env "HOME" }}', 'template: item:1: function "env" not defined'),
        ('{{ required "x" .user }}', 'template: item:1: function "required" not defined'),
        ("{{ sha512sum .user }}", 'function "sha512sum" is not supported'),
        ("{{ if .x }}", "template: item:1: unexpected EOF"),
        ("{{ end }}", "template: item:1: unexpected {{end}}"),
        ("{{ if }}{{ end }}", "missing value for if"),
        ("{{ $x }}", 'undefined variable "$x"'),
        ('{{ "a" | "b" }}', "non executable command in pipeline stage 2"),
        ("{{ 1x }}", 'bad number syntax: "1x"'),
        ("{{ (.user }}", "unclosed left paren"),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ('{{ define "t" }}{{ end }}', "{{define}} is not supported"),
        ("{{ .user.name }}", "can't evaluate field name in type string"),
        ("{{ .user 1 }}", "user is not a method but has arguments"),
        ("{{ upper 3 }}", "expected string; found 3"),
        ("{{ div 1 0 }}", 'executing "item" at <div 1 0>: error calling div: runtime error: integer divide by zero'),
        ("{{ eq .user 1 }}", "incompatible types for comparison: string and int"),
        ("{{ printf }}", "wrong number of args for printf: want at least 1 got 0"),
        ('{{ fail "boom" }}', "error calling fail: boom"),
    ],
)
def test_errors_are_one_line_and_go_like(source: str, message: str) -> None:
    err = error_of(source)
    assert message in err.message
    assert err.message.startswith("template: item:")
    assert "\n" not in err.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ .secret.field }}",
        "{{ fail .secret }}",
        '{{ fail (printf "bad: %s" .secret) }}',
        "{{ range .secret }}{{ end }}",
        "{{ .secret | upper | int | repeat .secret }}",
        "{{ index .secret 99 }}",
        "{{ eq .secret 1 }}",
        "{{ lt (list .secret) 1 }}",
        "{{ .secret .secret }}",
        "{{ printf .secret | nope }}",
        "{{ slice .secret 1 }}",
        "{{ index (dict .secret 1) 5 }}",
        "{{ repeat 2000000 .secret }}",
    ],
)
def test_error_messages_never_contain_data_values(source: str) -> None:
    err = error_of(source)
    assert SECRET not in err.message
    assert SECRET.lower() not in err.message.lower()
    assert SECRET not in str(err)


def test_template_error_is_an_input_error() -> None:
    err = error_of("{{")
    assert isinstance(err, InputError)
    assert err.reference == "template-error"


# --- safety ----------------------------------------------------------------------------------------


def test_no_python_attribute_is_reachable() -> None:
    assert r("{{ .__class__ }}") == "<no value>"  # only a map lookup, which misses
    assert "unexpected . after term" in error_of('{{ "x".upper }}').message
    assert 'function "__import__" not defined' in error_of("{{ __import__ }}").message


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ("{{ range 3000 }}{{ repeat 1000 `x` }}{{ end }}", "output exceeds"),
        ("{{ range $i := 1000000 }}{{ end }}", "range iterations exceed"),
        ('{{ $x := "x" }}{{ range 30 }}{{ $x = printf "%s%s" $x $x }}{{ end }}', "exceeds the 1048576 character limit"),
        ('{{ $b := repeat 1000000 "x" }}{{ range 100000 }}{{ $_ := sha256sum $b }}{{ end }}', "functions processed"),
        ('{{ $s := repeat 1000000 "x" }}{{ toJson (list $s $s) }}', "exceeds the 1048576 character limit"),
        ("{{" + "(" * 200 + "1" + ")" * 200 + "}}", "max expression depth exceeded"),
        ("{{ if 1 }}" * 200 + "{{ end }}" * 200, "max nesting depth exceeded"),
        ('{{ printf "%1000000000d" 1 }}', "%!(NOVERB)"),
    ],
)
def test_hostile_templates_fail_fast(source: str, limit: str) -> None:
    try:
        out = r(source)
    except TemplateError as exc:
        assert limit in exc.message
    else:
        assert limit in out  # Go's own guard: an absurd width is a malformed verb


def test_output_limit_counts_bytes() -> None:
    assert len(r("{{ repeat 1000000 `x` }}")) == 1_000_000
    assert "output exceeds" in error_of("{{ repeat 600000 `\u00e9` }}").message
    assert gotemplate.MAX_OUTPUT == 1 << 20


# --- properties ------------------------------------------------------------------------------------


@given(st.text().filter(lambda s: "{{" not in s))
def test_plain_text_renders_to_itself(text: str) -> None:
    assert render(text, {}, name="t") == text


@given(st.text())
def test_values_round_trip_through_json_and_base64(value: str) -> None:
    data = {"v": value}
    assert render("{{ toJson .v | fromJson | eq .v }}", data, name="t") == "true"
    assert render("{{ .v | b64enc | b64dec | eq .v }}", data, name="t") == "true"
    assert json.loads(render("{{ toRawJson .v }}", data, name="t")) == value


def test_printing_a_huge_value_from_an_action_is_a_template_error() -> None:
    # No function call is involved: the limit trips while the action's value is printed.
    source = "{{ $s := .a }}" + "{{ $s = list $s $s }}" * 21 + "{{ $s }}"
    with pytest.raises(TemplateError, match="character limit"):
        render(source, {"a": "x" * 10}, name="t")
