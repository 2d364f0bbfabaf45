"""The admission webhook's install manifests (controller/webhook/) agree with what the server does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitsecure.cli.verify_cmd import build_parser
from gitsecure.verify.images.manifests import _POD_PATHS

WEBHOOK_DIR = Path(__file__).resolve().parents[2] / "controller" / "webhook"
PLURALS = {
    "Pod": ("", "pods"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "ReplicationController": ("", "replicationcontrollers"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "PodTemplate": ("", "podtemplates"),
}


def _docs() -> dict[str, dict[str, Any]]:
    (kustomization,) = yaml.safe_load_all((WEBHOOK_DIR / "kustomization.yaml").read_text())
    docs: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((WEBHOOK_DIR / name).read_text()):
            if doc:
                docs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return docs


def test_the_webhook_fails_closed_and_never_judges_its_own_namespace() -> None:
    docs = _docs()
    (hook,) = docs["ValidatingWebhookConfiguration/gitsecure-image-gate"]["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    excluded = {
        v for e in hook["namespaceSelector"]["matchExpressions"] if e["operator"] == "NotIn" for v in e["values"]
    }
    assert {"kube-system", "gitsecure-webhook"} <= excluded
    service = hook["clientConfig"]["service"]
    assert f"Service/{service['name']}" in docs
    assert service["namespace"] == docs[f"Service/{service['name']}"]["metadata"]["namespace"]


def test_every_kind_the_server_reads_is_sent_to_it() -> None:
    (hook,) = _docs()["ValidatingWebhookConfiguration/gitsecure-image-gate"]["webhooks"]
    covered = {
        (group, resource) for rule in hook["rules"] for group in rule["apiGroups"] for resource in rule["resources"]
    }
    assert {PLURALS[kind] for kind in _POD_PATHS} <= covered
    assert all(set(rule["operations"]) == {"CREATE", "UPDATE"} for rule in hook["rules"])


def test_the_deployment_runs_the_webhook_command_with_the_mounted_files() -> None:
    deployment = _docs()["Deployment/gitsecure-webhook"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][0] == "verify"
    args = build_parser().parse_args(container["args"][1:])
    assert args.action == "webhook"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert args.policy in mounts
    assert Path(args.tls_cert).parent.as_posix() in mounts
    assert Path(args.tls_key).parent.as_posix() in mounts
    policy = yaml.safe_load(_docs()["ConfigMap/gitsecure-webhook-policy"]["data"]["policy.yaml"])
    key_files = {key for authority in policy["authorities"] for key in authority["keys"]}
    assert key_files <= mounts
    assert deployment["spec"]["replicas"] >= 2
