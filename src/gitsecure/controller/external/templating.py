"""``target.template`` (engine ``v2``): the Secret's data, labels and annotations from provider data (§4.1).

Precedence, as ESO applies it: ``template.data`` over ``templateFrom`` over provider data. Provider data is
copied only when the template has neither ``data`` nor ``templateFrom``, or with ``mergePolicy: Merge``.
Templates see every provider value as a string. A rendered ``KeysAndValues`` or ``literal`` template must be
a YAML mapping, whose entries become keys. Errors name the template and key, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from gitsecure.controller.external.gotemplate import TemplateError, render
from gitsecure.controller.external.model import TemplateSpec
from gitsecure.controller.external.values import DecodeError, decode_value


@dataclass(frozen=True)
class RenderedSecret:
    """What a template produced for the target Secret."""

    data: dict[str, bytes]
    labels: dict[str, str]
    annotations: dict[str, str]
    type: str
    finalizers: tuple[str, ...]


def _context(data: Mapping[str, bytes]) -> dict[str, str]:
    return {key: value.decode("utf-8", errors="replace") for key, value in data.items()}


def _render(source: str, context: Mapping[str, str], what: str) -> str:
    try:
        return render(source, context)
    except TemplateError as exc:
        raise TemplateError(f"{what}: {exc.message}") from None


def _pairs(text: str, what: str) -> dict[str, str]:
    try:
        loaded = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        raise TemplateError(f"{what}: the rendered template is not a YAML mapping") from None
    if not isinstance(loaded, Mapping):
        raise TemplateError(f"{what}: the rendered template is not a YAML mapping")
    return {str(k): v if isinstance(v, str) else yaml.safe_dump(v).strip() for k, v in loaded.items()}


def _template_from(
    entry: Mapping[str, Any],
    index: int,
    context: Mapping[str, str],
    config_maps: Callable[[str], Mapping[str, str]],
    secrets: Callable[[str], Mapping[str, bytes]],
) -> dict[str, str]:
    what = f"spec.target.template.templateFrom[{index}]"
    if entry.get("literal") is not None:
        return _pairs(_render(str(entry["literal"]), context, f"{what}.literal"), f"{what}.literal")
    for source in ("configMap", "secret"):
        ref = entry.get(source)
        if not isinstance(ref, Mapping):
            continue
        name = str(ref.get("name") or "")
        if source == "configMap":
            values = dict(config_maps(name))
        else:
            values = {k: v.decode("utf-8", errors="replace") for k, v in secrets(name).items()}
        out: dict[str, str] = {}
        for item in ref.get("items") or []:
            key = str(item.get("key") or "")
            if key not in values:
                raise TemplateError(f"{what}: {source} {name} has no key {key}")
            label = f"{what} ({source} {name}, key {key})"
            rendered = _render(values[key], context, label)
            if str(item.get("templateAs") or "Values") == "KeysAndValues":
                out.update(_pairs(rendered, label))
            else:
                out[key] = rendered
        return out
    raise TemplateError(f"{what} names neither configMap, secret nor literal")


def render_template(
    spec: TemplateSpec,
    data: Mapping[str, bytes],
    *,
    config_maps: Callable[[str], Mapping[str, str]],
    secrets: Callable[[str], Mapping[str, bytes]],
    existing: Mapping[str, bytes] | None,
) -> RenderedSecret:
    """Apply ``spec`` to the provider ``data``; raises :class:`TemplateError` (or the lookups' errors)."""
    del existing  # merging with an existing Secret's keys is the target step's business
    context = _context(data)
    out: dict[str, bytes] = dict(data) if spec.merge_policy == "Merge" else {}
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for index, entry in enumerate(spec.template_from):
        produced = _template_from(entry, index, context, config_maps, secrets)
        target = str(entry.get("target") or "Data")
        if target == "Labels":
            labels.update(produced)
        elif target == "Annotations":
            annotations.update(produced)
        else:
            decoding = str(entry.get("valuesDecodingStrategy") or "None")
            for key, value in produced.items():
                try:
                    out[key] = decode_value(value.encode(), decoding)
                except DecodeError as exc:
                    raise TemplateError(
                        f"spec.target.template.templateFrom[{index}] key {key}: {exc.message}"
                    ) from None
    for key, source in spec.data.items():
        out[key] = _render(source, context, f"spec.target.template.data[{key}]").encode()
    if not spec.data and not spec.template_from:
        out = dict(data)
    for key, source in spec.labels.items():
        labels[key] = _render(source, context, f"spec.target.template.metadata.labels[{key}]")
    for key, source in spec.annotations.items():
        annotations[key] = _render(source, context, f"spec.target.template.metadata.annotations[{key}]")
    return RenderedSecret(out, labels, annotations, spec.type, spec.finalizers)
