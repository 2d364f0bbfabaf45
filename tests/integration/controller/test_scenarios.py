"""The controller end to end: the real ``gitsecure controller run`` process against the emulated API server.

Each test seals with the real CLI (the certificate fetched through the service proxy), applies the
SealedSecret over HTTP and watches what the controller does to Secrets, status and Events. Negative
assertions ("no Secret") are made only after the controller has visibly processed the object (its
status says so), so they cannot pass merely because it has not got there yet.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitsecure.crypto.keys import sealing_public_key
from gitsecure.seal.modes import SealSettings, seal_secrets
from gitsecure.seal.scope import Scope
from tests.integration.controller.scenario import SEALED, Scenario, b64, decoded, secret_manifest
from tests.support.kube.cluster import wait_for
from tests.support.kube.controller_proc import ControllerProcess

pytestmark = pytest.mark.timeout(120)

MANAGED = "sealedsecrets.bitnami.com/managed"
PATCH = "sealedsecrets.bitnami.com/patch"
SKIP_OWNER = "sealedsecrets.bitnami.com/skip-set-owner-references"
NO_KEY = "no key could decrypt secret"
SCOPE_HINT = "sealed for another name, namespace or scope"
NOT_MANAGED = 'Resource "db" already exists and is not managed by SealedSecret'


def owner_reference(sealed: dict[str, Any]) -> dict[str, Any]:
    """The controller ownerReference a SealedSecret's Secret must carry."""
    meta = sealed["metadata"]
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
    }


def test_create_writes_secret_status_and_event(scenario: Scenario) -> None:
    sealed = scenario.seal_data(
        "db",
        {"username": "admin", "password": "s3cret"},
        type="kubernetes.io/basic-auth",
        labels={"app": "db"},
        annotations={"team": "payments"},
    )
    created = scenario.create_sealed(sealed)

    synced = scenario.wait_synced("db")
    secret = scenario.existing_secret("db")
    assert decoded(secret) == {"username": b"admin", "password": b"s3cret"}
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["metadata"]["labels"] == {"app": "db"}
    assert secret["metadata"]["annotations"] == {"team": "payments"}
    assert secret["metadata"]["ownerReferences"] == [owner_reference(created)]
    assert synced["status"]["observedGeneration"] == synced["metadata"]["generation"] == 1
    assert scenario.message("db") == ""
    event = scenario.wait_event("db", "Unsealed")
    assert (event["type"], event["message"]) == ("Normal", "SealedSecret unsealed successfully")
    assert event["involvedObject"]["uid"] == created["metadata"]["uid"]
    assert event["involvedObject"]["kind"] == "SealedSecret"
    assert [e for e in scenario.events("db") if e["type"] != "Normal"] == []


def test_update_follows_a_reseal(scenario: Scenario) -> None:
    scenario.create_sealed(scenario.seal_data("db", {"password": "one"}))
    first = scenario.wait_secret("db")

    updated = scenario.replace_spec("db", scenario.seal_data("db", {"password": "two", "extra": "new"}))
    assert updated["metadata"]["generation"] == 2
    scenario.wait_synced("db", generation=2)
    secret = scenario.existing_secret("db")
    assert decoded(secret) == {"password": b"two", "extra": b"new"}
    assert secret["metadata"]["uid"] == first["metadata"]["uid"]  # updated in place, not recreated


def test_deleting_the_sealed_secret_collects_its_secret(scenario: Scenario) -> None:
    scenario.create_sealed(scenario.seal_data("db", {"password": "x-value"}))
    scenario.wait_secret("db")
    scenario.delete_sealed("db")
    scenario.wait_no_secret("db")


def test_renamed_without_resealing_fails_clearly(scenario: Scenario) -> None:
    sealed = scenario.seal_data("original", {"password": "p"})
    sealed["metadata"]["name"] = "renamed"
    scenario.create_sealed(sealed)

    scenario.wait_synced("renamed", "False")
    message = scenario.message("renamed")
    assert f"{NO_KEY} (password)" in message
    assert SCOPE_HINT in message
    event = scenario.wait_event("renamed", "ErrUnsealFailed")
    assert event["type"] == "Warning"
    assert event["message"].startswith(f"Failed to unseal: {NO_KEY} (password)")
    assert scenario.secret("renamed") is None
    assert scenario.secret("original") is None


