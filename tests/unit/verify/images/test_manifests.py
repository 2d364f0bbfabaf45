"""Finding the images a directory of manifests deploys (workload kinds, List kinds, JSON, kustomize)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitsecure.errors import InputError
from gitsecure.verify.images.manifests import ImageUse, apply_override, find_images

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: ghcr.io/acme/migrate:1}]
      containers:
      - {name: app, image: nginx:1.0}
      - {name: sidecar, image: ghcr.io/acme/proxy@sha256:%s}
""" % ("ab" * 32)


def _write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _triples(uses: list[ImageUse]) -> set[tuple[str, str, str, str]]:
    return {(u.kind, u.name, u.container, u.image) for u in uses}


def test_every_workload_kind_and_container_field(tmp_path: Path) -> None:
    paths = {
        "Pod": ("spec",),
        "StatefulSet": ("spec", "template", "spec"),
        "DaemonSet": ("spec", "template", "spec"),
        "ReplicaSet": ("spec", "template", "spec"),
        "Job": ("spec", "template", "spec"),
        "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    }
    docs: list[dict[str, Any]] = []
    for kind, path in paths.items():
        node: dict[str, Any] = {"containers": [{"name": "c", "image": f"img-{kind.lower()}"}]}
        for key in reversed(path):
            node = {key: node}
        docs.append({"apiVersion": "v1", "kind": kind, "metadata": {"name": kind.lower()}, **node})
    docs[0]["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    _write(tmp_path, "all.yaml", "\n---\n".join(json.dumps(d) for d in docs) + "\n---\n")
    _write(tmp_path, "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: []}\n")
    uses, warnings = find_images(tmp_path)
    assert warnings == []
    assert _triples(uses) == {(d["kind"], d["metadata"]["name"], "c", f"img-{d['kind'].lower()}") for d in docs} | {
        ("Pod", "pod", "ephemeral:debug", "busybox")
    }
    assert {u.file for u in uses} == {tmp_path.resolve() / "all.yaml"}


def test_init_containers_list_kinds_and_json(tmp_path: Path) -> None:
    _write(tmp_path, "apps/deploy.yml", DEPLOYMENT)
    items = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "x", "image": "quay.io/x/y:2"}]},
            }
        ],
    }
    _write(tmp_path, "list.json", json.dumps(items))
    uses, _ = find_images(tmp_path)
    assert _triples(uses) == {
        ("Deployment", "web", "init:migrate", "ghcr.io/acme/migrate:1"),
        ("Deployment", "web", "app", "nginx:1.0"),
        ("Deployment", "web", "sidecar", f"ghcr.io/acme/proxy@sha256:{'ab' * 32}"),
        ("Pod", "p", "x", "quay.io/x/y:2"),
    }


def test_helm_rendered_output_and_broken_files(tmp_path: Path) -> None:
    _write(tmp_path, "chart/rendered.yaml", "# Source: chart/templates/deploy.yaml\n---\n" + DEPLOYMENT)
    _write(tmp_path, "chart/templates/raw.yaml", "image: {{ .Values.image }}\n  bad: [\n")
    _write(tmp_path, "notes.txt", "kind: Pod")
    uses, warnings = find_images(tmp_path)
    assert {u.image for u in uses} == {"ghcr.io/acme/migrate:1", "nginx:1.0", f"ghcr.io/acme/proxy@sha256:{'ab' * 32}"}
    assert len(warnings) == 1 and "raw.yaml" in warnings[0]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        find_images(tmp_path / "missing")


