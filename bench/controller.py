"""Cold start of ``gitsecure controller run`` with 2,000 SealedSecrets against the kmock emulator.

Run ``.venv/bin/python bench/controller.py`` (or ``make bench``); ``--quick`` for a smoke run of
a few seconds. Nothing is asserted about timings: the exit status is non-zero only when the
controller breaks (exits, never syncs everything, writes a Secret that differs from what was sealed).

What is measured
----------------
The cluster is seeded before the controller starts, as after a restore or a migration from the
sealed-secrets controller: three key Secrets in ``kube-system`` in the sealed-secrets format
(RSA-4096 as in production, certificates with NotBefore 400, 60 and 5 days ago; key generation is
not timed), then ``--count`` SealedSecrets (default 2,000) spread over 20 namespaces, each with
``--values`` values (default 3: a user name, a password, a URL) sealed in process with
gitsecure's own code, fresh plaintexts every run. Each SealedSecret is sealed with the key that was
active when it was sealed; the mix (``--mix``, oldest to newest, default 10,30,60) is weighted
towards newer keys: Secrets are re-sealed when they change and after ``--re-encrypt``, so few still
carry a key a year old. The assignment is shuffled (fixed seed), so the controller meets them mixed.

Then ``gitsecure controller run`` starts as its own process (the test harness's ControllerProcess:
a kubeconfig for the emulator, default flags, 4 workers) and the bench polls the emulator's store
in place (no HTTP, no copies) every 50 ms until every SealedSecret has ``Synced=True`` for its
current generation. Reported:

* time from process start until all are Synced (target: 30 s), with phases from the controller's
  log timestamps (imports, HTTP up, key ring loaded, leading, first and last Secret created);
* RSA private-key operations per value: ``gitsecure_controller_rsa_private_operations_total`` from
  the controller's ``/metrics`` at the end, divided by the number of values (target: 1.2). There is
  no key id in a sealed value, so a wrong guess costs a whole RSA operation; the model line prints
  what the mix costs when keys are tried most-successful (then newest) first;
* peak RSS of the controller process, ``VmHWM`` of ``/proc/PID/status`` (target: 300 MB, 10^6 bytes);
* where the time goes: the controller's CPU seconds, the part of it the RSA operations explain
  (operations times the in-process cost of one), the emulator's CPU seconds (this process), and the
  API requests per SealedSecret.

Every Secret is checked against the plaintexts afterwards. No peer runs side by side: the upstream
Go controller cannot be installed on these machines, so the figures stand against the targets only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test harness (tests.support.kube) is not installed

from tests.support.kube.cluster import KubeCluster  # noqa: E402
from tests.support.kube.controller_proc import ControllerProcess  # noqa: E402

from gitsecure import __version__ as gitsecure_version  # noqa: E402
from gitsecure.controller.keyregistry import key_secret_manifest  # noqa: E402
from gitsecure.crypto import hybrid  # noqa: E402
from gitsecure.crypto.keys import KeyPair, generate_key_pair  # noqa: E402
from gitsecure.seal import sealedsecret  # noqa: E402
from gitsecure.seal.secret import Secret, prepare_for_sealing  # noqa: E402

CONTROLLER_NAMESPACE = "kube-system"
KEY_PREFIX = "sealed-secrets-key"
KEY_AGES_DAYS = (400, 60, 5)  # oldest first
DEFAULT_MIX = (10, 30, 60)  # percent of SealedSecrets per key, oldest first
APP_NAMESPACES = 20
SEALED = "bitnami.com/v1alpha1/sealedsecrets"
SYNC_TARGET_S = 30.0
OPS_TARGET = 1.2
RSS_TARGET_MB = 300.0
POLL_S = 0.05
BUSY_CORES = 0.2  # other processes' load above which the wall time is not the controller's own
ITEM_NAMES = ("username", "password", "url")


class BenchError(Exception):
    """The controller broke: the figures would mean nothing."""


@dataclass(frozen=True)
class Workload:
    """What was seeded, and what every Secret must hold afterwards."""

    sealed: list[dict[str, Any]]
    expected: dict[tuple[str, str], dict[str, str]]  # (namespace, name) -> base64 data
    per_key: list[int]  # SealedSecrets per key, oldest first
    values: int


# --------------------------------------------------------------------------------------------
# Inputs


def make_keys(key_size: int, now: dt.datetime) -> list[KeyPair]:
    """The key ring, oldest first, NotBefore ``KEY_AGES_DAYS`` ago."""
    return [generate_key_pair(now=now - dt.timedelta(days=days), key_size=key_size) for days in KEY_AGES_DAYS]


def split(count: int, mix: Sequence[int]) -> list[int]:
    """``count`` shared out in proportion to ``mix`` (largest remainder, so the parts add up)."""
    total = sum(mix)
    exact = [count * share / total for share in mix]
    parts = [int(x) for x in exact]
    for index in sorted(range(len(mix)), key=lambda i: parts[i] - exact[i])[: count - sum(parts)]:
        parts[index] += 1
    return parts


def _plaintexts(index: int, values: int) -> dict[str, bytes]:
    items = {
        "username": f"svc-{index:04d}".encode(),
        "password": secrets.token_urlsafe(24).encode(),
        "url": f"postgres://svc-{index:04d}:{secrets.token_urlsafe(12)}@db-{index % 7}.data.svc:5432/app".encode(),
    }
    names = [*ITEM_NAMES, *(f"extra-{n}" for n in range(values - len(ITEM_NAMES)))][:values]
    return {name: items.get(name) or secrets.token_bytes(32) for name in names}


def seal_workload(keys: Sequence[KeyPair], count: int, values: int, mix: Sequence[int]) -> Workload:
    """``count`` SealedSecrets sealed in process, each with the key of its slot in ``mix``."""
    per_key = split(count, mix)
    assignment = [k for k, n in enumerate(per_key) for _ in range(n)]
    random.Random(20261122).shuffle(assignment)
    sealed: list[dict[str, Any]] = []
    expected: dict[tuple[str, str], dict[str, str]] = {}
    for index, key_index in enumerate(assignment):
        namespace, name = f"app-{index % APP_NAMESPACES:02d}", f"secret-{index:04d}"
        items = _plaintexts(index, values)
        secret = prepare_for_sealing(
            Secret({"name": name, "namespace": namespace}, items, "Opaque"),
            name=None,
            scope=None,
            namespace_flag=None,
            default_namespace=lambda: "default",
            allow_empty_data=False,
        )
        sealed.append(sealedsecret.build(secret, keys[key_index].private_key.public_key()))
        expected[(namespace, name)] = {k: base64.b64encode(v).decode() for k, v in items.items()}
    return Workload(sealed, expected, per_key, values)


def modelled_ops(per_key: Sequence[int], values: int) -> float:
    """RSA operations per value when keys are tried most-successful first (ties: newest first)."""
    total = sum(per_key)
    ranked = sorted(range(len(per_key)), key=lambda k: (-per_key[k], -k))
    first = sum((rank + 1) * per_key[k] / total for rank, k in enumerate(ranked))
    return (first + values - 1) / values


def rsa_op_seconds(key: KeyPair, runs: int = 40) -> float:
    """The cost of one RSA-OAEP private operation in this interpreter (median of ``runs``)."""
    sealed = hybrid.seal(key.private_key.public_key(), b"x" * 32, label=b"bench/probe")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        hybrid.unseal([key.private_key], sealed, label=b"bench/probe")
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2]


# --------------------------------------------------------------------------------------------
# Reading the emulator and the controller


def _store_items(cluster: KubeCluster, resource: str) -> Iterator[dict[str, Any]]:
    # In place, inside the emulator's loop: live_objects() deep-copies every object, which at
    # 20 polls a second would load the emulator more than the controller's own requests do.
    emulator: Any = cluster.emulator
    return emulator._store.items(emulator.kind(resource).resource)  # type: ignore[no-any-return]


def sync_counts(cluster: KubeCluster) -> tuple[int, int]:
    """(SealedSecrets Synced=True for their current generation, SealedSecrets Synced=False)."""

    def count() -> tuple[int, int]:
        synced = failed = 0
        for obj in _store_items(cluster, SEALED):
            status = obj.get("status") or {}
            for condition in status.get("conditions") or ():
                if condition.get("type") != "Synced":
                    continue
                current = status.get("observedGeneration") == obj["metadata"].get("generation")
                synced += condition.get("status") == "True" and current
                failed += condition.get("status") == "False"
        return synced, failed

    result: tuple[int, int] = cluster.call(count)
    return result


def check_secrets(cluster: KubeCluster, workload: Workload) -> None:
    """Every Secret exists, is owned by its SealedSecret and holds exactly the sealed plaintexts."""

    def collect() -> dict[tuple[str, str], tuple[dict[str, str], list[str]]]:
        found = {}
        for obj in _store_items(cluster, "v1/secrets"):
            meta = obj["metadata"]
            owners = [str(ref.get("kind")) for ref in meta.get("ownerReferences") or ()]
            found[(meta["namespace"], meta["name"])] = (dict(obj.get("data") or {}), owners)
        return found

    found = cluster.call(collect)
    for key, data in workload.expected.items():
        if key not in found:
            raise BenchError(f"Secret {key[0]}/{key[1]} was not created")
        if found[key][0] != data:
            raise BenchError(f"Secret {key[0]}/{key[1]} does not hold the sealed values")
        if found[key][1] != ["SealedSecret"]:
            raise BenchError(f"Secret {key[0]}/{key[1]} is not owned by its SealedSecret")


def scrape(url: str) -> dict[str, float]:
    """The controller's metrics: series name (labels dropped) to the sum of its samples."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            name = series.partition("{")[0]
            totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (``/proc/stat``: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def peak_rss_bytes(pid: int) -> int:
    """``VmHWM`` of a live process: its resident set's high-water mark."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchError("no VmHWM in /proc/PID/status")


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ [\w.]+: (.*)$")
PHASES = (
    ("first log line (interpreter, imports)", "gitsecure controller"),
    ("HTTP API and metrics up", "HTTP API on port"),
    ("key ring loaded", "key ring loaded"),
    ("leading (lease acquired)", "leading:"),
    ("first Secret created", "created Secret"),
)


def phases(log: str, started_wall: float) -> list[tuple[str, float]]:
    """Seconds from process start to each phase's first log line, and to the last Secret created."""
    stamps: list[tuple[float, str]] = []
    for line in log.splitlines():
        match = _LOG_LINE.match(line)
        if match:
            when = dt.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local time, as logged
            stamps.append((when - started_wall, match[2]))
    found = []
    for label, prefix in PHASES:
        first = next((t for t, message in stamps if message.startswith(prefix)), None)
        if first is not None:
            found.append((label, first))
    created = [t for t, message in stamps if message.startswith("created Secret")]
    if created:
        found.append(("last Secret created", created[-1]))
    return found


def request_mix(cluster: KubeCluster) -> Counter[str]:
    """API requests the emulator served, by method and resource (names and namespaces folded)."""
    mix: Counter[str] = Counter()
    for record in cluster.requests:
        path = re.sub(r"/namespaces/[^/]+", "", record.path)
        parts = [p for p in path.split("/") if p]
        # /api/v1/<plural>[/<name>[/<sub>]] or /apis/<group>/<version>/<plural>[/<name>[/<sub>]]
        rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
        resource = rest[0] if rest else "/".join(parts)
        shape = resource + ("/NAME" if len(rest) > 1 else "") + (f"/{rest[2]}" if len(rest) > 2 else "")
        watch = record.query.get("watch") in ("true", "1")
        mix[f"{'WATCH' if watch else record.method} {shape}"] += 1
    return mix


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Result:
    """The figures of one cold start."""

    sync_seconds: float | None
    synced: int
    failed: int
    timeline: list[tuple[float, int]]
    metrics: dict[str, float]
    peak_rss: int
    cpu_seconds: float
    system_seconds: float
    emulator_cpu_seconds: float
    others_cpu_seconds: float
    log: str
    started_wall: float


def run_controller(
    cluster: KubeCluster, workload: Workload, work: Path, timeout: float, flags: Sequence[str] = ()
) -> Result:
    """Start the controller, wait until everything is Synced (or ``timeout``), collect the figures."""
    total = len(workload.sealed)
    cpu_before, busy_before = time.process_time(), machine_busy_seconds()
    started_wall = time.time()
    started = time.monotonic()
    controller = ControllerProcess(cluster, work, *flags, namespace=CONTROLLER_NAMESPACE)
    try:
        timeline: list[tuple[float, int]] = []
        next_mark, synced, failed, done_at = 1.0, 0, 0, None
        while True:
            elapsed = time.monotonic() - started
            if not controller.running:
                raise BenchError(
                    f"the controller exited with {controller.returncode}:\n{controller.log_text()[-3000:]}"
                )
            synced, failed = sync_counts(cluster)
            if elapsed >= next_mark:
                timeline.append((next_mark, synced))
                next_mark += 1.0
            if synced == total:
                done_at = elapsed
                break
            if elapsed > timeout:
                break
            time.sleep(POLL_S)
        emulator_cpu, busy = time.process_time() - cpu_before, machine_busy_seconds() - busy_before
        metrics = scrape(controller.metrics_url)
        peak = peak_rss_bytes(controller.pid)
        stat = Path(f"/proc/{controller.pid}/stat").read_text().rsplit(")", 1)[1].split()
        system = int(stat[12]) / os.sysconf("SC_CLK_TCK")
        cpu = int(stat[11]) / os.sysconf("SC_CLK_TCK") + system  # utime + stime
        others = max(0.0, busy - cpu - emulator_cpu)
    finally:
        if controller.running:
            controller.stop()
    return Result(
        done_at,
        synced,
        failed,
        timeline,
        metrics,
        peak,
        cpu,
        system,
        emulator_cpu,
        others,
        controller.log_text(),
        started_wall,
    )


# --------------------------------------------------------------------------------------------
# Report


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(args: argparse.Namespace, cluster: KubeCluster, *, workload: Workload, result: Result, op_s: float) -> None:
    """Print the targets table, the phases and the cost breakdown."""
    total, values = len(workload.sealed), len(workload.sealed) * workload.values
    ops = result.metrics.get("gitsecure_controller_rsa_private_operations_total", float("nan"))
    per_value = ops / values
    rss_mb = result.peak_rss / 1e6
    sync = result.sync_seconds
    print(f"\n{'target':<38} {'measured':>12} {'target':>10}  verdict")
    print("-" * 70)
    sync_text = f"{sync:.1f} s" if sync is not None else f"{result.synced}/{total}"
    print(
        f"{'all Synced, from process start':<38} {sync_text:>12} {'<= 30 s':>10}  "
        f"{_verdict(sync is not None and sync <= SYNC_TARGET_S)}"
    )
    print(
        f"{'RSA private operations per value':<38} {per_value:>12.3f} {'<= 1.2':>10}  "
        f"{_verdict(per_value <= OPS_TARGET)}"
    )
    print(
        f"{'peak RSS of the controller (VmHWM)':<38} {rss_mb:>9.0f} MB {'<= 300 MB':>10}  "
        f"{_verdict(rss_mb <= RSS_TARGET_MB)}"
    )
    print(
        f"\nRSA operations: {ops:.0f} for {values} values ({total} SealedSecrets x {workload.values});"
        f" model for this mix, most-successful key first: {modelled_ops(workload.per_key, workload.values):.3f}"
        f" per value (uniform mix: {modelled_ops([1] * len(KEY_AGES_DAYS), workload.values):.3f})"
    )

    print("\nphases (seconds from process start; controller log timestamps, ms resolution):")
    for label, seconds in phases(result.log, result.started_wall):
        print(f"  {label:<40} {seconds:7.2f}")
    if sync is not None:
        print(f"  {'all Synced (bench poll, 50 ms)':<40} {sync:7.2f}")
    marks = [f"{t:.0f}s:{n}" for t, n in result.timeline]
    print("  Synced over time: " + " ".join(marks[:40]) + (" ..." if len(marks) > 40 else ""))

    passes = result.metrics.get("sealed_secrets_controller_unseal_requests_total", 0.0)
    errors = result.metrics.get("sealed_secrets_controller_unseal_errors_total", 0.0)
    rsa_cpu = ops * op_s
    wall = sync if sync is not None else args.timeout
    print("\nwhere the time goes:")
    print(
        f"  controller CPU {result.cpu_seconds:.1f} s (kernel {result.system_seconds:.1f} s) over {wall:.1f} s wall"
        f" ({result.cpu_seconds / wall:.2f} cores)"
    )
    print(
        f"  RSA private operations: {ops:.0f} x {op_s * 1000:.2f} ms = {rsa_cpu:.1f} s of CPU"
        f" ({rsa_cpu / result.cpu_seconds:.0%} of the controller's)"
    )
    print(f"  emulator + bench poll CPU (this process): {result.emulator_cpu_seconds:.1f} s")
    print(
        f"  other processes on this machine: {result.others_cpu_seconds:.1f} CPU s"
        f" ({result.others_cpu_seconds / wall:.2f} cores)"
    )
    if result.others_cpu_seconds / wall > BUSY_CORES:
        print("  NOTE: the machine was busy with other work; the wall time overstates the controller's. Run again.")
    print(f"  reconcile passes {passes:.0f} ({passes / total:.2f} per SealedSecret), unseal errors {errors:.0f}")
    mix = request_mix(cluster)
    served = sum(mix.values())
    print(f"  API requests served: {served} ({served / total:.2f} per SealedSecret):")
    for name, number in mix.most_common(8):
        print(f"    {number:6d}  {name}")
    problems = [line for line in result.log.splitlines() if " WARNING " in line or " ERROR " in line]
    print(f"  controller log: {len(result.log.splitlines())} lines, {len(problems)} warnings/errors")
    for line in problems[:5]:
        print(f"    {line[:160]}")


def main(argv: list[str] | None = None) -> int:
    """Seed, run, report; 1 when the controller breaks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=2000, help="SealedSecrets (default 2000)")
    parser.add_argument("--values", type=int, default=3, help="values per SealedSecret (default 3)")
    parser.add_argument("--key-size", type=int, default=4096, help="RSA key size of the ring (default 4096)")
    parser.add_argument("--mix", default=",".join(map(str, DEFAULT_MIX)), help="share per key, oldest first")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up waiting after this many seconds")
    parser.add_argument("--keep-log", type=Path, help="copy the controller's log here")
    parser.add_argument(
        "--controller-flag", action="append", default=[], help="extra flag for the controller, e.g. --workers=8"
    )
    parser.add_argument("--quick", action="store_true", help="200 SealedSecrets, 2048-bit keys: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.key_size = 200, 2048
    mix = [int(x) for x in args.mix.split(",")]
    if len(mix) != len(KEY_AGES_DAYS) or min(mix) < 0 or sum(mix) <= 0 or args.values < 1 or args.count < 1:
        parser.error(f"--mix needs {len(KEY_AGES_DAYS)} non-negative shares; --count and --values at least 1")
    try:
        return _bench(args, mix)
    except BenchError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1


def _bench(args: argparse.Namespace, mix: list[int]) -> int:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"gitsecure {gitsecure_version} controller | Python {platform.python_version()} | "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}"
    )
    print("no peer runs side by side: the upstream Go controller cannot be installed here; figures vs targets only")
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    keys = make_keys(args.key_size, now)
    print(
        f"key ring: 3 x RSA-{args.key_size}, NotBefore {', '.join(f'{d} d' for d in KEY_AGES_DAYS)} ago"
        f" (generated in {time.perf_counter() - start:.1f} s, not measured)"
    )
    op_s = rsa_op_seconds(keys[-1])

    start = time.perf_counter()
    workload = seal_workload(keys, args.count, args.values, mix)
    sealing = time.perf_counter() - start
    shares = ", ".join(f"{n} with the {d}-day key" for n, d in zip(workload.per_key, KEY_AGES_DAYS, strict=True))
    print(f"SealedSecrets: {args.count} in {APP_NAMESPACES} namespaces, {args.values} values each; {shares}")
    print("  (mix weighted towards newer keys: Secrets are re-sealed when they change and after --re-encrypt)")

    log_size = max(20_000, args.count * 12)
    with KubeCluster(namespaces=[f"app-{i:02d}" for i in range(APP_NAMESPACES)], log_size=log_size) as cluster:
        start = time.perf_counter()
        cluster.seed(
            "v1/secrets",
            *(
                key_secret_manifest(k, namespace=CONTROLLER_NAMESPACE, prefix=KEY_PREFIX, labels={}, annotations={})
                for k in keys
            ),
        )
        cluster.seed(SEALED, *workload.sealed)
        inserting = time.perf_counter() - start
        cluster.clear_requests()
        print(
            f"seeding (not part of the cold start): sealing {args.count * args.values} values {sealing:.2f} s,"
            f" storing {args.count + len(keys)} objects {inserting:.2f} s"
        )
        with tempfile.TemporaryDirectory(prefix="gitsecure-bench-controller-") as work:
            result = run_controller(cluster, workload, Path(work), args.timeout, args.controller_flag)
            if args.keep_log:
                shutil.copyfile(Path(work) / "controller" / "run-1.log", args.keep_log)
        report(args, cluster, workload=workload, result=result, op_s=op_s)
        if result.sync_seconds is None:
            raise BenchError(f"only {result.synced} of {args.count} SealedSecrets Synced after {args.timeout:.0f} s")
        check_secrets(cluster, workload)
        print(f"\ncheck ok: {args.count} Secrets hold exactly the sealed values and are owned by their SealedSecret")
    return 0


if __name__ == "__main__":
    sys.exit(main())
