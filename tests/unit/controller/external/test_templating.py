"""``target.template`` rendering: precedence, templateFrom, metadata, and failures (reference §4.1).

Expected outputs are derived by hand from ESO's v2 engine (Go is not installed here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from gitsecure.controller.external.gotemplate import TemplateError
from gitsecure.controller.external.model import TemplateSpec
from gitsecure.controller.external.templating import RenderedSecret, render_template

DATA = {"user": b"bob", "pass": b"pw"}
SECRET = b"hunter2-secret-value"


def _none(name: str) -> dict[str, Any]:
    raise AssertionError(f"unexpected lookup of {name}")


def _render(
    spec: TemplateSpec,
    data: Mapping[str, bytes] = DATA,
    *,
    maps: Mapping[str, Mapping[str, str]] | None = None,
    secrets: Mapping[str, Mapping[str, bytes]] | None = None,
    existing: Mapping[str, bytes] | None = None,
) -> RenderedSecret:
    return render_template(
        spec,
        data,
        config_maps=(lambda n: (maps or {})[n]) if maps is not None else _none,
        secrets=(lambda n: (secrets or {})[n]) if secrets is not None else _none,
        existing=existing,
    )


def test_dockerconfigjson_from_the_eso_docs() -> None:
    spec = TemplateSpec(
        type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": '{"auths":{"r.io":{"auth":"{{ printf "%s:%s" .user .pass | b64enc }}"}}}'},
        finalizers=("example.com/keep",),
    )
    out = _render(spec)
    assert out.data == {".dockerconfigjson": b'{"auths":{"r.io":{"auth":"Ym9iOnB3"}}}'}
    assert out.type == "kubernetes.io/dockerconfigjson"
    assert out.finalizers == ("example.com/keep",)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # Replace (the default) with data templates: provider keys are not copied
        (TemplateSpec(data={"url": "https://{{ .user }}@x"}), {"url": b"https://bob@x"}),
        # Merge: provider keys copied, a template of the same name wins
        (
            TemplateSpec(merge_policy="Merge", data={"user": "{{ .user | upper }}", "url": "{{ .pass }}"}),
            {"user": b"BOB", "pass": b"pw", "url": b"pw"},
        ),
        # no data and no templateFrom: provider data copied whatever the merge policy
        (TemplateSpec(labels={"app": "{{ .user }}"}), DATA),
        # templateFrom alone also stops the copy under Replace
        (TemplateSpec(template_from=({"literal": "k: '{{ .user }}'"},)), {"k": b"bob"}),
    ],
)
def test_merge_policy_decides_whether_provider_data_is_copied(spec: TemplateSpec, expected: dict[str, bytes]) -> None:
    assert _render(spec).data == expected


def test_precedence_data_over_template_from_over_provider_over_existing() -> None:
    maps = {"tpl": {"pairs": "a: from-template-from\nb: '{{ .user }}'\nc: '{{ .pass }}'"}}
    spec = TemplateSpec(
        merge_policy="Merge",
        data={"a": "from-data"},
        template_from=({"configMap": {"name": "tpl", "items": [{"key": "pairs", "templateAs": "KeysAndValues"}]}},),
    )
    data = {"b": b"from-provider", "d": b"provider-only", "user": b"bob", "pass": b"pw"}
    existing = {"d": b"old", "e": b"existing-only"}
    out = _render(spec, data, maps=maps, existing=existing)
    assert out.data == {
        "a": b"from-data",
        "b": b"bob",
        "c": b"pw",
        "d": b"provider-only",
        "e": b"existing-only",
        "user": b"bob",
        "pass": b"pw",
    }


def test_template_from_config_map_secret_and_literal_targets() -> None:
    maps = {"tpl": {"config.yaml": "user: {{ .user }}", "unused": "{{ .nope }}"}}
    secrets = {"stpl": {"conn": b"postgres://{{ .user }}:{{ .pass }}@db/app"}}
    spec = TemplateSpec(
        template_from=(
            {"configMap": {"name": "tpl", "items": [{"key": "config.yaml"}]}},
            {"secret": {"name": "stpl", "items": [{"key": "conn", "templateAs": "Values"}]}},
            {"literal": "owner: '{{ .user }}'", "target": "Labels"},
            {"literal": "note: '{{ .pass | b64enc }}'", "target": "Annotations"},
            {"configMap": {"name": "tpl", "items": [{"key": "config.yaml"}]}, "target": "Annotations"},
        ),
        annotations={"direct": "{{ .user }}"},
    )
    out = _render(spec, maps=maps, secrets=secrets)
    assert out.data == {"config.yaml": b"user: bob", "conn": b"postgres://bob:pw@db/app"}
    assert out.labels == {"owner": "bob"}
    assert out.annotations == {"note": "cHc=", "config.yaml": "user: bob", "direct": "bob"}


def test_keys_and_values_scalars_become_strings_as_go_yaml_gives_them() -> None:
    literal = "a: 1\nb: true\nc: 1.5\nd: null\ne: \"x\"\nf: 2024-01-01\n{{ .user }}: '{{ .pass }}'"
    out = _render(TemplateSpec(template_from=({"literal": literal},)))
    assert out.data == {"a": b"1", "b": b"true", "c": b"1.5", "d": b"", "e": b"x", "f": b"2024-01-01", "bob": b"pw"}


def test_eso_doc_patterns_through_the_secret_template() -> None:
    data = {
        "tls.crt": b"CERT",
        "creds": b'{"db":"pg","user":"u"}',
        "cfg": b'{"b":"2","a":1}',
    }
    spec = TemplateSpec(
        data={
            "crt": '{{ index . "tls.crt" }}',
            "env": "{{ range $k, $v := .creds | fromJson }}{{ $k | upper }}={{ $v | quote }}\n{{ end }}",
            "cfg.yaml": "config:{{ .cfg | fromJson | toYaml | nindent 2 }}",
        }
    )
    assert _render(spec, data).data == {
        "crt": b"CERT",
        "env": b'DB="pg"\nUSER="u"\n',
        "cfg.yaml": b'config:\n  a: 1\n  b: "2"',
    }


def test_binary_provider_values_stay_byte_exact() -> None:
    binary = bytes([0xFF, 0x00, 0xFE])
    out = _render(TemplateSpec(data={"raw": "{{ .ks }}", "b64": "{{ .ks | b64enc }}"}), {"ks": binary})
    assert out.data == {"raw": binary, "b64": b"/wD+"}


def test_metadata_values_that_are_not_utf8_are_replaced() -> None:
    out = _render(TemplateSpec(labels={"l": "{{ .ks }}"}), {"ks": b"a\xffb"})
    assert out.labels == {"l": "a\ufffdb"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            TemplateSpec(data={"url": "{{ .nope }}"}),
            'spec.target.template.data[url]: template: url:1:3: executing "url"',
        ),
        (
            TemplateSpec(labels={"l": "{{ nope }}"}),
            'spec.target.template.metadata.labels[l]: template: l:1: function "nope"',
        ),
        (TemplateSpec(annotations={"a": "{{ .v"}), "spec.target.template.metadata.annotations[a]"),
        (
            TemplateSpec(template_from=({"literal": "- a list"},)),
            "templateFrom[0].literal: the rendered template is not a",
        ),
        (TemplateSpec(template_from=({"literal": "a: [1]"},)), "the value of key 'a' is not a string"),
        (
            TemplateSpec(template_from=({"literal": "a: ["},)),
            "templateFrom[0].literal: the rendered template is not valid",
        ),
        (
            TemplateSpec(template_from=({"configMap": {"name": "tpl", "items": [{"key": "absent"}]}},)),
            "templateFrom[0].configMap.items[0]: configMap tpl has no key 'absent'",
        ),
        (
            TemplateSpec(template_from=({"configMap": {"name": "tpl", "items": [{"key": "t", "templateAs": "X"}]}},)),
            "templateAs must be Values or KeysAndValues",
        ),
        (TemplateSpec(template_from=({"literal": "a: b", "target": "Status"},)), "target must be Data"),
        (TemplateSpec(engine_version="v1", data={"a": "b"}), "engineVersion 'v1' is not supported"),
    ],
)
def test_failures_name_the_field(spec: TemplateSpec, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        _render(spec, {"v": SECRET, "user": SECRET}, maps={"tpl": {"t": "x"}})
    assert message in caught.value.message
    assert caught.value.reference == "template-error"
    assert SECRET.decode() not in caught.value.message


def test_lookup_errors_propagate() -> None:
    class Missing(Exception):
        pass

    def missing(name: str) -> dict[str, str]:
        raise Missing(name)

    spec = TemplateSpec(template_from=({"configMap": {"name": "gone", "items": [{"key": "k"}]}},))
    with pytest.raises(Missing):
        render_template(spec, DATA, config_maps=missing, secrets=_none, existing=None)
