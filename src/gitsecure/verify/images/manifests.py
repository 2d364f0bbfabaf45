"""Which images a directory of manifests deploys.

Reads every YAML and JSON file under a root (multi-document YAML, ``List`` kinds included) and collects the
images of Pods and of the workload kinds that template Pods, init and ephemeral containers included. Helm charts
are given as rendered output (plain YAML). A kustomization that no other kustomization under the root uses as a
resource is built with ``kubectl kustomize`` when kubectl is on PATH; without it (or with ``kustomize=False``) its
resources are read as plain files, nested kustomizations followed, and the ``images:`` overrides
(name/newName/newTag/digest) applied, with a warning, because patches, components and generators are not
evaluated then. Files of a kustomization directory are only read through it: an overlay's base is not deployed
on its own, so its unoverridden images are not reported.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
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
_KUSTOMIZE_TIMEOUT = 120


@dataclass(frozen=True)
class ImageUse:
    """One container's image: where it was found and in which workload (``container`` is ``init:x``/``ephemeral:x``
    for init and ephemeral containers)."""

    image: str
    file: Path
    kind: str
    name: str
    container: str


def _pod_spec(doc: Mapping[str, Any]) -> Any:
    node: Any = doc
    for key in _POD_PATHS.get(str(doc.get("kind")), ()):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if node is not doc and isinstance(node, Mapping) else None


def pod_images(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(container label, image)`` for every container of a Pod or workload object; nothing for other kinds."""
    spec = _pod_spec(doc)
    if spec is None:
        return
    for field, prefix in _CONTAINER_FIELDS:
        for container in spec.get(field) or ():
            if isinstance(container, Mapping) and isinstance(container.get("image"), str):
                yield prefix + str(container.get("name", "")), str(container["image"])


def find_images(root: Path, *, kustomize: bool = True) -> tuple[list[ImageUse], list[str]]:
    """Every image used under ``root`` and the warnings met on the way."""
    if not root.is_dir():
        raise InputError(f"{root} is not a directory", reference="invalid-input")
    root = root.resolve()
    warnings: list[str] = []
    uses: list[ImageUse] = []
    kfiles = {p.parent: p for name in _KUSTOMIZATIONS for p in sorted(root.rglob(name)) if p.is_file()}
    used_as_resource = {d for directory in kfiles for d in _resource_dirs(directory, kfiles[directory], root)}
    kubectl = shutil.which("kubectl") if kustomize else None
    for directory in sorted(set(kfiles) - used_as_resource):
        docs = _build(directory, kfiles[directory], kubectl, root, warnings)
        uses.extend(_uses(docs, kfiles[directory]))
    for path in sorted(root.rglob("*")):
        if path.suffix not in _SUFFIXES or not path.is_file() or path.is_symlink():
            continue
        if any(parent in kfiles for parent in path.parents):
            continue
        uses.extend(_uses(_load(path, warnings), path))
    return uses, warnings


def _uses(docs: list[Mapping[str, Any]], path: Path) -> Iterator[ImageUse]:
    for doc in docs:
        metadata = doc.get("metadata")
        name = str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
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


def _kustomization(kfile: Path) -> Mapping[str, Any]:
    docs = _load(kfile, [])
    return docs[0] if docs else {}


def _entries(kust: Mapping[str, Any]) -> list[str]:
    # `bases` is the deprecated spelling of directory resources; components are evaluated only by kubectl.
    return [str(r) for key in ("resources", "bases") for r in (kust.get(key) or []) if isinstance(r, str)]


def _resource_dirs(directory: Path, kfile: Path, root: Path) -> Iterator[Path]:
    for entry in _entries(_kustomization(kfile)):
        target = (directory / entry).resolve()
        if target.is_dir() and (target == root or root in target.parents):
            yield target


def _build(directory: Path, kfile: Path, kubectl: str | None, root: Path, warnings: list[str]) -> list[Any]:
    if kubectl:
        try:
            out = subprocess.run(  # noqa: S603 - fixed argv; the directory is the caller's own manifests
                [kubectl, "kustomize", str(directory)], capture_output=True, check=True, timeout=_KUSTOMIZE_TIMEOUT
            ).stdout
            return list(_flatten(list(yaml.safe_load_all(out))))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, yaml.YAMLError, OSError):
            warnings.append(f"{directory}: kubectl kustomize failed; read the plain resources and images: overrides")
    else:
        warnings.append(
            f"{directory}: kustomization not built (kubectl not used); read the plain resources and applied only "
            "the images: overrides"
        )
    return _plain(directory, kfile, root, warnings, depth=0)


def _plain(directory: Path, kfile: Path, root: Path, warnings: list[str], *, depth: int) -> list[Any]:
    kust = _kustomization(kfile)
    overrides = [o for o in (kust.get("images") or []) if isinstance(o, Mapping)]
    docs: list[Any] = []
    for entry in _entries(kust):
        target = (directory / entry).resolve()
        inside = target == root or root in target.parents
        nested = next((target / n for n in _KUSTOMIZATIONS if (target / n).is_file()), None)
        if inside and target.is_file() and directory.resolve() in target.parents:
            docs.extend(_load(target, warnings))
        elif inside and nested is not None and depth < 20:
            docs.extend(_plain(target, nested, root, warnings, depth=depth + 1))
        else:
            warnings.append(f"{directory}: resource {entry} is not a local file or kustomization, not read")
    return [_override(doc, overrides) for doc in docs]


def _override(doc: Mapping[str, Any], overrides: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    if not overrides or _pod_spec(doc) is None:
        return doc
    changed: dict[str, Any] = copy.deepcopy(dict(doc))
    spec = _pod_spec(changed)
    for field, _ in _CONTAINER_FIELDS:
        for container in spec.get(field) or ():
            if isinstance(container, dict) and isinstance(container.get("image"), str):
                container["image"] = apply_override(container["image"], overrides)
    return changed


def apply_override(image: str, overrides: Sequence[Mapping[str, Any]]) -> str:
    """Apply the first kustomize ``images:`` entry whose ``name`` is the image's name (without tag or digest)."""
    name, _, digest = image.partition("@")
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    for override in overrides:
        if override.get("name") != name:
            continue
        name = str(override.get("newName") or name)
        if override.get("digest"):
            return f"{name}@{override['digest']}"
        if override.get("newTag"):
            tag, digest = str(override["newTag"]), ""
        break
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
