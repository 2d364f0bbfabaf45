"""What ``gitsecure seal`` does in each of its modes, free of argument parsing and I/O."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import PrivateKey, PublicKey
from gitsecure.errors import InputError, RemoteError
from gitsecure.log import redaction
from gitsecure.seal import sealedsecret
from gitsecure.seal.kubeconfig import ProxyResponse
from gitsecure.seal.manifest import Manifest, load_objects
from gitsecure.seal.scope import Scope, label_for
from gitsecure.seal.secret import Secret, parse_secret, prepare_for_sealing


@dataclass(frozen=True)
class SealSettings:
    """The flags that shape how Secrets are sealed."""

    scope: Scope | None = None
    name: str | None = None
    namespace: str | None = None
    allow_empty_data: bool = False


def read_secrets(text: str) -> list[Secret]:
    """Every Secret in a YAML/JSON stream; an error when there is none."""
    secrets = [s for i, obj in enumerate(load_objects(text), start=1) if (s := parse_secret(obj, index=i))]
    if not secrets:
        raise InputError(
            "no secrets found. Ensure the input is valid and UTF-8 encoded",
            reference="no-secrets",
            hint="pipe a Secret manifest in, or pass -f FILE",
        )
    return secrets


def seal_secrets(
    text: str, public_key: PublicKey, settings: SealSettings, *, default_namespace: Callable[[], str]
) -> list[Manifest]:
    """Seal every Secret in ``text``; all of them or none (the first error stops the run)."""
    sealed = []
    for secret in read_secrets(text):
        prepared = prepare_for_sealing(
            secret,
            name=settings.name,
            scope=settings.scope,
            namespace_flag=settings.namespace,
            default_namespace=default_namespace,
            allow_empty_data=settings.allow_empty_data,
        )
        for value in prepared.items.values():
            redaction.add(value.decode("utf-8", "ignore"))
        sealed.append(sealedsecret.build(prepared, public_key))
    return sealed


def seal_raw(data: bytes, public_key: PublicKey, *, scope: Scope, namespace: str, name: str | None) -> str:
    """One value sealed for ``--raw``: the base64 string, no newline."""
    if scope is not Scope.CLUSTER_WIDE and not namespace:
        raise InputError(
            f"must provide the --namespace flag with --raw and --scope {scope.value}", reference="missing-namespace"
        )
    if scope is Scope.STRICT and not name:
        raise InputError("must provide the --name flag with --raw and --scope strict", reference="missing-name")
    label = label_for(scope, namespace=namespace, name=name or "")
    return base64.b64encode(hybrid.seal(public_key, data, label=label)).decode()


def read_sealed_secrets(text: str) -> list[Manifest]:
    """Every SealedSecret in a stream (each checked); an error when there is none."""
    objects = load_objects(text)
    if not objects:
        raise InputError("no SealedSecret found in the input", reference="no-secrets")
    return [sealedsecret.parse(obj, where=f"document {i}") for i, obj in enumerate(objects, start=1)]


def read_one_sealed_secret(text: str) -> Manifest:
    """Exactly one SealedSecret (recovery and merge targets)."""
    objects = read_sealed_secrets(text)
    if len(objects) != 1:
        raise InputError(f"expected exactly one SealedSecret, found {len(objects)}", reference="bad-manifest")
    return objects[0]


def merge_into(
    target_text: str,
    input_text: str,
    public_key: PublicKey,
    settings: SealSettings,
    *,
    default_namespace: Callable[[], str],
) -> Manifest:
    """``--merge-into``: seal the input under the target's name and namespace and merge the items in."""
    target = read_one_sealed_secret(target_text)
    meta = target["metadata"]
    forced = SealSettings(
        scope=settings.scope,
        name=str(meta["name"]),
        namespace=str(meta.get("namespace") or "") or None,
        allow_empty_data=settings.allow_empty_data,
    )
    merged = target
    for secret in read_secrets(input_text):
        renamed = Secret(
            {**secret.metadata, "namespace": forced.namespace} if forced.namespace else dict(secret.metadata),
            secret.items,
            secret.type,
            secret.immutable,
        )
        prepared = prepare_for_sealing(
            renamed,
            name=forced.name,
            scope=forced.scope,
            namespace_flag=None,
            default_namespace=default_namespace,
            allow_empty_data=forced.allow_empty_data,
        )
        merged = sealedsecret.merge(merged, sealedsecret.build(prepared, public_key))
    return merged


def recovery_unseal(text: str, private_keys: list[PrivateKey]) -> Manifest:
    """``--recovery-unseal``: the Secret the controller would create, from backed-up keys."""
    secret = sealedsecret.unseal(read_one_sealed_secret(text), private_keys)
    for value in secret.get("data", {}).values():
        redaction.add(base64.b64decode(value).decode("utf-8", "ignore"))
    return secret


class Controller(Protocol):
    """The part of the controller API that validate and re-encrypt need."""

    def verify(self, sealed_json: bytes) -> ProxyResponse: ...

    def rotate(self, sealed_json: bytes) -> ProxyResponse: ...


def validate(text: str, controller: Controller) -> list[str]:
    """``--validate``: names of the SealedSecrets the controller cannot decrypt."""
    failures = []
    for obj in read_sealed_secrets(text):
        response = controller.verify(json.dumps(obj).encode())
        if response.status == 409:
            failures.append(str(obj["metadata"]["name"]))
        elif response.status != 200:
            raise RemoteError(
                f"cannot validate sealed secret: controller answered HTTP {response.status}",
                reference="controller-error",
            )
    return failures


def re_encrypt(text: str, controller: Controller) -> list[Manifest]:
    """``--re-encrypt``: every SealedSecret re-sealed by the controller with its newest key."""
    results = []
    for obj in read_sealed_secrets(text):
        response = controller.rotate(json.dumps(obj).encode())
        if response.status == 409:
            raise RemoteError("unable to rotate secret", reference="controller-error")
        if response.status != 200:
            raise RemoteError(
                f"cannot re-encrypt secret: controller answered HTTP {response.status}", reference="controller-error"
            )
        try:
            rotated = json.loads(response.body)
        except ValueError:
            raise RemoteError(
                "cannot re-encrypt secret: controller sent invalid JSON", reference="controller-error"
            ) from None
        if not isinstance(rotated, dict):
            raise RemoteError("cannot re-encrypt secret: controller sent no object", reference="controller-error")
        meta = rotated.get("metadata") or {}
        for field in ("creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(field, None)
        results.append(
            {
                "kind": sealedsecret.KIND,
                "apiVersion": sealedsecret.API_VERSION,
                **{k: v for k, v in rotated.items() if k not in ("kind", "apiVersion")},
            }
        )
    return results