def _overlay(root: Path) -> None:
    _write(root, "base/kustomization.yaml", "resources: [deploy.yaml]\n")
    _write(root, "base/deploy.yaml", DEPLOYMENT)
    _write(
        root,
        "overlays/prod/kustomization.yaml",
        "resources: [../../base, extra.yaml]\nimages:\n"
        "- {name: nginx, newName: ghcr.io/acme/nginx, newTag: '2.0'}\n"
        f"- {{name: ghcr.io/acme/migrate, digest: 'sha256:{'cd' * 32}'}}\n",
    )
    _write(
        root,
        "overlays/prod/extra.yaml",
        "kind: Pod\nmetadata: {name: extra}\nspec:\n  containers: [{name: e, image: nginx}]\n",
    )
    _write(
        root, "overlays/prod/unused.yaml", "kind: Pod\nmetadata: {name: unused}\nspec:\n  containers: [{image: nope}]\n"
    )


EXPECTED_OVERLAY = {
    ("Deployment", "web", "init:migrate", f"ghcr.io/acme/migrate@sha256:{'cd' * 32}"),
    ("Deployment", "web", "app", "ghcr.io/acme/nginx:2.0"),
    ("Deployment", "web", "sidecar", f"ghcr.io/acme/proxy@sha256:{'ab' * 32}"),
    ("Pod", "extra", "e", "ghcr.io/acme/nginx:2.0"),
}


def test_kustomize_without_kubectl_applies_overrides_and_warns(tmp_path: Path) -> None:
    _overlay(tmp_path)
    uses, warnings = find_images(tmp_path, kustomize=False)
    assert _triples(uses) == EXPECTED_OVERLAY  # the base alone is not reported, unused.yaml is not a resource
    assert len(warnings) == 1 and "overlays/prod" in warnings[0] and "images: overrides" in warnings[0]
    assert {u.file.name for u in uses} == {"kustomization.yaml"}


def test_kustomize_fallback_when_kubectl_is_not_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _overlay(tmp_path)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    uses, warnings = find_images(tmp_path)
    assert _triples(uses) == EXPECTED_OVERLAY and len(warnings) == 1


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_with_kubectl(tmp_path: Path) -> None:
    _overlay(tmp_path)
    # A patch only kubectl evaluates: the fallback would miss this container.
    _write(
        tmp_path,
        "overlays/prod/kustomization.yaml",
        (tmp_path / "overlays/prod/kustomization.yaml").read_text()
        + "patches:\n- target: {kind: Deployment, name: web}\n  patch: |-\n"
        "    - {op: add, path: /spec/template/spec/containers/-, value: {name: added, image: nginx:9}}\n",
    )
    uses, warnings = find_images(tmp_path)
    assert warnings == []
    assert _triples(uses) == EXPECTED_OVERLAY | {("Deployment", "web", "added", "ghcr.io/acme/nginx:2.0")}


def test_resources_outside_the_root_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _write(tmp_path, "outside/deploy.yaml", DEPLOYMENT)
    _write(root, "k/kustomization.yaml", "resources: [../../outside/deploy.yaml, https://example.com/x.yaml]\n")
    uses, warnings = find_images(root, kustomize=False)
    assert uses == []
    assert sum("not read" in w for w in warnings) == 2


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx", "ghcr.io/acme/nginx:2.0"),
        ("nginx:1.0", "ghcr.io/acme/nginx:2.0"),
        (f"nginx@sha256:{'ab' * 32}", "ghcr.io/acme/nginx:2.0"),
        ("nginx-other:1", "nginx-other:1"),
        ("localhost:5000/app:1", f"localhost:5000/app@sha256:{'ef' * 32}"),
        ("localhost:5000/app", f"localhost:5000/app@sha256:{'ef' * 32}"),
    ],
)
def test_apply_override(image: str, expected: str) -> None:
    overrides = [
        {"name": "nginx", "newName": "ghcr.io/acme/nginx", "newTag": "2.0"},
        {"name": "localhost:5000/app", "digest": f"sha256:{'ef' * 32}"},
    ]
    assert apply_override(image, overrides) == expected


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _write(tmp_path, "secret/deploy.yaml", DEPLOYMENT)
    os.symlink(tmp_path / "secret/deploy.yaml", root / "link.yaml")
    os.symlink(tmp_path / "secret", root / "dir")
    assert find_images(root) == ([], [])
