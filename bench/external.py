"""1,000 ExternalSecrets against OpenBao and against moto: time to Ready, provider calls per refresh, memory.

Run ``.venv/bin/python bench/external.py`` (or ``make bench``); ``--quick`` for a smoke run. Nothing is asserted
about timings: the exit status is non-zero only when the controller breaks (never syncs everything, or a Secret
holds the wrong value).

What is measured, per provider (OpenBao's dev server for Vault; moto's server for AWS Secrets Manager):

* the remote side is seeded with ``--count`` secrets (fresh random values), the emulated API server with one
  ClusterSecretStore (token auth for Vault, static keys for AWS) and ``--count`` ExternalSecrets on it, each reading
  two properties of its own remote secret (``refreshInterval`` ``--interval``), spread over 10 namespaces;
* then ``gitsecure controller run`` starts as its own process (default flags except ``--provider-rate-limit``)
  and the bench polls the emulator's store until every ExternalSecret is Ready and every Secret holds its
  values. Reported: the time from process start until then;
* provider calls: ``externalsecret_provider_api_calls_count`` from the controller's ``/metrics``, for the
  initial sync and for the next full refresh cycle (one ``--interval`` plus the jitter), per ExternalSecret.
  Target: at most one read per ExternalSecret per cycle, and logins once per store, not per reconcile;
* peak RSS of the controller process (``VmHWM``).

No peer runs side by side: the External Secrets Operator is a Go binary that cannot be installed here (no
Go module proxy), so the figures stand against the targets in the issue only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test harness is not installed

from tests.support.kube.cluster import KubeCluster  # noqa: E402
from tests.support.kube.controller_proc import ControllerProcess  # noqa: E402
from tests.support.motoserver import ACCESS_KEY, SECRET_KEY, MotoServer  # noqa: E402
from tests.support.openbao import OpenBao  # noqa: E402

ES = "external-secrets.io/v1/externalsecrets"
NAMESPACES = 10
CYCLES = 2
CREDS = "bench-creds"
POLL_S = 1.0  # each poll deep-copies every ExternalSecret in the emulator, which shares these two cores
_CALLS = re.compile(r"^externalsecret_provider_api_calls_count\{([^}]*)\} ([0-9.e+]+)$", re.M)


class BenchError(Exception):
    """The controller broke: the figures would mean nothing."""


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _seed_remote(kind: str, server: Any, count: int) -> dict[int, tuple[str, str]]:
    values = {i: (f"user-{i}", secrets.token_urlsafe(18)) for i in range(count)}
    if kind == "vault":
        for i, (user, password) in values.items():
            server.kv_put(f"bench/app-{i}", {"username": user, "password": password})
    else:
        sm = server.client("secretsmanager")
        for i, (user, password) in values.items():
            sm.create_secret(Name=f"bench/app-{i}", SecretString=json.dumps({"username": user, "password": password}))
    return values


def _store(kind: str, server: Any) -> list[dict[str, Any]]:
    """One ClusterSecretStore for every ExternalSecret (its credentials in ``CREDS``)."""
    if kind == "vault":
        provider = {
            "vault": {
                "server": server.url,
                "path": "secret",
                "version": "v2",
                "auth": {"tokenSecretRef": {"name": "creds", "key": "token", "namespace": CREDS}},
            }
        }
        data = {"token": _b64(server.root_token)}
    else:
        provider = {
            "aws": {
                "service": "SecretsManager",
                "region": "eu-central-1",
                "auth": {
                    "secretRef": {
                        "accessKeyIDSecretRef": {"name": "creds", "key": "id", "namespace": CREDS},
                        "secretAccessKeySecretRef": {"name": "creds", "key": "key", "namespace": CREDS},
                    }
                },
            }
        }
        data = {"id": _b64(ACCESS_KEY), "key": _b64(SECRET_KEY)}
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": CREDS}, "data": data},
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": "store"},
            "spec": {"provider": provider},
        },
    ]


def _external_secret(index: int, namespace: str, interval: str) -> dict[str, Any]:
    key = f"bench/app-{index}"
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": f"es-{index}", "namespace": namespace},
        "spec": {
            "refreshInterval": interval,
            "secretStoreRef": {"name": "store", "kind": "ClusterSecretStore"},
            "target": {"name": f"app-{index}"},
            "data": [
                {"secretKey": "username", "remoteRef": {"key": key, "property": "username"}},
                {"secretKey": "password", "remoteRef": {"key": key, "property": "password"}},
            ],
        },
    }


def _calls(metrics_url: str) -> Counter[str]:
    with urllib.request.urlopen(f"{metrics_url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    counts: Counter[str] = Counter()
    for labels, value in _CALLS.findall(text):
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        counts[f"{fields.get('call')}/{fields.get('status')}"] += int(float(value))
    return counts


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def _all_synced(cluster: KubeCluster, expected: dict[tuple[str, str], tuple[str, str]]) -> bool:
    ready = 0
    for es in cluster.objects(ES):
        for condition in (es.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                ready += 1
    return ready >= len(expected)


def _check(cluster: KubeCluster, expected: dict[tuple[str, str], tuple[str, str]]) -> None:
    for (namespace, name), (user, password) in expected.items():
        secret = cluster.get("v1/secrets", namespace, name)
        data = {k: base64.b64decode(v).decode() for k, v in ((secret or {}).get("data") or {}).items()}
        if data != {"username": user, "password": password}:
            raise BenchError(f"Secret {namespace}/{name} does not hold its remote values")


def run(kind: str, count: int, interval_s: int, rate: str, workdir: Path) -> dict[str, Any]:
    """One provider's run; the figures."""
    server_cm: Any = OpenBao(workdir / "bao") if kind == "vault" else MotoServer(workdir / "moto")
    with server_cm as server, KubeCluster() as cluster:
        started_seed = time.monotonic()
        values = _seed_remote(kind, server, count)
        expected: dict[tuple[str, str], tuple[str, str]] = {}
        for n in range(NAMESPACES):
            cluster.create_namespace(f"bench-{n}")
        cluster.create_namespace(CREDS)
        secret, store = _store(kind, server)
        cluster.seed("v1/secrets", secret)
        cluster.seed("external-secrets.io/v1/clustersecretstores", store)
        bodies = []
        for i in range(count):
            namespace = f"bench-{i % NAMESPACES}"
            bodies.append(_external_secret(i, namespace, f"{interval_s}s"))
            expected[(namespace, f"app-{i}")] = values[i]
        cluster.seed(ES, *bodies)
        seeding = time.monotonic() - started_seed
        env = server.env() if kind == "aws" else {}
        start = time.monotonic()
        controller = ControllerProcess(
            cluster,
            workdir,
            "--provider-rate-limit",
            rate,
            "--provider-rate-limit-burst",
            str(int(float(rate) * 2)),
            env=env,
            name=f"controller-{kind}",
        )
        try:
            deadline = start + 600
            while not _all_synced(cluster, expected):
                if not controller.running:
                    raise BenchError(f"the controller exited:\n{controller.log_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise BenchError("not every ExternalSecret became Ready within 600 s")
                time.sleep(POLL_S)
            ready_s = time.monotonic() - start
            _check(cluster, expected)
            initial = _calls(controller.metrics_url)
            # Whole intervals: with ±10% jitter a single window would catch some refreshes twice.
            time.sleep(interval_s * CYCLES)
            cycle = _calls(controller.metrics_url) - initial
            rss = _peak_rss_mb(controller.pid)
        finally:
            code = controller.stop(timeout=30)
        if code != 0:
            raise BenchError(f"the controller exited with {code}")
        return {"ready_s": ready_s, "seeding_s": seeding, "initial": initial, "cycle": cycle, "rss_mb": rss}


def _report(kind: str, count: int, figures: dict[str, Any]) -> None:
    read = "ReadSecretData/success" if kind == "vault" else "GetSecretValue/success"
    login = "Login/success" if kind == "vault" else "AssumeRole/success"
    print(f"\n{kind}: {count} ExternalSecrets in {NAMESPACES} namespaces on one ClusterSecretStore")
    print(f"  time from controller start until all Ready: {figures['ready_s']:.1f} s")
    print(f"  initial sync: {dict(figures['initial'])}")
    print(f"    reads per ExternalSecret: {figures['initial'][read] / count:.2f}  (two data[] entries each)")
    print(f"  {CYCLES} refresh intervals after that: {dict(figures['cycle'])}")
    print(f"    reads per ExternalSecret per cycle: {figures['cycle'][read] / count / CYCLES:.2f}  (target <= 1)")
    print(f"    logins in those cycles: {figures['cycle'][login]}")
    print(f"  controller peak RSS: {figures['rss_mb']:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit 1 when the controller breaks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60, help="refreshInterval in seconds")
    parser.add_argument("--provider-rate-limit", default="50", help="the controller flag (default: its default)")
    parser.add_argument("--providers", default="vault,aws")
    parser.add_argument("--quick", action="store_true", help="100 ExternalSecrets, 10 s interval")
    args = parser.parse_args(argv)
    count, interval = (100, 10) if args.quick else (args.count, args.interval)
    print(f"bench/external.py: {os.cpu_count()} CPUs, provider rate limit {args.provider_rate_limit}/s per store")
    try:
        for kind in args.providers.split(","):
            with tempfile.TemporaryDirectory(prefix=f"bench-external-{kind}-") as tmp:
                _report(kind, count, run(kind, count, interval, args.provider_rate_limit, Path(tmp)))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
