"""The few kubectl verbs the demo needs, through the ``kubernetes`` client (kubectl is not installed here).

    python demo/kube.py KUBECONFIG apply FILE
    python demo/kube.py KUBECONFIG wait-secret NAMESPACE NAME [TIMEOUT]
    python demo/kube.py KUBECONFIG status NAMESPACE NAME
    python demo/kube.py KUBECONFIG events NAMESPACE
    python demo/kube.py KUBECONFIG wait-ready NAMESPACE EXTERNALSECRET [AFTER_REFRESH_TIME]
    python demo/kube.py KUBECONFIG refresh-time NAMESPACE EXTERNALSECRET
    python demo/kube.py KUBECONFIG annotate NAMESPACE EXTERNALSECRET KEY VALUE
    python demo/kube.py KUBECONFIG digest NAMESPACE SECRET KEY

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
ESO_GV = ("external-secrets.io", "v1")
ESO = {"ExternalSecret": "externalsecrets", "SecretStore": "secretstores"}


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
            elif obj["kind"] in ESO:
                plural = ESO[obj["kind"]]
                client.CustomObjectsApi(api).create_namespaced_custom_object(*ESO_GV, namespace, plural, obj)
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


def status(api: client.ApiClient, namespace: str, name: str, kind: str = "SealedSecret") -> None:
    # The controller writes the status just after the Secret: wait for it briefly.
    group, version, plural = (*ESO_GV, ESO[kind]) if kind in ESO else SEALED
    deadline = time.monotonic() + 10
    while True:
        obj: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(
            group, version, namespace, plural, name
        )
        if (obj.get("status") or {}).get("conditions") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for condition in (obj.get("status") or {}).get("conditions", []):
        message = condition.get("message") or ""
        print(f"  condition {condition['type']}={condition['status']} {message}".rstrip())


def wait_ready(api: client.ApiClient, namespace: str, name: str, after: str = "") -> None:
    """Wait until the ExternalSecret is Ready with a refreshTime later than ``after``; print its condition."""
    deadline = time.monotonic() + 30
    while True:
        obj = client.CustomObjectsApi(api).get_namespaced_custom_object(*ESO_GV, namespace, ESO["ExternalSecret"], name)
        st = obj.get("status") or {}
        ready = [c for c in st.get("conditions") or [] if c.get("type") == "Ready" and c.get("status") == "True"]
        if ready and str(st.get("refreshTime") or "") > after:
            print(
                f"  ExternalSecret {namespace}/{name}: Ready=True {ready[0].get('reason')} ({ready[0].get('message')})"
            )
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"ExternalSecret {namespace}/{name} did not become Ready: {st}")
        time.sleep(0.1)


def refresh_time(api: client.ApiClient, namespace: str, name: str) -> None:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(*ESO_GV, namespace, ESO["ExternalSecret"], name)
    print((obj.get("status") or {}).get("refreshTime") or "")


def annotate(api: client.ApiClient, namespace: str, name: str, key: str, value: str) -> None:
    body = {"metadata": {"annotations": {key: value}}}
    client.CustomObjectsApi(api).patch_namespaced_custom_object(*ESO_GV, namespace, ESO["ExternalSecret"], name, body)
    print(f"externalsecret.external-secrets.io/{name} annotated")


def digest(api: client.ApiClient, namespace: str, name: str, key: str) -> None:
    """The SHA-256 of one Secret value (to show that it changed without showing it)."""
    import hashlib  # noqa: PLC0415 - only this verb needs it

    secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    print(hashlib.sha256(base64.b64decode((secret.data or {})[key])).hexdigest()[:16])


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
        status(api, args[0], args[1], *args[2:3])
    elif verb == "wait-ready":
        wait_ready(api, args[0], args[1], *args[2:3])
    elif verb == "refresh-time":
        refresh_time(api, args[0], args[1])
    elif verb == "annotate":
        annotate(api, *args[:4])
    elif verb == "digest":
        digest(api, *args[:3])
    elif verb == "events":
        events(api, args[0])
    else:
        raise SystemExit(f"unknown verb {verb}")


if __name__ == "__main__":
    main(sys.argv[1:])
