"""The controller's life cycle against the real subprocess over real HTTP: keys, restarts, faults, leaders.

Each test has its own emulated cluster and starts its own ``gitsecure controller
run`` (2048-bit keys, for speed), because what is tested is the process itself:
what it does at start, when its key ring changes under it, when it is killed,
when the API server fails, when a second replica runs, and how it stops.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsecure.crypto.keys import dump_certificate, generate_key_pair, load_certificates
from gitsecure.seal.manifest import load_objects
from tests.integration.controller.lifecycle_lab import (
    CONTROLLER_NS,
    FAST_LEASE,
    KEY_LABEL,
    Lab,
    all_synced,
    answers,
    cert_answer,
    cert_of,
    create_many,
    key_secrets,
    lease_spec,
    opens_with,
    private_key_of,
    public_key,
    rfc1123z,
    sealed_for,
    secrets_made,
    stopped_cleanly,
    upstream_key_secret,
    verify,
    wait_keys,
)
from tests.integration.controller.scenario import decoded, namespace_for
from tests.support.kube.cluster import KubeCluster, wait_for
from tests.support.kube.controller_proc import ControllerProcess
from tests.support.seal_runner import Runner

pytestmark = pytest.mark.timeout(180)

PREFIX = "sealed-secrets-key"
COUNT = 150  # SealedSecrets of the restart scenarios: enough that a run can be caught half done
_numbers = itertools.count(1)


@pytest.fixture
def lab(request: pytest.FixtureRequest, tmp_path: Path, runner: Runner) -> Iterator[Lab]:
    """A cluster of this test's own, with a namespace for its SealedSecrets."""
    with KubeCluster() as cluster:
        namespace = namespace_for(request.node.name, next(_numbers))
        cluster.create_namespace(namespace)
        lab = Lab(cluster, tmp_path, runner, namespace)
        try:
            yield lab
        finally:
            lab.close()
        assert cluster.internal_errors == []


def test_first_start_makes_a_key_a_restart_reuses_it_and_sigusr1_adds_one(lab: Lab) -> None:
    controller = lab.launch()
    cert = lab.ready(controller)
    (key,) = key_secrets(lab.cluster)
    meta = key["metadata"]
    assert key["type"] == "kubernetes.io/tls"
    assert meta["generateName"] == PREFIX and meta["name"].startswith(PREFIX) and meta["name"] != PREFIX
    assert meta["labels"] == {KEY_LABEL: "active"}
    assert set(key["data"]) == {"tls.crt", "tls.key"}
    assert cert_of(key) == cert
    assert private_key_of(key).public_key().public_numbers() == public_key(cert).public_numbers()
    stopped_cleanly(controller)

    lab.cluster.clear_requests()
    controller.start()
    assert lab.ready(controller) == cert
    scenario = lab.scenario(cert)
    scenario.create_sealed(scenario.seal_data("db", {"password": "hunter2"}))
    scenario.wait_synced("db")  # the leader is past its start-up key check
    assert [s["metadata"]["name"] for s in key_secrets(lab.cluster)] == [meta["name"]]
    assert 201 not in answers(lab.cluster, "POST", f"/api/v1/namespaces/{CONTROLLER_NS}/secrets")

    os.kill(controller.pid, signal.SIGUSR1)
    keys = wait_keys(lab, 2)
    assert keys[0]["metadata"]["name"] == meta["name"] and keys[1]["metadata"]["generateName"] == PREFIX
    wait_for(lambda: cert_answer(controller) == cert_of(keys[1]), message="the new key served")
    assert controller.running
    stopped_cleanly(controller)