def test_scope_decides_where_a_sealed_secret_opens(scenario: Scenario) -> None:
    other = f"{scenario.namespace}-b"
    scenario.cluster.create_namespace(other)
    namespace_wide = scenario.seal_data("nsw", {"k": "namespace-wide"}, "--scope", "namespace-wide")
    cluster_wide = scenario.seal_data("cw", {"k": "cluster-wide"}, "--scope", "cluster-wide")

    scenario.create_sealed(namespace_wide, namespace=other)  # moved to another namespace: refused
    renamed = {**namespace_wide, "metadata": {**namespace_wide["metadata"], "name": "nsw-renamed"}}
    scenario.create_sealed(renamed)  # renamed in its namespace: allowed
    moved = {**cluster_wide, "metadata": {**cluster_wide["metadata"], "name": "cw-elsewhere"}}
    scenario.create_sealed(moved, namespace=other)  # anywhere, any name

    scenario.wait_synced("nsw", "False", namespace=other)
    assert NO_KEY in scenario.message("nsw", other)
    assert scenario.secret("nsw", other) is None
    scenario.wait_synced("nsw-renamed")
    assert scenario.data("nsw-renamed") == {"k": b"namespace-wide"}
    scenario.wait_synced("cw-elsewhere", namespace=other)
    assert scenario.data("cw-elsewhere", other) == {"k": b"cluster-wide"}


@pytest.mark.parametrize(
    ("corruption", "expected"),
    [
        ("session-key-byte", f"{NO_KEY} (bad)"),
        ("payload-byte", f"{NO_KEY} (bad)"),
        ("base64", "illegal base64 data (bad)"),
    ],
)
def test_corrupt_ciphertext_writes_no_secret(scenario: Scenario, corruption: str, expected: str) -> None:
    sealed = scenario.seal_data("db", {"good": "fine", "bad": "broken"})
    value = sealed["spec"]["encryptedData"]["bad"]
    if corruption == "base64":
        value = "!!" + value[2:]
    else:
        raw = bytearray(base64.b64decode(value))
        raw[10 if corruption == "session-key-byte" else -1] ^= 0x40
        value = base64.b64encode(bytes(raw)).decode()
    sealed["spec"]["encryptedData"]["bad"] = value
    scenario.create_sealed(sealed)

    scenario.wait_synced("db", "False")
    assert expected in scenario.message("db")
    assert "(good)" not in scenario.message("db")
    scenario.wait_event("db", "ErrUnsealFailed")
    assert scenario.secret("db") is None  # all or nothing: "good" alone is not written


def test_unmanaged_secret_is_left_alone_until_managed(scenario: Scenario, controller: ControllerProcess) -> None:
    existing = scenario.create_secret(
        secret_manifest("db", scenario.namespace, {"password": "hand-made"}, labels={"origin": "manual"})
    )
    created = scenario.create_sealed(scenario.seal_data("db", {"password": "sealed"}))

    scenario.wait_synced("db", "False")
    assert scenario.message("db") == f"failed update: {NOT_MANAGED}"
    event = scenario.wait_event("db", "ErrUpdateFailed")
    assert (event["type"], event["message"]) == ("Warning", NOT_MANAGED)
    # As upstream: retried --max-unseal-retries times, then given up until something changes.
    give_up = f"giving up on {scenario.namespace}/db after 5 retries"
    wait_for(lambda: give_up in controller.log_text(), message="the controller to give up")
    assert scenario.secret("db") == existing

    scenario.annotate_secret("db", {MANAGED: "true"})
    # The annotation alone brings the SealedSecret back (documented: no restart or spec change needed).
    secret = scenario.wait_secret("db", lambda s: decoded(s) == {"password": b"sealed"})
    assert secret["metadata"]["ownerReferences"] == [owner_reference(created)]
    assert secret["metadata"]["uid"] == existing["metadata"]["uid"]  # taken over, not recreated
    # Replace mode: labels and annotations become the template's (the `managed` annotation goes too).
    assert not secret["metadata"].get("labels")
    assert not secret["metadata"].get("annotations")
    wait_for(lambda: (scenario.synced("db") or {}).get("status") == "True", message="Synced after the takeover")


def test_patch_mode_merges_into_an_existing_secret(scenario: Scenario) -> None:
    scenario.create_secret(
        secret_manifest(
            "db",
            scenario.namespace,
            {"password": "old", "extra": "kept"},
            labels={"keep": "me", "app": "old"},
            annotations={PATCH: "true"},
        )
    )
    scenario.create_sealed(scenario.seal_data("db", {"password": "new"}, labels={"app": "db"}))

    scenario.wait_synced("db")
    secret = scenario.existing_secret("db")
    assert decoded(secret) == {"password": b"new", "extra": b"kept"}
    assert secret["metadata"]["labels"] == {"keep": "me", "app": "db"}
    assert secret["metadata"]["annotations"] == {PATCH: "true"}
    assert not secret["metadata"].get("ownerReferences")  # patch without managed does not take ownership


