"""AWS through the real controller and moto: dataFrom.find with a rewrite, a secret scheduled for deletion."""

from __future__ import annotations

import json
import secrets

from tests.integration.external.stack import GROUP, VERSION, Stack, b64
from tests.support.kube.cluster import wait_for
from tests.support.motoserver import ACCESS_KEY, REGION, SECRET_KEY, MotoServer


def _setup(stack: Stack, stem: str) -> str:
    ns = stack.namespace(stem)
    stack.apply(
        ns,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "aws-creds"},
            "data": {"id": b64(ACCESS_KEY), "key": b64(SECRET_KEY)},
        },
    )
    provider = {
        "service": "SecretsManager",
        "region": REGION,
        "auth": {
            "secretRef": {
                "accessKeyIDSecretRef": {"name": "aws-creds", "key": "id"},
                "secretAccessKeySecretRef": {"name": "aws-creds", "key": "key"},
            }
        },
    }
    stack.apply(
        ns,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "SecretStore",
            "metadata": {"name": "aws"},
            "spec": {"provider": {"aws": provider}},
        },
    )
    return ns


def test_find_by_tags_with_rewrite(stack: Stack, moto: MotoServer) -> None:
    ns = _setup(stack, "aws-find")
    base = "app-" + secrets.token_hex(3)
    sm = moto.client("secretsmanager")
    sm.create_secret(Name=f"{base}/db", SecretString="d", Tags=[{"Key": "team", "Value": base}])
    sm.create_secret(Name=f"{base}/cache", SecretString="c", Tags=[{"Key": "team", "Value": base}])
    sm.create_secret(Name=f"{base}/other", SecretString="o", Tags=[{"Key": "team", "Value": "someone-else"}])
    stack.external_secret(
        ns,
        "found",
        {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
            "target": {"name": "bundle"},
            "dataFrom": [
                {
                    "find": {"tags": {"team": base}},
                    "rewrite": [{"regexp": {"source": f"{base}/(.*)", "target": "svc_$1"}}],
                }
            ],
        },
    )
    stack.wait_data(ns, "bundle", {"svc_db": b"d", "svc_cache": b"c"})


def test_secret_scheduled_for_deletion_deletes_the_target_under_delete_policy(stack: Stack, moto: MotoServer) -> None:
    ns = _setup(stack, "aws-gone")
    name = "gone-" + secrets.token_hex(3)
    sm = moto.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "p"}))
    stack.external_secret(
        ns,
        "es",
        {
            "refreshInterval": "1s",
            "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
            "target": {"name": "synced", "deletionPolicy": "Delete"},
            "data": [{"secretKey": "password", "remoteRef": {"key": name, "property": "password"}}],
        },
    )
    stack.wait_data(ns, "synced", {"password": b"p"})
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    wait_for(lambda: stack.secret(ns, "synced") is None, timeout=30, message="the Secret deleted")
    stack.wait_ready(ns, "es", reason="SecretDeleted")