def test_upstream_key_secrets_are_used_and_a_cutoff_time_adds_a_key(lab: Lab) -> None:
    now = dt.datetime.now(dt.UTC)
    old = generate_key_pair(now=now - dt.timedelta(days=20), key_size=2048)
    new = generate_key_pair(now=now - dt.timedelta(days=2), key_size=2048)
    lab.add_key(upstream_key_secret(old, "sealed-secrets-keyold01", fmt="pkcs8"))
    lab.add_key(upstream_key_secret(new, "sealed-secrets-keynew02"))
    broken = upstream_key_secret(new, "sealed-secrets-keybroken")
    broken["data"]["tls.key"] = "bm90IGEga2V5IGF0IGFsbA=="  # "not a key at all"
    lab.add_key(broken)

    controller = lab.launch()
    assert lab.ready(controller) == dump_certificate(new.certificate)
    scenario = lab.scenario(dump_certificate(new.certificate))
    ns = lab.namespace
    scenario.create_sealed(sealed_for(old.private_key.public_key(), ns, "from-old", {"a": b"sealed long ago"}))
    scenario.create_sealed(sealed_for(new.private_key.public_key(), ns, "from-new", {"b": b"sealed lately"}))
    scenario.wait_synced("from-old")
    scenario.wait_synced("from-new")
    assert decoded(scenario.secret("from-old") or {}) == {"a": b"sealed long ago"}
    assert decoded(scenario.secret("from-new") or {}) == {"b": b"sealed lately"}
    names = [s["metadata"]["name"] for s in key_secrets(lab.cluster)]
    assert sorted(names) == ["sealed-secrets-keybroken", "sealed-secrets-keynew02", "sealed-secrets-keyold01"]
    log = controller.log_text()
    assert "sealed-secrets-keybroken" in log and "not used" in log
    stopped_cleanly(controller)

    cutoff = rfc1123z(now - dt.timedelta(hours=1))  # after the newest key's NotBefore
    controller = lab.launch("--key-cutoff-time", cutoff, name="cutoff")
    controller.wait_ready()
    fresh = wait_keys(lab, 4)[-1]
    assert fresh["metadata"]["generateName"] == PREFIX
    wait_for(lambda: cert_answer(controller) == cert_of(fresh), message="the cutoff key served")
    scenario = lab.scenario(cert_of(fresh))
    scenario.create_sealed(scenario.seal_data("after-cutoff", {"c": "sealed now"}))
    assert decoded(scenario.wait_secret("after-cutoff")) == {"c": b"sealed now"}
    scenario.wait_synced("after-cutoff")
    assert (scenario.synced("from-old") or {}).get("status") == "True"
    stopped_cleanly(controller)


def test_key_renewal_then_re_encrypt_through_the_service_proxy(lab: Lab) -> None:
    controller = lab.launch("--key-renew-period", "3s")
    lab.ready(controller)
    first = key_secrets(lab.cluster)[0]
    scenario = lab.scenario(cert_of(first))
    original = sealed_for(public_key(cert_of(first)), lab.namespace, "db", {"password": b"s3cr3t-before"})
    scenario.create_sealed(original)
    scenario.wait_synced("db")

    wait_for(lambda: len(key_secrets(lab.cluster)) >= 2, message="a renewed key")
    wait_for(lambda: cert_answer(controller) not in (None, cert_of(first)), message="the renewed key served")
    run = lab.runner(
        "--re-encrypt",
        "--kubeconfig",
        str(controller.kubeconfig),
        "--controller-namespace",
        CONTROLLER_NS,
        input=json.dumps(original),
    )
    assert run.returncode == 0, run.stderr
    (rotated,) = load_objects(run.text)
    assert b"s3cr3t-before" not in run.stdout and "s3cr3t-before" not in run.stderr
    renewed_keys = [private_key_of(s) for s in key_secrets(lab.cluster)[1:]]
    assert not opens_with(rotated, [private_key_of(first)])
    assert opens_with(rotated, renewed_keys)

    scenario.replace_spec("db", rotated)
    scenario.wait_synced("db", generation=2)
    assert decoded(scenario.secret("db") or {}) == {"password": b"s3cr3t-before"}
    assert "s3cr3t-before" not in controller.log_text()
    stopped_cleanly(controller)


