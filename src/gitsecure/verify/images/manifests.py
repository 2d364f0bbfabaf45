"""Which images a directory of manifests deploys.

Reads every YAML and JSON file under a root (multi-document YAML, ``List`` kinds included) and collects the
images of Pods and of the workload kinds that template Pods, init and ephemeral containers included. A
kustomization is built with ``kubectl kustomize`` when kubectl is installed; without it, the plain resources
are read and the kustomization's ``images:`` overrides applied to them, with a warning, because patches,
components and remote bases are not evaluated then. Helm charts are given as rendered output (plain YAML).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitsecure.errors import InputError

_POD_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
_CONTAINER_FIELDS = (("containers", ""), ("initContainers", "init:"), ("ephemeralContainers", "ephemeral:"))
_SUFFIXES = (".yaml", ".yml", ".json")
_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_MAX_FILE = 16 * 1024 * 1024


@dataclass(frozen=True)
class ImageUse:
    """One container's image: where it was found and in which workload."""

    image: str
    file: Path
    kind: str
    name: str
    container: str


def pod_images(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(container label, image)`` for every container of a Pod or workload object; nothing for other kinds."""
    node: Any = doc
    for key in _POD_PATHS.get(str(doc.get("kind")), ()):
        node = node.get(key) if isinstance(node, Mapping) else None
    if node is doc or not isinstance(node, Mapping):
        return
    for field, prefix in _CONTAINER_FIELDS:
        for container in node.get(field) or ():
            if isinstance(container, Mapping) and isinstance(container.get("image"), str):
                yield prefix + str(container.get("name", "")), str(container["image"])


def find_images(root: Path, *, kustomize: bool = True) -> tuple[list[ImageUse], list[str]]:
    """Every image used under ``root`` and the warnings met on the way."""
    if not root.is_dir():
        raise InputError(f"{root} is not a directory", reference="invalid-input")
    warnings: list[str] = []
    uses: list[ImageUse] = []
    built: set[Path] = set()
    if kustomize:
        for kfile in sorted(p for name in _KUSTOMIZATIONS for p in root.rglob(name)):
            directory = kfile.parent
            if any(parent in built for parent in directory.parents):
                continue
            docs = _kustomize(directory, kfile, warnings)
            built.add(directory)
            uses.extend(_uses(docs, kfile))
    for path in sorted(root.rglob("*")):
        if path.suffix not in _SUFFIXES or not path.is_file() or path.is_symlink():
            continue
        if any(parent in built for parent in path.parents) or path.name in _KUSTOMIZATIONS:
            continue
        uses.extend(_uses(_load(path, warnings), path))
    return uses, warnings


def _uses(docs: list[Mapping[str, Any]], path: Path) -> Iterator[ImageUse]:
    for doc in docs:
        name = str((doc.get("metadata") or {}).get("name", ""))
        for container, image in pod_images(doc):
            yield ImageUse(image=image, file=path, kind=str(doc.get("kind")), name=name, container=container)


def _load(path: Path, warnings: list[str]) -> list[Mapping[str, Any]]:
    try:
        if path.stat().st_size > _MAX_FILE:
            warnings.append(f"{path}: larger than 16 MiB, not read")
            return []
        text = path.read_text(encoding="utf-8")
        raw = [json.loads(text)] if path.suffix == ".json" else list(yaml.safe_load_all(text))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        warnings.append(f"{path}: not valid YAML or JSON, not read")
        return []
    return list(_flatten(raw))


def _flatten(docs: list[Any]) -> Iterator[Mapping[str, Any]]:
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            yield from _flatten(doc["items"])
        else:
            yield doc


def _kustomize(directory: Path, kfile: Path, warnings: list[str]) -> list[Mapping[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        try:
            out = subprocess.run(  # noqa: S603 - fixed argv, the path is the user's own manifests
                [kubectl, "kustomize", str(directory)], capture_output=True, check=True, timeout=120
            ).stdout
            return list(_flatten(list(yaml.safe_load_all(out))))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, yaml.YAMLError, OSError):
            warnings.append(f"{directory}: kubectl kustomize failed; reading the plain resources instead")
    else:
        warnings.append(f"{directory}: kubectl is not installed; applied only the images: overrides of {kfile.name}")
    kust = _load(kfile, warnings)
    overrides = [o for o in ((kust[0].get("images") if kust else None) or []) if isinstance(o, Mapping)]
    docs: list[Mapping[str, Any]] = []
    for resource in (kust[0].get("resources") if kust else None) or []:
        target = (directory / str(resource)).resolve()
        if target.is_file() and directory.resolve() in target.parents:
            docs.extend(_load(target, warnings))
        elif not target.is_dir():
            warnings.append(f"{directory}: resource {resource} is not a local file, not read")
    return [_override(doc, overrides) for doc in docs]


def _override(doc: Mapping[str, Any], overrides: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    if not overrides:
        return doc
    copy: dict[str, Any] = json.loads(json.dumps(doc, default=str))
    node: Any = copy
    for key in _POD_PATHS.get(str(copy.get("kind")), ()):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or node is copy:
        return copy
    for field, _ in _CONTAINER_FIELDS:
        for container in node.get(field) or ():
            if isinstance(container, dict) and isinstance(container.get("image"), str):
                container["image"] = _apply(container["image"], overrides)
    return copy


def _apply(image: str, overrides: list[Mapping[str, Any]]) -> str:
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    for override in overrides:
        if override.get("name") != name:
            continue
        name = str(override.get("newName") or name)
        if override.get("digest"):
            return f"{name}@{override['digest']}"
        tag = str(override.get("newTag") or tag)
        break
    text = name + (f":{tag}" if tag else "")
    return text + (f"@{digest}" if digest else "")