def test_immutable_secret_is_not_changed(scenario: Scenario) -> None:
    sealed = scenario.seal_data("db", {"password": "v1"}, immutable=True)
    assert sealed["spec"]["template"]["immutable"] is True
    scenario.create_sealed(sealed)
    scenario.wait_synced("db")
    before = scenario.existing_secret("db")
    assert before["immutable"] is True
    assert decoded(before) == {"password": b"v1"}

    scenario.replace_spec("db", scenario.seal_data("db", {"password": "v2"}, immutable=True))
    scenario.wait_synced("db", "False", generation=2)
    message = scenario.message("db")
    assert message.startswith(f"Error updating {scenario.namespace}/db: the target Secret is immutable.")
    event = next(e for e in scenario.events("db") if e["reason"] == "ErrUpdateFailed")
    assert (event["type"], event["message"]) == ("Warning", message)
    assert scenario.secret("db") == before


def test_skip_set_owner_references(scenario: Scenario) -> None:
    kept = scenario.seal_data("kept", {"k": "kept"}, annotations={SKIP_OWNER: "true", MANAGED: "true"})
    bare = scenario.seal_data("bare", {"k": "bare"}, annotations={SKIP_OWNER: "true"})
    owned = scenario.seal_data("owned", {"k": "owned"})
    for sealed in (kept, bare, owned):
        scenario.create_sealed(sealed)

    scenario.wait_synced("kept")
    assert "ownerReferences" not in scenario.existing_secret("kept")["metadata"]
    # As upstream: without `managed` the created Secret is then found unmanaged (the README says add both).
    scenario.wait_synced("bare", "False")
    assert "already exists and is not managed" in scenario.message("bare")
    assert "ownerReferences" not in scenario.existing_secret("bare")["metadata"]

    scenario.wait_synced("owned")
    for name in ("kept", "owned"):
        scenario.delete_sealed(name)
    scenario.wait_no_secret("owned")  # the collector has run
    assert scenario.data("kept") == {"k": b"kept"}


def test_template_data_is_rendered(scenario: Scenario) -> None:
    sealed = scenario.seal_data("db", {"user": "admin", "password": 'pa"ss'})
    sealed["spec"]["template"]["data"] = {
        "dsn": 'postgres://{{ index . "user" }}:{{ .password }}@db:5432/app',
        "config.json": "{{ toJson . }}",
        "token": "{{ .password | b64enc }}",
        "quoted": "{{ .user | upper | quote }}",
    }
    scenario.create_sealed(sealed)

    scenario.wait_synced("db")
    assert scenario.data("db") == {
        "user": b"admin",
        "password": b'pa"ss',
        "dsn": b'postgres://admin:pa"ss@db:5432/app',
        "config.json": b'{"password":"pa\\"ss","user":"admin"}',
        "token": base64.b64encode(b'pa"ss'),
        "quoted": b'"ADMIN"',
    }


def test_deleted_owned_secret_is_recreated(scenario: Scenario) -> None:
    created = scenario.create_sealed(scenario.seal_data("db", {"password": "again"}))
    first = scenario.wait_secret("db")
    scenario.delete_secret("db")
    second = scenario.wait_secret("db", lambda s: s["metadata"]["uid"] != first["metadata"]["uid"])
    assert decoded(second) == {"password": b"again"}
    assert second["metadata"]["ownerReferences"] == [owner_reference(created)]


