"""The Go text/template interpreter: the patterns ESO manifests use, Go's printing, and safe failures."""

from __future__ import annotations

from typing import Any

import pytest

from gitsecure.controller.external.gotemplate import TemplateError, render

CTX = {"user": "bob", "pass": "pw", "tls.crt": "C", "json": '{"b":"2","a":"1"}', "empty": "", "n": "3"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ .user }}:{{ .pass }}", "bob:pw"),
        ("postgres://{{ .user }}:{{ .pass }}@db:5432/app", "postgres://bob:pw@db:5432/app"),
        ('{{ printf "%s:%s" .user .pass | b64enc }}', "Ym9iOnB3"),
        ('{"auths":{"r":{"auth":"{{ printf "%s:%s" .user .pass | b64enc }}"}}}', '{"auths":{"r":{"auth":"Ym9iOnB3"}}}'),
        ('{{ index . "tls.crt" }}', "C"),
        ("{{ .pass | b64enc | b64dec }}", "pw"),
        ("{{- range $k, $v := .json | fromJson }}{{ $k }}={{ $v }}\n{{ end -}}", "a=1\nb=2\n"),
        ("{{ range .json | fromJson }}[{{ . }}]{{ end }}", "[1][2]"),
        ('{{ if eq .user "bob" }}yes{{ else if eq .user "x" }}x{{ else }}no{{ end }}', "yes"),
        ('{{ if eq .user "al" }}yes{{ else if eq .user "bob" }}second{{ else }}no{{ end }}', "second"),
        ("{{ if .empty }}set{{ else }}unset{{ end }}", "unset"),
        ("{{ with .user }}{{ . | upper | quote }}{{ end }}", '"BOB"'),
        ("{{ with .empty }}x{{ else }}none{{ end }}", "none"),
        ("{{ $x := .user }}{{ $x }}{{/* a comment */}}", "bob"),
        ("a  {{- .user -}}  b", "abobb"),
        ('{{ or .empty "fallback" }}', "fallback"),
        ("{{ and .user .pass }}", "pw"),
        ('{{ .empty | default "dflt" }}', "dflt"),
        ('{{ list 1 2 }} {{ dict "a" 1 }}', "[1 2] map[a:1]"),
        ("{{ len .user }}", "3"),
        ('{{ eq .n "3" "4" }}', "true"),
        ('{{ printf "%d-%q" 7 .user }}', '7-"bob"'),
        ("{{ .json | fromJson | toJson }}", '{"b":"2","a":"1"}'),
        ("{{ sha256sum .user }}", "81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9"),
        ('{{ .user | replace "b" "B" | trimPrefix "B" }}', "oB"),
        ("x:{{ .user | nindent 2 }}", "x:\n  bob"),
        ("{{ `raw {{ not parsed }}` }}", "raw {{ not parsed }}"),
    ],
)
def test_renders_like_go(source: str, expected: str) -> None:
    assert render(source, CTX) == expected


def test_filter_pem_keeps_blocks_of_one_type() -> None:
    cert = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
    pem = cert + "-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n"
    assert render('{{ .pem | filterPEM "CERTIFICATE" }}', {"pem": pem}) == cert


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ .missing }}", 'map has no entry for key "missing"'),
        ("{{ nope .user }}", 'function "nope" not defined'),
        ("{{ .user ", "unclosed action"),
        ("{{ if .user }}x", "missing {{end}}"),
        ("{{ end }}", "unexpected {{end}}"),
        ('{{ template "x" }}', "'template' is not supported"),
        ("{{ .user | }}", "missing command after '|'"),
        ("{{ $undefined }}", "undefined variable: $undefined"),
        ("{{ .user 1 }}", "can't give argument to non-function"),
        ('{{ repeat 10000000 "xx" }}', "invalid repeat"),
    ],
)
def test_errors_name_the_problem(source: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, CTX)
    assert message in caught.value.message


def test_errors_never_contain_values() -> None:
    secret = "hunter2-secret-value"
    for source in ("{{ .v | b64dec }}", "{{ index .v 99 }}", "{{ .v.field }}", "{{ lt .v 3 }}"):
        with pytest.raises(TemplateError) as caught:
            render(source, {"v": secret})
        assert secret not in caught.value.message


def test_output_and_loops_are_capped() -> None:
    with pytest.raises(TemplateError, match="output exceeds"):
        render(
            "{{ range .items }}{{ $.big }}{{ end }}",
            {"items": list(range(100)), "big": "x" * 50_000},
            max_output=1 << 20,
        )
    many: dict[str, Any] = {"items": list(range(200_000))}
    with pytest.raises(TemplateError, match="range iterations"):
        render("{{ range .items }}{{ end }}", many)