def test_keys_added_relabelled_deleted_or_malformed_at_runtime(lab: Lab) -> None:
    controller = lab.launch("--rate-limit", "100", "--rate-limit-burst", "100")
    base = lab.ready(controller)
    pid = controller.pid
    scenario = lab.scenario(base)
    # Newer than the controller's own key, so that it becomes the active one once added.
    extra = generate_key_pair(
        now=load_certificates(base)[0].not_valid_before_utc + dt.timedelta(minutes=1), key_size=2048
    )
    late = sealed_for(extra.private_key.public_key(), lab.namespace, "late", {"token": b"arrives-with-its-key"})
    scenario.create_sealed(late)
    failed = scenario.wait_synced("late", "False")
    assert "no key could decrypt" in failed["status"]["conditions"][0]["message"]
    assert scenario.secret("late") is None
    assert verify(controller, late) == 409

    lab.add_key(upstream_key_secret(extra, "sealed-secrets-keyadded"))
    scenario.wait_synced("late")
    assert decoded(scenario.secret("late") or {}) == {"token": b"arrives-with-its-key"}
    wait_for(lambda: cert_answer(controller) == dump_certificate(extra.certificate), message="the added key served")
    assert verify(controller, late) == 200

    relabel = {"metadata": {"labels": {KEY_LABEL: "compromised"}}}
    lab.core.patch_namespaced_secret("sealed-secrets-keyadded", CONTROLLER_NS, relabel)
    wait_for(lambda: cert_answer(controller) == base, message="the relabelled key dropped")
    assert verify(controller, late) == 409
    lab.core.patch_namespaced_secret(
        "sealed-secrets-keyadded", CONTROLLER_NS, {"metadata": {"labels": {KEY_LABEL: "active"}}}
    )
    wait_for(lambda: verify(controller, late) == 200, message="the key labelled active again")
    lab.core.delete_namespaced_secret("sealed-secrets-keyadded", CONTROLLER_NS)
    wait_for(lambda: cert_answer(controller) == base, message="the deleted key dropped")
    assert verify(controller, late) == 409

    broken = upstream_key_secret(extra, "sealed-secrets-keybroken")
    garbage = b"-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n"
    broken["data"]["tls.key"] = base64.b64encode(garbage).decode()
    lab.add_key(broken)
    wait_for(lambda: "sealed-secrets-keybroken" in controller.log_text(), message="the malformed key reported")
    assert "garbage" not in controller.log_text()
    scenario.create_sealed(scenario.seal_data("after-broken", {"k": "still unsealing"}))
    scenario.wait_synced("after-broken")
    assert cert_answer(controller) == base
    assert controller.running and controller.pid == pid
    stopped_cleanly(controller)


def test_a_restart_after_kill_9_in_the_middle_of_a_run_loses_nothing(lab: Lab) -> None:
    controller = lab.launch(*FAST_LEASE)
    cert = lab.ready(controller)
    stopped_cleanly(controller)
    create_many(lab.scenario(cert), cert, COUNT)

    controller.start()
    wait_for(lambda: secrets_made(lab) >= 20, interval=0.005, message="the run under way")
    controller.kill()
    assert secrets_made(lab) < COUNT, "the run finished before the kill: nothing was interrupted"
    assert lease_spec(lab.cluster)["holderIdentity"]  # not released: the next run waits for it to expire

    controller.start()
    controller.wait_ready()
    wait_for(lambda: all_synced(lab, COUNT), timeout=60, message=f"all {COUNT} SealedSecrets synced")
    stopped_cleanly(controller)


def test_sigterm_in_the_middle_of_a_run_exits_0_and_releases_the_lease(lab: Lab) -> None:
    controller = lab.launch(*FAST_LEASE)
    cert = lab.ready(controller)
    stopped_cleanly(controller)
    create_many(lab.scenario(cert), cert, COUNT)

    controller.start()
    wait_for(lambda: secrets_made(lab) >= 20, interval=0.005, message="the run under way")
    stopped_cleanly(controller)
    assert secrets_made(lab) < COUNT, "the run finished before SIGTERM: nothing was interrupted"
    assert lease_spec(lab.cluster)["holderIdentity"] == ""

    controller.start()
    controller.wait_ready()
    wait_for(lambda: all_synced(lab, COUNT), timeout=60, message=f"all {COUNT} SealedSecrets synced")
    stopped_cleanly(controller)


def test_409_and_5xx_answers_are_retried_until_secret_and_status_are_right(lab: Lab) -> None:
    controller = lab.launch()
    scenario = lab.scenario(lab.ready(controller))
    ns, cluster = lab.namespace, lab.cluster
    status_path = f"/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets/db/status"
    cluster.clear_requests()
    # More 500s than one request's retries: the pass fails and the work queue retries it with backoff.
    cluster.fail_next("POST", "secrets", 500, count=6, namespace=ns)
    cluster.fail_next("POST", "secrets", 409, count=2, namespace=ns)
    scenario.create_sealed(scenario.seal_data("db", {"password": "v1"}))
    assert decoded(scenario.wait_secret("db")) == {"password": b"v1"}
    scenario.wait_synced("db")
    assert answers(cluster, "POST", f"/api/v1/namespaces/{ns}/secrets") == [500] * 6 + [409] * 2 + [201]
    scenario.wait_event("db", "ErrUpdateFailed")

    cluster.fail_next("PUT", "secrets", 503, count=2, namespace=ns, name="db")
    cluster.fail_next("PUT", "secrets", 409, count=2, namespace=ns, name="db")
    scenario.replace_spec("db", scenario.seal_data("db", {"password": "v2"}))
    scenario.wait_synced("db", generation=2)
    assert decoded(scenario.secret("db") or {}) == {"password": b"v2"}
    assert answers(cluster, "PUT", f"/api/v1/namespaces/{ns}/secrets/db") == [503, 503, 409, 409, 200]

    cluster.clear_requests()
    cluster.fail_next("PUT", "sealedsecrets", 503, count=6, subresource="status", namespace=ns)
    cluster.fail_next("PUT", "sealedsecrets", 409, count=2, subresource="status", namespace=ns)
    scenario.replace_spec("db", scenario.seal_data("db", {"password": "v3"}))
    scenario.wait_synced("db", generation=3)
    assert decoded(scenario.secret("db") or {}) == {"password": b"v3"}
    assert answers(cluster, "PUT", status_path) == [503] * 6 + [409] * 2 + [200]
    assert cluster.pending_faults() == 0
    stopped_cleanly(controller)