def test_sealed_secrets_get_no_bookkeeping(scenario: Scenario, controller: ControllerProcess) -> None:
    good = scenario.seal_data("good", {"k": "v"})
    bad = scenario.seal_data("sealed-as", {"k": "v"})
    bad["metadata"]["name"] = "bad"
    before = []
    for sealed in (good, bad):
        sealed["metadata"]["labels"] = {"app.kubernetes.io/instance": "demo"}
        sealed["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "1"}
        before.append(scenario.create_sealed(sealed))
    scenario.wait_synced("good")
    scenario.wait_synced("bad", "False")
    wait_for(lambda: f"giving up on {scenario.namespace}/bad" in controller.log_text(), message="all retries")

    for created in before:
        after = scenario.sealed(created["metadata"]["name"])
        assert after is not None
        assert {k: v for k, v in after["metadata"].items() if k != "resourceVersion"} == {
            k: v for k, v in created["metadata"].items() if k != "resourceVersion"
        }
        assert after["spec"] == created["spec"]
        assert set(after) == {"apiVersion", "kind", "metadata", "spec", "status"}
    writes = [
        r
        for r in scenario.cluster.requests
        if r.method in ("PUT", "PATCH") and f"/namespaces/{scenario.namespace}/sealedsecrets/" in r.path
    ]
    assert writes
    assert all(r.path.endswith("/status") for r in writes), [r.call for r in writes]


def test_no_plaintext_leaks(scenario: Scenario, controller: ControllerProcess) -> None:
    value = f"hunter2-plaintext-{uuid.uuid4().hex[:12]}"
    scenario.create_sealed(scenario.seal_data("ok", {"password": value}))
    failing = scenario.seal_data("templated", {"password": value})
    failing["spec"]["template"]["data"] = {
        "a": "{{ fail .password }}",
        "b": "{{ index .password 99 }}",
        "c": "{{ .password.field }}",
    }
    scenario.create_sealed(failing)
    moved = scenario.seal_data("moved-from", {"password": value})
    moved["metadata"]["name"] = "moved"
    scenario.create_sealed(moved)
    scenario.create_secret(secret_manifest("taken", scenario.namespace, {"password": value}))
    scenario.create_sealed(scenario.seal_data("taken", {"password": value}))

    scenario.wait_synced("ok")
    for name in ("templated", "moved", "taken"):
        scenario.wait_synced(name, "False")
    assert "error calling fail" in scenario.message("templated")
    with urllib.request.urlopen(f"{controller.metrics_url}/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    places = {
        "log": controller.log_text(),
        "events": json.dumps(scenario.events()),
        "status": json.dumps([obj.get("status") for obj in scenario.cluster.objects(SEALED, scenario.namespace)]),
        "metrics": metrics,
    }
    assert f"{scenario.namespace}/templated" in places["log"]  # the failure paths were logged
    assert "ErrUnsealFailed" in places["events"] and "ErrUpdateFailed" in places["events"]
    assert scenario.namespace in places["metrics"]
    for place, text in places.items():
        for needle in (value, b64(value), value[:-4]):
            assert needle not in text, f"plaintext in {place}"


_secret_keys = st.from_regex(r"[-._a-zA-Z0-9]{1,20}", fullmatch=True).filter(lambda k: k not in (".", ".."))
_names = itertools.count(1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.dictionaries(_secret_keys, st.binary(max_size=200), min_size=1, max_size=5),
    scope=st.sampled_from(Scope),
)
def test_any_sealed_secret_opens_to_its_data(scenario: Scenario, data: dict[str, bytes], scope: Scope) -> None:
    """Sealed in-process with the fetched certificate (the CLI's own code path), unsealed by the controller."""
    other = f"{scenario.namespace}-x"
    scenario.cluster.create_namespace(other)
    public_key = sealing_public_key(scenario.cert.read_bytes(), now=dt.datetime.now(dt.UTC))
    name = f"s{next(_names)}"
    manifest = secret_manifest(name, scenario.namespace, data)
    [sealed] = seal_secrets(json.dumps(manifest), public_key, SealSettings(scope=scope), default_namespace=str)
    # Place it as far from where it was sealed as its scope allows.
    namespace = other if scope is Scope.CLUSTER_WIDE else scenario.namespace
    if scope is not Scope.STRICT:
        name = f"{name}-moved"
        sealed["metadata"]["name"] = name
    scenario.create_sealed(sealed, namespace=namespace)
    scenario.wait_synced(name, namespace=namespace)
    assert scenario.data(name, namespace) == data


@pytest.mark.parametrize("scope", ["strict", "cluster-wide"])
def test_cli_sealed_binary_values_round_trip(scenario: Scenario, tmp_path: Path, scope: str) -> None:
    data = {"all-bytes": bytes(range(256)), "big.bin": uuid.uuid4().bytes * 2048, "newline": b"line\n"}
    sealed = scenario.seal_data("bin", data, "--scope", scope)
    scenario.create_sealed(sealed)
    scenario.wait_synced("bin")
    assert scenario.data("bin") == data


def test_validate_through_the_service_proxy_asks_the_running_controller(
    scenario: Scenario, controller: ControllerProcess, runner: Any
) -> None:
    """`gitsecure seal --validate` reaches the real controller's /v1/verify through the API server's proxy."""
    sealed = scenario.seal_data("db", {"password": "validate-me"})
    args = ("--validate", "--kubeconfig", str(controller.kubeconfig), "--controller-namespace", controller.namespace)
    good = runner(*args, input=json.dumps(sealed))
    assert good.returncode == 0, good.stderr
    renamed = json.loads(json.dumps(sealed))
    renamed["metadata"]["name"] = "db-copy"  # strict scope: another name does not open
    bad = runner(*args, input=json.dumps(renamed))
    assert bad.returncode == 1, bad.stderr
    assert b"validate-me" not in good.stdout + bad.stdout
