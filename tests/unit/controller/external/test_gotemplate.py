"""The Go text/template engine as ESO runs it: the patterns ESO manifests use, Go's printing, and safe failures.

Go is not installed on the build machine, so every expected output below is derived by hand from Go's
text/template, fmt, encoding/json and Sprig semantics (the comment on a case says which rule decides it).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from gitsecure.controller.external.gotemplate import FUNCTIONS, UNSUPPORTED, TemplateError, render

CTX = {
    "user": "bob",
    "pass": "pw",
    "registry": "r.io",
    "tls.crt": "C",
    "json": '{"b":"2","a":1}',
    "big": '{"n":1234567,"f":0.5,"z":null}',
    "empty": "",
    "n": "3",
    "host": "db",
    "list": '["x","y"]',
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # ESO documentation patterns
        ("{{ .user }}:{{ .pass }}", "bob:pw"),
        ("postgres://{{ .user }}:{{ .pass }}@{{ .host }}:5432/app", "postgres://bob:pw@db:5432/app"),
        ('{{ printf "%s:%s" .user .pass | b64enc }}', "Ym9iOnB3"),
        (
            '{"auths":{"{{ .registry }}":{"auth":"{{ printf "%s:%s" .user .pass | b64enc }}"}}}',
            '{"auths":{"r.io":{"auth":"Ym9iOnB3"}}}',
        ),
        (
            r'{{ printf "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}" .registry (printf "%s:%s" .user .pass | b64enc) }}',
            '{"auths":{"r.io":{"auth":"Ym9iOnB3"}}}',
        ),
        ('{{ index . "tls.crt" }}', "C"),
        ("{{- range $k, $v := .json | fromJson }}{{ $k }}={{ $v }}\n{{ end -}}", "a=1\nb=2\n"),  # maps by key
        ("{{ range .list | fromJson }}[{{ . }}]{{ end }}", "[x][y]"),
        ("config:{{ .json | fromJson | toYaml | nindent 2 }}", 'config:\n  a: 1\n  b: "2"'),  # go-yaml quotes "2"
        ('{{ .user | replace "b" "B" | trimPrefix "B" }}', "oB"),
        ("{{ `{{ .not_parsed }}` }}", "{{ .not_parsed }}"),  # the Helm escape
        ('{{ "{{" }}', "{{"),
        # Go printing (fmt %v): maps sorted as map[k:v], slices as [a b], nil as <nil> inside, <no value> alone
        ('{{ list 1 "a" (list 2) }}', "[1 a [2]]"),
        ('{{ dict "b" 1 "a" (dict "x" "y") }}', "map[a:map[x:y] b:1]"),
        ("{{ .json | fromJson }}", "map[a:1 b:2]"),
        ("{{ list nil 1 }}", "[<nil> 1]"),
        ('{{ index (dict) "nope" }}', "<no value>"),  # map[string]interface{}: the zero value is nil
        ('{{ index . "nope" }}|', "|"),  # the dot is map[string]string: the zero value is ""
        ("{{ (fromJson .big).n }} {{ (fromJson .big).f }} {{ (fromJson .big).z }}", "1.234567e+06 0.5 <no value>"),
        ("{{ 1.5 }} {{ 1e6 }} {{ 1000000 }} {{ 0x10 }} {{ 'a' }}", "1.5 1e+06 1000000 16 97"),
        ('{{ true }} {{ 3 | printf "%v" }}', "true 3"),
        # printf verbs
        ('{{ printf "%d|%v|%q|%s" 42 (list 1 2) .user .n }}', '42|[1 2]|"bob"|3'),
        ('{{ printf "%d" .n }}', "%!d(string=3)"),  # Go prints a wrong verb, it does not fail
        ('{{ printf "%05.2f|%x|%t|%5s|%-4s|" 3.14159 "hi" true "ab" "c" }}', "03.14|6869|true|   ab|c   |"),
        ('{{ printf "%s" }}', "%!s(MISSING)"),
        ('{{ printf "%v|%s" nil 1 }}', "<nil>|%!s(int=1)"),
        ('{{ printf "%q" "tab\\there" }}', '"tab\\there"'),
        ('{{ print 1 2 "a" 3 }}', "1 2a3"),  # Sprint: a space only between two non-strings
        ('{{ println "a" 1 }}', "a 1\n"),
        # comparisons, truth, and/or
        ('{{ eq .n "3" "4" }} {{ eq 1 2 3 1 }} {{ ne .user "bob" }}', "true true false"),
        ('{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}', "true true true false"),
        ("{{ if 0 }}a{{ else }}b{{ end }}{{ if list }}a{{ else }}b{{ end }}{{ if 0.0 }}a{{ else }}b{{ end }}", "bbb"),
        ('{{ if dict "a" 1 }}a{{ end }}{{ if " " }}b{{ end }}{{ if .empty }}c{{ end }}', "ab"),
        ('{{ and 1 0 2 }} {{ or 0 "" "x" }} {{ and .user .pass }} {{ not .empty }}', "0 x pw true"),
        ("{{ or .user (index 1 2) }}", "bob"),  # short-circuit: the failing index is never evaluated
        ('{{ if eq .user "al" }}1{{ else if eq .user "bob" }}2{{ else }}3{{ end }}', "2"),
        ('{{ if eq .user "al" }}1{{ else if eq .user "x" }}2{{ else }}3{{ end }}', "3"),
        # variables, range, with
        ('{{ $x := "a" }}{{ $x = "b" }}{{ $x }}', "b"),
        ("{{ range (list 1 2) }}{{ $.user }}{{ end }}", "bobbob"),
        ('{{ range $i, $v := list "a" "b" }}{{ $i }}{{ $v }}{{ end }}', "0a1b"),
        ("{{ range (list) }}x{{ else }}none{{ end }}", "none"),
        ("{{ range $v := list 1 2 3 }}{{ if eq $v 2 }}{{ continue }}{{ end }}{{ $v }}{{ end }}", "13"),
        ("{{ with .empty }}x{{ else }}none{{ end }}", "none"),
        ("{{ with $v := .user }}{{ $v }}{{ . }}{{ end }}", "bobbob"),
        ("{{ with .user }}{{ . | upper | quote }}{{ end }}", '"BOB"'),
        # trimming, comments, literals, parentheses and chains
        ("a  {{- .user -}}  b", "abobb"),
        ("a {{- /* a comment */ -}} b{{/* another */}}", "ab"),
        (r'{{ "a\tb\u00e9" }}', "a\tbé"),
        ('{{ (printf "%s-%s" .user .pass) | upper }}', "BOB-PW"),
        ("{{ (fromJson .json).b }}", "2"),
        ('{{ len .user }} {{ len "héllo" }} {{ len (list 1 2) }}', "3 6 2"),  # len counts a string's bytes
        # Sprig
        ('{{ "Ym9iOnB3" | b64dec }}', "bob:pw"),
        ('{{ dict "k" "<v>&" "a" 1 | toJson }}', '{"a":1,"k":"\\u003cv\\u003e\\u0026"}'),  # json.Marshal escapes HTML
        ('{{ squote .user }} {{ quote "a" "b" }}', '\'bob\' "a" "b"'),
        ('{{ .empty | default "d" }} {{ default "d" .user }} {{ empty .empty }}', "d bob true"),
        ('{{ upper "ab" }} {{ lower "AB" }} {{ title "hello world" }}', "AB ab Hello World"),
        ('{{ trim "  x  " }}|{{ trimAll "$" "$$5$" }}|{{ trimSuffix ".com" "a.com" }}', "x|5|a"),
        ('{{ contains "ob" .user }} {{ hasPrefix "b" .user }} {{ hasSuffix "x" .user }}', "true true false"),
        ('{{ (split "," "a,b")._1 }} {{ join "," (list "a" "b") }}', "b a,b"),
        ('{{ get (dict "a" "1") "a" }}|{{ get (dict) "x" }}|{{ hasKey (dict "a" 1) "a" }}', "1||true"),
        ('{{ keys (dict "b" 1 "a" 2) | sortAlpha | join "," }}', "a,b"),
        ('{{ indent 2 "a\\nb" }}', "  a\n  b"),
        ('{{ toString 1.5 }} {{ repeat 3 "ab" }}', "1.5 ababab"),
        ('{{ substr 1 3 "hello" }} {{ substr 2 -1 "hello" }} {{ substr -1 2 "hello" }}', "el llo he"),
        ('{{ hexdec "6869" }}', "hi"),
        ('{{ (fromYaml "a: 1\\nb: [x]").b }} {{ (fromYaml "a: 1").a }}', "[x] 1"),
        ('{{ (fromYaml "- a").Error | empty }}', "false"),  # ESO/Helm: errors land under the key "Error"
        # go-yaml v2: multi-line strings literal, YAML 1.1 look-alikes (keys too) double-quoted
        (
            '{{ toYaml (dict "m" "l1\\nl2" "t" "true" "s" "plain" "y" "y") }}',
            'm: |-\n  l1\n  l2\ns: plain\nt: "true"\n"y": "y"',
        ),
        ('{{ toYaml (list 1 "a") }}', "- 1\n- a"),
    ],
)
def test_renders_like_go(source: str, expected: str) -> None:
    assert render(source, CTX) == expected


def test_sha256sum_and_binary_values_are_byte_exact() -> None:
    assert render("{{ sha256sum .user }}", CTX) == hashlib.sha256(b"bob").hexdigest()
    binary = bytes([0xFF, 0x00, 0xFE])
    assert render("{{ .bin | b64enc }}", {"bin": binary}) == base64.b64encode(binary).decode()


def test_caller_functions_extend_and_override_the_table() -> None:
    assert render("{{ shout .user }}", CTX, functions={"shout": lambda s: s.upper() + "!"}) == "BOB!"
    assert render("{{ upper .user }}", CTX, functions={"upper": lambda s: "replaced"}) == "replaced"
    assert "shout" not in FUNCTIONS


def test_context_of_nested_values_is_map_string_interface() -> None:
    context: dict[str, Any] = {"db": {"host": "h", "port": 5432}, "tags": ["a", "b"], "flag": True}
    assert render("{{ .db.host }}:{{ .db.port }} {{ .tags }} {{ .flag }}", context) == "h:5432 [a b] true"
    assert render('{{ index .db "nope" }}', context) == "<no value>"


CERT = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(range(100))).decode() + "-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n"


def _pem64(kind: str, body: bytes) -> str:
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"


def test_filter_pem_keeps_blocks_of_one_type_reencoded_as_go_does() -> None:
    # base64.encodebytes wraps at 76 columns; Go's pem.Encode writes 64, so the block comes back re-wrapped.
    bundle = "leading text\n" + KEY + CERT + CERT
    assert (
        render('{{ .pem | filterPEM "CERTIFICATE" }}', {"pem": bundle}) == _pem64("CERTIFICATE", bytes(range(100))) * 2
    )
    assert render('{{ .pem | filterPEM "private key" }}', {"pem": bundle}) == KEY  # the type matches case-insensitively
    assert render('{{ .pem | filterPEM "RSA PRIVATE KEY" }}', {"pem": KEY}) == ""


def test_filter_pem_refuses_junk_without_quoting_it() -> None:
    with pytest.raises(TemplateError) as caught:
        render('{{ .pem | filterPEM "CERTIFICATE" }}', {"pem": "not-a-pem-secret-value"})
    assert "found junk" in caught.value.message
    assert "not-a-pem-secret-value" not in caught.value.message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ .missing }}", 'executing "t" at <.missing>: map has no entry for key "missing"'),
        ("{{ .user }}\n{{ .nope }}", 'template: t:2:3: executing "t" at <.nope>'),
        ("{{ (fromJson .json).zz }}", 'map has no entry for key "zz"'),
        ("{{ (fromJson .big).z.x }}", "nil pointer evaluating interface {}.x"),
        ("{{ nope .user }}", 'function "nope" not defined'),
        ("{{ .user | pkcs12key }}", 'function "pkcs12key" is not supported'),
        ("{{ htpasswd .user .pass }}", 'function "htpasswd" is not supported'),
        ('{{ env "HOME" }}', 'function "env" not defined'),  # ESO removes env, expandenv and getHostByName
        ("{{ .user ", "unclosed action"),
        ("{{ if .user }}x", "unexpected EOF"),
        ("{{ end }}", "unexpected {{end}}"),
        ('{{ template "x" }}', "{{template}} is not supported in ExternalSecret templates"),
        ('{{ define "x" }}{{ end }}', "{{define}} is not supported"),
        ("{{ | .user }}", 'unexpected "|" in command'),  # (Go accepts a trailing "|", so "{{ .user | }}" renders)
        ("{{ $undefined }}", 'undefined variable "$undefined"'),
        ("{{ .user 1 }}", "user is not a method but has arguments"),
        ("{{ upper 3 }}", "expected string; found 3"),
        ("{{ .user.x }}", "can't evaluate field x in type string"),
        ("{{ range .user }}{{ end }}", "range can't iterate over a value of type string"),
        ("{{ lt .user 3 }}", "incompatible types for comparison"),
        ('{{ repeat 10000000 "xx" }}', "exceeds"),
        ("{{ 1 2 }}", "can't give argument to non-function"),
    ],
)
def test_errors_name_position_and_problem(source: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, CTX, name="t")
    assert message in caught.value.message
    assert caught.value.reference == "template-error"


def test_unsupported_names_cover_the_eso_certificate_helpers() -> None:
    assert {"pkcs12key", "pkcs12cert", "jwkPublicKeyPem", "certSANs", "rsaDecrypt", "filterCertChain"} <= UNSUPPORTED
    assert not UNSUPPORTED & FUNCTIONS.keys()


@pytest.mark.parametrize(
    "source",
    [
        "{{ .v.field }}",
        "{{ index .v 99 }}",
        "{{ lt .v 3 }}",
        "{{ upper (fromJson .v) }}",
        "{{ range .v }}{{ end }}",
        "{{ substr 9 2 .v }}",
        "{{ fail .v }}",
        "{{ .v | filterPEM .v }}",
        "{{ hexdec .v }}",
        "{{ (fromJson .v).a }}",
    ],
)
def test_errors_never_contain_values(source: str) -> None:
    secret = "hunter2-secret-value"
    with pytest.raises(TemplateError) as caught:
        render(source, {"v": secret})
    assert secret not in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_output_and_loops_are_capped() -> None:
    with pytest.raises(TemplateError, match="output exceeds 50 bytes"):
        render("{{ .big }}", {"big": "x" * 100}, max_output=50)
    assert render("{{ .big }}", {"big": "x" * 50}, max_output=50) == "x" * 50
    many: dict[str, Any] = {"items": list(range(200_000))}
    with pytest.raises(TemplateError, match="range iterations"):
        render("{{ range .items }}{{ end }}", many)


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9)
)


def test_shared_structures_cannot_blow_up() -> None:
    # YAML aliases ("billion laughs") and lists that share elements describe huge documents in a few bytes.
    assert render("{{ (fromYaml .v).Error | empty }}", {"v": LAUGHS}) == "false"
    assert render("{{ (fromYaml .v).Error | empty }}", {"v": "a: &a [*a]"}) == "false"
    doubling = "{{ $l := list 1 2 }}" + "{{ $l = list $l $l }}" * 40
    for tail in ("{{ toYaml $l }}", "{{ toJson $l }}", "{{ $l }}"):
        with pytest.raises(TemplateError, match="exceeds"):
            render(doubling + tail, CTX)
