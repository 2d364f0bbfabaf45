"""``target.template`` (engine ``v2``): the Secret's data, labels and annotations from provider data (§4.1).

ESO merges, lowest precedence first: the existing Secret's keys (only for ``creationPolicy`` Merge/CreateOrMerge,
which is when the caller passes ``existing``), the provider data (only with ``mergePolicy: Merge`` or when the
template has neither ``data`` nor ``templateFrom``), the ``templateFrom`` entries in order, then
``template.data``. Every template sees the provider data as a Go ``map[string]string`` (bytes kept exact, so
``b64enc`` of a binary value matches ESO). ``templateAs: KeysAndValues`` and ``literal`` templates render a YAML
mapping whose entries become keys. Errors name the field and key, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitsecure.controller.external.gotemplate import TemplateError, go_bytes, go_string, render
from gitsecure.controller.external.gotemplate.functions import load_yaml
from gitsecure.controller.external.model import TemplateSpec
from gitsecure.seal.gotemplate.gostrconv import float_shortest

_WHERE = "spec.target.template"


@dataclass(frozen=True)
class RenderedSecret:
    """What a template produced for the target Secret (``type`` "" keeps the Secret's type)."""

    data: dict[str, bytes]
    labels: dict[str, str]
    annotations: dict[str, str]
    type: str
    finalizers: tuple[str, ...]


class _Targets:
    """The three places a template writes to; ``put`` routes one rendered key by ``target``."""

    def __init__(self, data: dict[str, bytes]) -> None:
        self.data = data
        self.labels: dict[str, str] = {}
        self.annotations: dict[str, str] = {}

    def put(self, target: str, key: str, rendered: str) -> None:
        if target in ("Labels", "Annotations"):
            # Metadata travels as JSON text: bytes that are not UTF-8 cannot, so they become U+FFFD.
            (self.labels if target == "Labels" else self.annotations)[key] = go_bytes(rendered).decode(
                "utf-8", "replace"
            )
        else:
            self.data[key] = go_bytes(rendered)


def _render(source: str, context: Mapping[str, str], where: str, name: str) -> str:
    try:
        return render(source, context, name=name)
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc.message}") from None


def _scalar(value: object) -> str | None:
    """A YAML value as sigs.k8s.io/yaml stores it into a Go string; None for maps and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float):
        return float_shortest(value, "g")
    if isinstance(value, (str, int)):
        return str(value)
    return None


def _keys_and_values(rendered: str, where: str) -> dict[str, str]:
    """A rendered ``KeysAndValues``/``literal`` template: a YAML mapping of strings (Go's map[string]string)."""
    try:
        loaded = load_yaml(rendered)
    except ValueError:
        raise TemplateError(f"{where}: the rendered template is not valid YAML") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise TemplateError(f"{where}: the rendered template is not a YAML mapping")
    out: dict[str, str] = {}
    for key, value in loaded.items():
        text = _scalar(value)
        name = _scalar(key)
        if text is None or name is None:
            raise TemplateError(f"{where}: the value of key {name!r} is not a string")
        out[name] = text
    return out


def _apply(
    targets: _Targets, *, target: str, scope: str, key: str, source: str, context: Mapping[str, str], where: str
) -> None:
    """Render one template and write it as one key (``Values``) or as the keys it lists (``KeysAndValues``)."""
    rendered = _render(source, context, where, key if scope == "Values" else "keys-and-values")
    if scope == "KeysAndValues":
        for name, value in _keys_and_values(rendered, where).items():
            targets.put(target, name, value)
    else:
        targets.put(target, key, rendered)


def _items(
    entry: Mapping[str, Any], kind: str, values: Callable[[str], Mapping[str, str]], where: str
) -> list[tuple[str, str, str]]:
    """(key, scope, template) of each item of a ``configMap``/``secret`` reference, in order."""
    ref = entry[kind]
    if not isinstance(ref, Mapping) or not ref.get("name"):
        raise TemplateError(f"{where}.{kind} needs a name")
    name = str(ref["name"])
    found = values(name)
    out = []
    for index, item in enumerate(ref.get("items") or []):
        key = str(item.get("key") or "") if isinstance(item, Mapping) else ""
        if key not in found:
            raise TemplateError(f"{where}.{kind}.items[{index}]: {kind} {name} has no key {key!r}")
        scope = str(item.get("templateAs") or "Values")
        if scope not in ("Values", "KeysAndValues"):
            raise TemplateError(f"{where}.{kind}.items[{index}].templateAs must be Values or KeysAndValues")
        out.append((key, scope, found[key]))
    return out


def _template_from(
    targets: _Targets,
    context: Mapping[str, str],
    entries: tuple[Mapping[str, Any], ...],
    config_maps: Callable[[str], Mapping[str, str]],
    secrets: Callable[[str], Mapping[str, bytes]],
) -> None:
    """Each entry's ``configMap``, then ``secret``, then ``literal`` (ESO applies all three when present)."""

    def secret_text(name: str) -> dict[str, str]:
        return {key: go_string(value) for key, value in secrets(name).items()}

    for index, entry in enumerate(entries):
        where = f"{_WHERE}.templateFrom[{index}]"
        target = str(entry.get("target") or "Data")
        if target not in ("Data", "Labels", "Annotations"):
            raise TemplateError(f"{where}.target must be Data, Annotations or Labels")
        sources = [("configMap", config_maps), ("secret", secret_text)]
        for kind, lookup in sources:
            if entry.get(kind) is not None:
                for key, scope, source in _items(entry, kind, lookup, where):
                    _apply(
                        targets,
                        target=target,
                        scope=scope,
                        key=key,
                        source=source,
                        context=context,
                        where=f"{where}.{kind} key {key!r}",
                    )
        if entry.get("literal") is not None:
            literal = str(entry["literal"])
            _apply(
                targets,
                target=target,
                scope="KeysAndValues",
                key="",
                source=literal,
                context=context,
                where=f"{where}.literal",
            )


def render_template(
    spec: TemplateSpec,
    data: Mapping[str, bytes],
    *,
    config_maps: Callable[[str], Mapping[str, str]],
    secrets: Callable[[str], Mapping[str, bytes]],
    existing: Mapping[str, bytes] | None,
) -> RenderedSecret:
    """Apply ``spec`` to the provider ``data``.

    ``config_maps``/``secrets`` return a ConfigMap's or Secret's data in the ExternalSecret's namespace (for
    ``templateFrom``; their errors propagate). ``existing`` is the target Secret's data when its keys are to be
    kept (creationPolicy Merge/CreateOrMerge), else None. Raises :class:`TemplateError`.
    """
    if spec.engine_version not in ("", "v2"):
        raise TemplateError(f"{_WHERE}.engineVersion {spec.engine_version!r} is not supported (only v2)")
    context = {key: go_string(value) for key, value in data.items()}
    targets = _Targets(dict(existing or {}))
    if spec.merge_policy == "Merge" or (not spec.data and not spec.template_from):
        targets.data.update(data)
    _template_from(targets, context, spec.template_from, config_maps, secrets)
    for target, field, templates in (
        ("Data", "data", spec.data),
        ("Labels", "metadata.labels", spec.labels),
        ("Annotations", "metadata.annotations", spec.annotations),
    ):
        for key, source in templates.items():
            where = f"{_WHERE}.{field}[{key}]"
            _apply(targets, target=target, scope="Values", key=key, source=source, context=context, where=where)
    return RenderedSecret(targets.data, targets.labels, targets.annotations, spec.type, tuple(spec.finalizers))