def leading(controller: ControllerProcess) -> bool:
    return "leading: this replica unseals" in controller.log_text()


def test_two_replicas_one_leader_and_a_takeover_on_sigterm(lab: Lab) -> None:
    # A lease that outlives a slow shutdown, so that the takeover seen is the release, not an expiry.
    lease = ("--leader-elect-lease-duration", "8s", "--leader-elect-renew-deadline", "4s")
    one = lab.launch(*lease, name="replica-one", env={"HOSTNAME": "replica-one"})
    two = lab.launch(*lease, name="replica-two", env={"HOSTNAME": "replica-two"})
    cert = lab.ready(one)
    assert lab.ready(two) == cert  # the follower serves the leader's key
    holder = str(wait_for(lambda: lease_spec(lab.cluster).get("holderIdentity"), message="a lease holder"))
    leader, follower = (one, two) if holder.startswith("replica-one_") else (two, one)
    assert holder.startswith(("replica-one_", "replica-two_"))
    wait_for(lambda: "waiting for the leader lease" in follower.log_text(), message="the follower waiting")
    assert len(key_secrets(lab.cluster)) == 1

    scenario = lab.scenario(cert)
    scenario.create_sealed(scenario.seal_data("first", {"k": "one"}))
    scenario.wait_synced("first")
    assert f"created Secret {lab.namespace}/first" in leader.log_text()
    assert not leading(follower) and "created Secret" not in follower.log_text()
    assert lease_spec(lab.cluster)["holderIdentity"] == holder

    transitions = int(lease_spec(lab.cluster).get("leaseTransitions") or 0)
    stopped_cleanly(leader)
    assert "released the lease" in leader.log_text()
    wait_for(lambda: leading(follower), timeout=15, message="the follower taking over")
    spec = lease_spec(lab.cluster)
    assert spec["holderIdentity"] not in ("", holder) and int(spec["leaseTransitions"]) == transitions + 1
    scenario.create_sealed(scenario.seal_data("second", {"k": "two"}))
    scenario.wait_synced("second")
    assert f"created Secret {lab.namespace}/second" in follower.log_text()
    assert len(key_secrets(lab.cluster)) == 1
    stopped_cleanly(follower)


def test_sealed_secrets_environment_variables_and_gitsecure_ones_winning(lab: Lab) -> None:
    controller = lab.launch(
        env={
            "SEALED_SECRETS_KEY_PREFIX": "my-keys",
            "SEALED_SECRETS_PRIVATEKEY_LABELS": "origin=sealed-secrets,team=platform",
            "GITSECURE_CONTROLLER_PRIVATEKEY_LABELS": "origin=gitsecure",
            "SEALED_SECRETS_KEY_SIZE": "4096",  # the --key-size 2048 flag wins
        }
    )
    cert = lab.ready(controller)
    (key,) = key_secrets(lab.cluster)
    assert key["metadata"]["generateName"] == "my-keys" and key["metadata"]["name"].startswith("my-keys")
    assert key["metadata"]["labels"] == {"origin": "gitsecure", KEY_LABEL: "active"}
    assert public_key(cert).key_size == 2048
    scenario = lab.scenario(cert)
    scenario.create_sealed(scenario.seal_data("db", {"password": "env"}))
    scenario.wait_synced("db")
    with urllib.request.urlopen(f"{controller.url}/healthz", timeout=5) as reply:
        assert reply.status == 200
    stopped_cleanly(controller)
