"""The few kubectl verbs the demo needs, through the ``kubernetes`` client (kubectl is not installed here).

    python demo/kube.py KUBECONFIG apply FILE
    python demo/kube.py KUBECONFIG wait-secret NAMESPACE NAME [TIMEOUT]
    python demo/kube.py KUBECONFIG status NAMESPACE NAME
    python demo/kube.py KUBECONFIG events NAMESPACE

Secret values are printed masked: the demo shows that they arrived, not what they are.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

SEALED = ("bitnami.com", "v1alpha1", "sealedsecrets")


def _api(kubeconfig: str) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


def apply(api: client.ApiClient, path: str) -> None:
    for doc in yaml.safe_load_all(Path(path).read_text()):
        items = doc.get("items", [doc]) if doc.get("kind") == "List" else [doc]
        for obj in items:
            meta = obj["metadata"]
            namespace = meta.get("namespace") or "default"
            if obj["kind"] == "Secret":
                client.CoreV1Api(api).create_namespaced_secret(namespace, obj)
            elif obj["kind"] == "SealedSecret":
                client.CustomObjectsApi(api).create_namespaced_custom_object(*SEALED[:2], namespace, SEALED[2], obj)
            else:
                raise SystemExit(f"demo/kube.py cannot apply kind {obj['kind']}")
            print(f"{obj['kind'].lower()}/{meta.get('name') or meta.get('generateName')} created in {namespace}")


def wait_secret(api: client.ApiClient, namespace: str, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
            break
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise SystemExit(f"Secret {namespace}/{name} did not appear: HTTP {exc.status}") from None
            time.sleep(0.1)
    owners = [f"{ref.kind}/{ref.name}" for ref in secret.metadata.owner_references or []]
    print(f"Secret {namespace}/{name} (type {secret.type}, owned by {', '.join(owners) or 'nobody'}):")
    for key, value in sorted((secret.data or {}).items()):
        plain = base64.b64decode(value).decode(errors="replace")
        print(f"  {key}: {plain[:3]}{'*' * max(0, len(plain) - 3)}  ({len(plain)} bytes, masked for the demo)")


def status(api: client.ApiClient, namespace: str, name: str) -> None:
    # The controller writes the status just after the Secret: wait for it briefly.
    deadline = time.monotonic() + 10
    while True:
        obj: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(
            *SEALED[:2], namespace, SEALED[2], name
        )
        if (obj.get("status") or {}).get("conditions") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for condition in (obj.get("status") or {}).get("conditions", []):
        message = condition.get("message") or ""
        print(f"  condition {condition['type']}={condition['status']} {message}".rstrip())


def events(api: client.ApiClient, namespace: str) -> None:
    for event in client.CoreV1Api(api).list_namespaced_event(namespace).items:
        print(f"  event {event.type} {event.reason}: {event.message}")


def main(argv: list[str]) -> None:
    kubeconfig, verb, *args = argv
    api = _api(kubeconfig)
    if verb == "apply":
        apply(api, args[0])
    elif verb == "wait-secret":
        wait_secret(api, args[0], args[1], float(args[2]) if len(args) > 2 else 30.0)
    elif verb == "status":
        status(api, args[0], args[1])
    elif verb == "events":
        events(api, args[0])
    else:
        raise SystemExit(f"unknown verb {verb}")


if __name__ == "__main__":
    main(sys.argv[1:])
