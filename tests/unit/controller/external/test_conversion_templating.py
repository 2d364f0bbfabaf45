"""Key conversion, rewrites and ``target.template`` rendering (reference §3.3 and §4.1)."""

from __future__ import annotations

import pytest

from gitsecure.controller.external.conversion import ConversionError, convert_keys, rewrite_keys, validate_keys
from gitsecure.controller.external.gotemplate import TemplateError, render
from gitsecure.controller.external.model import Rewrite, TemplateSpec
from gitsecure.controller.external.templating import render_template


def test_default_and_unicode_conversion() -> None:
    data = {"prod/db/creds": b"1", "a b": b"2", "é-ok_.": b"3"}
    assert convert_keys(data, "Default") == {"prod_db_creds": b"1", "a_b": b"2", "é-ok_.": b"3"}
    assert convert_keys({"a/b": b"1"}, "Unicode") == {"a_U002f_b": b"1"}
    with pytest.raises(ConversionError, match="secret name collision during conversion: a_b"):
        convert_keys({"a/b": b"1", "a b": b"2"}, "Default")


def test_validation_drops_empty_and_refuses_invalid_keys() -> None:
    assert validate_keys({"": b"x", "ok": b"1"}) == {"ok": b"1"}
    with pytest.raises(ConversionError, match="TIP: use rewrite or conversionStrategy"):
        validate_keys({"bad/key": b"1"})
    with pytest.raises(ConversionError):
        validate_keys({"k" * 254: b"1"})


def test_regexp_rewrite_uses_go_expansion() -> None:
    data = {"path/to/key": b"1", "other": b"2"}
    out = rewrite_keys(data, [Rewrite("regexp", source="path/to/(.*)", target="$1")])
    assert out == {"key": b"1", "other": b"2"}
    named = rewrite_keys({"db-user": b"u"}, [Rewrite("regexp", source="(?<svc>[a-z]+)-(.*)", target="${svc}_${2}")])
    assert named == {"db_user": b"u"}
    assert rewrite_keys({"ab": b"1"}, [Rewrite("regexp", source="(a)", target="$1x")]) == {"b": b"1"}  # group "1x"


def test_transform_and_merge_rewrites() -> None:
    out = rewrite_keys({"db": b"1"}, [Rewrite("transform", template="app_{{ .value | upper }}")], render)
    assert out == {"app_DB": b"1"}
    merged = rewrite_keys({"a": b'{"x": "1"}', "b": b'{"y": 2}'}, [Rewrite("merge")])
    assert merged == {"x": b"1", "y": b"2"}
    with pytest.raises(ConversionError, match="defined in more than one source"):
        rewrite_keys({"a": b'{"x": 1}', "b": b'{"x": 2}'}, [Rewrite("merge")])
    assert rewrite_keys({"a": b'{"x": 1}', "b": b'{"x": 2}'}, [Rewrite("merge", raw={"conflictPolicy": "Ignore"})]) == {
        "x": b"2"
    }
    into = rewrite_keys({"a": b'{"x": 1}'}, [Rewrite("merge", raw={"strategy": "JSON", "into": "all"})])
    assert into == {"all": b'{"x":1}'}


def _none(name: str) -> dict[str, str]:
    raise AssertionError(f"unexpected lookup of {name}")


def test_template_data_replaces_provider_data_unless_merge() -> None:
    data = {"user": b"bob", "pass": b"pw"}
    spec = TemplateSpec(
        type="kubernetes.io/basic-auth", data={"url": "https://{{ .user }}@x"}, labels={"app": "{{ .user }}"}
    )
    out = render_template(spec, data, config_maps=_none, secrets=_none, existing=None)
    assert out.data == {"url": b"https://bob@x"}
    assert out.labels == {"app": "bob"}
    assert out.type == "kubernetes.io/basic-auth"
    merged = render_template(
        TemplateSpec(merge_policy="Merge", data={"url": "{{ .user }}"}),
        data,
        config_maps=_none,
        secrets=_none,
        existing=None,
    )
    assert merged.data == {"user": b"bob", "pass": b"pw", "url": b"bob"}
    plain = render_template(TemplateSpec(annotations={"a": "x"}), data, config_maps=_none, secrets=_none, existing=None)
    assert plain.data == data and plain.annotations == {"a": "x"}


def test_template_from_config_map_literal_and_precedence() -> None:
    maps = {"tpl": {"config.yaml": "user: {{ .user }}", "pairs": "a: '{{ .user }}'\nb: fixed"}}
    spec = TemplateSpec(
        data={"a": "from-data"},
        template_from=(
            {
                "configMap": {
                    "name": "tpl",
                    "items": [{"key": "config.yaml"}, {"key": "pairs", "templateAs": "KeysAndValues"}],
                }
            },
            {"literal": "c: '{{ .pass }}'", "target": "Annotations"},
        ),
    )
    out = render_template(
        spec, {"user": b"bob", "pass": b"pw"}, config_maps=lambda n: maps[n], secrets=_none, existing=None
    )
    assert out.data == {"config.yaml": b"user: bob", "a": b"from-data", "b": b"fixed"}  # template.data wins over "a"
    assert out.annotations == {"c": "pw"}


def test_template_errors_name_the_field_not_the_value() -> None:
    spec = TemplateSpec(data={"url": "{{ .nope }}"})
    with pytest.raises(TemplateError) as caught:
        render_template(spec, {"user": b"topsecret"}, config_maps=_none, secrets=_none, existing=None)
    assert "spec.target.template.data[url]" in caught.value.message
    assert "topsecret" not in caught.value.message
    literal = TemplateSpec(template_from=({"literal": "- a list"},))
    with pytest.raises(TemplateError, match="not a YAML mapping"):
        render_template(literal, {}, config_maps=_none, secrets=_none, existing=None)
