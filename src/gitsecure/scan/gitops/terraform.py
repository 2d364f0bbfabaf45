"""Secrets in Terraform state (``*.tfstate``): sensitive attributes, credential-named attributes, outputs."""

from __future__ import annotations

from gitsecure.scan.gitops.emit import Emitter
from gitsecure.scan.gitops.rules import TERRAFORM_STATE_SECRET
from gitsecure.scan.gitops.tree import Mapping, Node, Scalar, Sequence, walk
from gitsecure.scan.gitops.values import is_literal, names_secret


def is_state(root: Node) -> bool:
    """A state file: an object with ``terraform_version`` and ``resources`` (v4) or ``modules`` (v3)."""
    return (
        isinstance(root, Mapping)
        and root.get("terraform_version") is not None
        and (root.get("resources") is not None or root.get("modules") is not None)
    )


def analyze(root: Mapping, emit: Emitter) -> None:
    """Report sensitive values in every resource instance and every sensitive output."""
    reported: set[int] = set()
    resources = root.get("resources")
    if isinstance(resources, Sequence):
        for resource in resources.items:
            if isinstance(resource, Mapping):
                _resource(resource, emit, reported)
    modules = root.get("modules")
    if isinstance(modules, Sequence):  # state v3: modules[].resources{address: {primary: {attributes}}}
        for module in modules.items:
            legacy = module.get("resources") if isinstance(module, Mapping) else None
            if isinstance(legacy, Mapping):
                for address, body in legacy.items:
                    primary = body.get("primary") if isinstance(body, Mapping) else None
                    attributes = primary.get("attributes") if isinstance(primary, Mapping) else None
                    if attributes is not None:
                        _by_name(address.value, attributes, emit, reported)
    outputs = root.get("outputs")
    if isinstance(outputs, Mapping):
        for name, output in outputs.items:
            if isinstance(output, Mapping) and _true(output.get("sensitive")):
                value = output.entry("value")
                if value is not None:
                    _strings(value[1], value[0], f'output "{name.value}"', emit, reported)


def _true(node: Node | None) -> bool:
    return isinstance(node, Scalar) and node.tag == "bool" and node.value == "true"


def _resource(resource: Mapping, emit: Emitter, reported: set[int]) -> None:
    address = ".".join(filter(None, (resource.text("module"), resource.text("type"), resource.text("name"))))
    if resource.text("mode") == "data":
        address = f"data.{address}"
    instances = resource.get("instances")
    if not isinstance(instances, Sequence):
        return
    for instance in instances.items:
        if not isinstance(instance, Mapping):
            continue
        attributes = instance.get("attributes")
        if attributes is None:
            continue
        sensitive = instance.get("sensitive_attributes")
        if isinstance(sensitive, Sequence):
            for steps in sensitive.items:
                target = _follow(attributes, steps)
                if target is not None:
                    _strings(target[1], target[0], f'{address} attribute "{target[2]}"', emit, reported)
        _by_name(address, attributes, emit, reported)


def _follow(attributes: Node, steps: Node) -> tuple[Scalar | None, Node, str] | None:
    """Resolve one ``sensitive_attributes`` path (``[{"type": "get_attr", "value": "password"}, ...]``)."""
    if isinstance(steps, Mapping):  # newer states wrap the path: {"type": "...", "value": [...]}
        steps = steps.get("value") or steps
    if not isinstance(steps, Sequence):
        return None
    node, key, names = attributes, None, []
    for step in steps.items:
        if not isinstance(step, Mapping):
            return None
        value = step.get("value")
        if isinstance(value, Mapping):  # index steps: {"value": 0, "type": "number"}
            value = value.get("value")
        if not isinstance(value, Scalar):
            return None
        if isinstance(node, Mapping):
            pair = node.entry(value.value)
            if pair is None:
                return None
            key, node = pair
        elif isinstance(node, Sequence) and value.value.isdigit() and int(value.value) < len(node.items):
            node = node.items[int(value.value)]
        else:
            return None
        names.append(value.value)
    return key, node, ".".join(names)


def _by_name(address: str, attributes: Node, emit: Emitter, reported: set[int]) -> None:
    for path, key, node in walk(attributes):
        if isinstance(node, Scalar) and key is not None:
            # v3 flattens nested attributes into "a.0.password"; the last segment names the value.
            name = key.value.rsplit(".", 1)[-1]
            if names_secret(name, terraform=True):
                _strings(node, key, f'{address} attribute "{".".join(path)}"', emit, reported)


def _strings(node: Node, key: Scalar | None, what: str, emit: Emitter, reported: set[int]) -> None:
    """Report every literal string in ``node`` (a sensitive value may be a list or an object)."""
    for _, inner_key, inner in walk(node):
        if not isinstance(inner, Scalar) or inner.text is None or id(inner) in reported:
            continue
        secret = inner.value.strip()
        if not is_literal(secret):
            continue
        reported.add(id(inner))
        emit.report(
            TERRAFORM_STATE_SECRET,
            secret,
            at=inner,
            key=inner_key if inner is not node else key,
            what=what,
            hint=TERRAFORM_STATE_SECRET.hint,
            raw=secret.encode("utf-8", "surrogatepass"),
        )
