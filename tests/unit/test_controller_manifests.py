"""The static install manifests in controller/ (`kubectl apply -k controller/`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitsecure.cli import seal_cmd
from gitsecure.seal.kubeconfig import ControllerRef

CONTROLLER_DIR = Path(__file__).resolve().parents[2] / "controller"
PYPROJECT = CONTROLLER_DIR.parent / "pyproject.toml"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "gitsecure-controller"
POD_LABELS = {"app.kubernetes.io/name": "gitsecure-controller"}

Doc = dict[str, Any]


def _load(name: str) -> list[Doc]:
    docs = [d for d in yaml.safe_load_all((CONTROLLER_DIR / name).read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{name} holds no document"
    return docs


def _all_docs() -> list[Doc]:
    return [doc for name in _kustomize_resources() for doc in _load(name)]


def _kustomize_resources() -> list[str]:
    (kustomization,) = _load("kustomization.yaml")
    resources = kustomization["resources"]
    assert isinstance(resources, list)
    return [str(r) for r in resources]


def _one(kind: str, name: str) -> Doc:
    found = [d for d in _all_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def _of_kind(kind: str) -> list[Doc]:
    return [d for d in _all_docs() if d["kind"] == kind]


# --- every file -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CONTROLLER_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_yaml_parses_into_named_objects(path: Path) -> None:
    for doc in _load(path.name):
        assert isinstance(doc, dict)
        assert doc.get("apiVersion"), f"{path.name}: a document has no apiVersion"
        assert doc.get("kind"), f"{path.name}: a document has no kind"
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"], f"{path.name}: a {doc['kind']} has no name"


def test_kustomization_lists_exactly_the_resource_files() -> None:
    resources = _kustomize_resources()
    assert len(resources) == len(set(resources)), "duplicate entry in kustomization.yaml"
    present = {p.name for p in CONTROLLER_DIR.glob("*.y*ml")} - {"kustomization.yaml"}
    assert set(resources) == present


def test_namespaced_objects_live_in_kube_system() -> None:
    cluster_scoped = {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    for doc in _all_docs():
        namespace = doc["metadata"].get("namespace")
        if doc["kind"] in cluster_scoped:
            assert namespace is None, f"{doc['kind']}/{doc['metadata']['name']} is cluster-scoped"
        else:
            assert namespace == NAMESPACE, f"{doc['kind']}/{doc['metadata']['name']} in {namespace!r}"


# --- CRD --------------------------------------------------------------------------------------


def test_crd_identity_matches_sealed_secrets() -> None:
    crd = _one("CustomResourceDefinition", "sealedsecrets.bitnami.com")
    spec = crd["spec"]
    assert spec["group"] == "bitnami.com"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "SealedSecret",
        "listKind": "SealedSecretList",
        "plural": "sealedsecrets",
        "singular": "sealedsecret",
    }
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["served"] is True
    assert version["storage"] is True
    assert version["subresources"] == {"status": {}}


def _schema() -> Doc:
    crd = _one("CustomResourceDefinition", "sealedsecrets.bitnami.com")
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


def test_crd_schema_spec_fields() -> None:
    schema = _schema()
    assert schema["required"] == ["spec"]
    spec = schema["properties"]["spec"]
    assert spec["required"] == ["encryptedData"]
    props = spec["properties"]
    assert props["encryptedData"]["type"] == "object"
    assert props["encryptedData"]["additionalProperties"] == {"type": "string"}
    assert props["encryptedData"]["x-kubernetes-preserve-unknown-fields"] is True
    assert props["data"] == {**props["data"], "type": "string", "format": "byte"}

    template = props["template"]["properties"]
    assert set(template) == {"metadata", "type", "immutable", "data"}
    assert template["type"]["type"] == "string"
    assert template["immutable"]["type"] == "boolean"
    assert template["data"]["nullable"] is True
    assert template["data"]["additionalProperties"] == {"type": "string"}
    metadata = template["metadata"]
    assert metadata["nullable"] is True
    assert metadata["x-kubernetes-preserve-unknown-fields"] is True
    assert set(metadata["properties"]) == {"name", "namespace", "labels", "annotations", "finalizers"}


def test_crd_schema_status_fields() -> None:
    status = _schema()["properties"]["status"]["properties"]
    assert status["observedGeneration"]["type"] == "integer"
    assert status["observedGeneration"]["format"] == "int64"
    condition = status["conditions"]["items"]
    assert sorted(condition["required"]) == ["status", "type"]
    assert set(condition["properties"]) == {
        "type",
        "status",
        "reason",
        "message",
        "lastUpdateTime",
        "lastTransitionTime",
    }
    assert condition["properties"]["lastTransitionTime"]["format"] == "date-time"


# --- RBAC -------------------------------------------------------------------------------------

# Exactly what the controller may do cluster-wide, and why:
# - sealedsecrets get/list/watch: it watches SealedSecrets in every namespace.
# - sealedsecrets/status update: the Synced condition and observedGeneration (PUT).
# - secrets get/list/watch/create/update: the Secrets it owns live in the users' namespaces, so
#   this cannot be a Role; it watches them to recreate deleted ones and writes them with PUT
#   (patch mode merges in the controller). The ExternalSecrets side adds patch (label a pre-existing
#   target as managed) and delete (deletionPolicy=Delete, orphaned targets; always uid-preconditioned).
#   No other verb (escalate, bind, impersonate, deletecollection) and no resourceName wildcard.
# - events create: Unsealed / ErrUnsealFailed / ErrUpdateFailed.
# - namespaces get: check that --additional-namespaces exist.
# Anything beyond this table (for example leases or key Secrets) belongs in a Role in kube-system.
CLUSTER_GRANTS: dict[tuple[str, str], set[str]] = {
    ("bitnami.com", "sealedsecrets"): {"get", "list", "watch"},
    ("bitnami.com", "sealedsecrets/status"): {"update"},
    ("", "secrets"): {"get", "list", "watch", "create", "update", "patch", "delete"},
    ("", "events"): {"create"},
    ("", "namespaces"): {"get"},
    # ExternalSecrets: watch them, patch the cleanup finalizer, write status; read stores and what providers need.
    ("external-secrets.io", "externalsecrets"): {"get", "list", "watch", "patch"},
    ("external-secrets.io", "secretstores"): {"get", "list", "watch"},
    ("external-secrets.io", "clustersecretstores"): {"get", "list", "watch"},
    ("external-secrets.io", "externalsecrets/status"): {"update"},
    ("external-secrets.io", "secretstores/status"): {"update"},
    ("external-secrets.io", "clustersecretstores/status"): {"update"},
    ("", "configmaps"): {"get"},
    ("", "serviceaccounts"): {"get"},
    ("", "serviceaccounts/token"): {"create"},
}


def _grants(role: Doc) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def test_no_role_uses_wildcards_or_non_resource_urls() -> None:
    roles = _of_kind("ClusterRole") + _of_kind("Role")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            assert "nonResourceURLs" not in rule
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                for value in rule.get(field, []):
                    assert "*" not in value, f"{role['metadata']['name']}: wildcard in {field}"


def test_controller_cluster_role_is_exactly_what_it_needs() -> None:
    assert _grants(_one("ClusterRole", "gitsecure-controller")) == CLUSTER_GRANTS


def test_only_the_controller_cluster_role_exists() -> None:
    assert [r["metadata"]["name"] for r in _of_kind("ClusterRole")] == ["gitsecure-controller"]
    (binding,) = _of_kind("ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "gitsecure-controller",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]


def test_key_secrets_and_leases_are_namespaced_roles() -> None:
    keys = _grants(_one("Role", "gitsecure-controller-keys"))
    # Keys are only ever added: no update or delete of key Secrets.
    assert keys == {("", "secrets"): {"get", "list", "watch", "create"}}
    leases = _grants(_one("Role", "gitsecure-controller-leader-election"))
    assert leases == {("coordination.k8s.io", "leases"): {"get", "create", "update"}}


def test_every_binding_points_at_a_defined_role_and_the_service_account() -> None:
    roles = {(d["kind"], d["metadata"]["name"]) for d in _of_kind("Role") + _of_kind("ClusterRole")}
    _one("ServiceAccount", SERVICE_ACCOUNT)
    bindings = _of_kind("RoleBinding") + _of_kind("ClusterRoleBinding")
    assert {(b["roleRef"]["kind"], b["roleRef"]["name"]) for b in bindings} == roles
    for binding in bindings:
        if binding["metadata"]["name"] == "gitsecure-controller-service-proxier":
            continue
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]


def test_service_proxy_grant_covers_only_the_controller_service() -> None:
    default_name = ControllerRef().name
    port_name = _one("Service", default_name)["spec"]["ports"][0]["name"]
    role = _one("Role", "gitsecure-controller-service-proxier")
    by_resource = {tuple(rule["resources"]): rule for rule in role["rules"]}
    assert set(by_resource) == {("services",), ("services/proxy",)}
    assert by_resource[("services",)]["verbs"] == ["get"]
    assert by_resource[("services",)]["resourceNames"] == [default_name]
    proxy = by_resource[("services/proxy",)]
    # get: /v1/cert.pem (--fetch-cert); create: POST /v1/verify and /v1/rotate (--validate, --re-encrypt).
    assert set(proxy["verbs"]) == {"get", "create"}
    # gitsecure seal asks for services/http:<name>:<first port's name>/proxy.
    assert f"http:{default_name}:{port_name}" in proxy["resourceNames"]
    assert all(default_name in n for n in proxy["resourceNames"])
    binding = _one("RoleBinding", "gitsecure-controller-service-proxier")
    assert binding["roleRef"]["name"] == "gitsecure-controller-service-proxier"
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}
    ]


# --- Deployment -----------------------------------------------------------------------------


def _container() -> Doc:
    deployment = _one("Deployment", "gitsecure-controller")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_deployment_shape() -> None:
    deployment = _one("Deployment", "gitsecure-controller")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"]["matchLabels"] == POD_LABELS
    assert POD_LABELS.items() <= spec["template"]["metadata"]["labels"].items()
    assert spec["template"]["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
    container = _container()
    assert container["args"] == ["controller", "run"]
    assert container["image"] == "ghcr.io/gitsecure/gitsecure:latest"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "metrics": 8081}


def test_deployment_runs_locked_down() -> None:
    pod = _one("Deployment", "gitsecure-controller")["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 1001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    context = _container()["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 1001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_deployment_probes_and_resources() -> None:
    container = _container()
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert get["port"] in ("http", 8080)
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}


def test_deployment_shows_both_environment_prefixes() -> None:
    names = [e["name"] for e in _container()["env"]]
    assert any(n.startswith("SEALED_SECRETS_") for n in names)
    assert any(n.startswith("GITSECURE_") for n in names)
    namespace = next(e for e in _container()["env"] if e["name"] == "POD_NAMESPACE")
    assert namespace["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


# --- Services ---------------------------------------------------------------------------------


def test_service_is_where_gitsecure_seal_looks_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if re.match(r"(GITSECURE|SEALED_SECRETS)_", name):
            monkeypatch.delenv(name)
    parser = seal_cmd.build_parser()
    default = ControllerRef()
    assert parser.get_default("controller_name") == default.name
    assert parser.get_default("controller_namespace") == default.namespace

    service = _one("Service", default.name)
    assert service["metadata"]["namespace"] == default.namespace
    first = service["spec"]["ports"][0]
    assert first == {**first, "name": "http", "port": 8080, "targetPort": "http"}
    assert service["spec"]["selector"] == POD_LABELS


def test_metrics_service_is_separate() -> None:
    (metrics,) = [s for s in _of_kind("Service") if s["metadata"]["name"] != ControllerRef().name]
    assert [(p["port"], p["targetPort"]) for p in metrics["spec"]["ports"]] == [(8081, "metrics")]
    assert metrics["spec"]["selector"] == POD_LABELS


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_cluster_image() -> None:
    text = (CONTROLLER_DIR / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert stages
    assert all(s == "python:3.11-slim" for s in stages)
    assert '".[cluster,verify]"' in text  # the controller and the admission webhook (controller/webhook)
    assert re.search(r"^\s*cluster\s*=", PYPROJECT.read_text(encoding="utf-8"), flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users[-1].split(":")[0] == "1001"
    assert re.search(r'^ENTRYPOINT \["gitsecure"\]', text, flags=re.MULTILINE)
