"""Sealing speed of gitsecure next to kubesealpy, and the wall time of ``gitsecure seal``.

Run ``.venv/bin/python bench/seal.py`` (or ``make bench``); ``--quick`` for a smoke run of a few
seconds. Nothing is asserted about timings: the exit status is non-zero only when the
interoperability cross-check fails or a command breaks.

What is measured
----------------
1. In-process sealing throughput of gitsecure and of kubesealpy 1.0.1 (an independent,
   kubeseal-compatible Python library from PyPI, the ``bench`` extra) on the same inputs: the
   RSA-4096 fixture certificate ``tests/fixtures/kubeseal/tls.crt``, the same OAEP label (strict
   scope, ``prod/db-credentials``) and the same plaintexts. Like is compared with like:

   * ``value 32 B | 4 KiB | 256 KiB``: one value, ``gitsecure.crypto.hybrid.seal`` against
     ``kubesealpy.Sealer.seal_value``;
   * ``Secret 3 keys, object``: an in-memory Secret to a SealedSecret object,
     ``gitsecure.seal.sealedsecret.build`` against ``Sealer.seal``;
   * ``Secret 3 keys, YAML->YAML``: manifest text in, manifest text out,
     ``modes.seal_secrets`` + ``render.render(..., "yaml")`` against
     ``Secret.from_yaml`` + ``Sealer.seal_secret`` + ``SealedSecret.to_yaml``.

   Each implementation runs in batches calibrated to a fixed duration, the two interleaved so that
   they share any drift of the machine; the median batch of several repetitions is reported as
   values/s and MB/s (plaintext bytes, 10^6 per MB). ``ratio`` is gitsecure / kubesealpy: above
   1.00x gitsecure is faster.

   Before any timing every input is cross-checked: what kubesealpy seals must open with
   gitsecure and ``tls.key``, what gitsecure seals must open with gitsecure and with kubesealpy's
   own decryption, and a wrong label must be refused. "cross-check ok" is printed, or the run
   stops with exit status 1.

2. Wall time of the CLI as a user runs it: ``gitsecure seal --cert tls.crt`` with a 3-key Secret
   on stdin, a fresh process each time (interpreter start, imports, certificate, three RSA-4096
   encryptions, JSON output), three warm-ups and then 30 runs, median and p90 (nearest rank)
   against the 200 ms target. ``python -c pass`` is timed the same way: the floor no Python CLI
   can go below. kubesealpy's console script is probed once and timed only if it really seals.

How to read it
--------------
For single values both libraries spend nearly all their time in the same OpenSSL calls (one
RSA-OAEP encryption, then AES-GCM), so ratios near 1.00x are expected there and differences
within a few percent are noise. Per-Secret overhead (object models, YAML) is where they differ.
Figures come from a shared machine: compare the ratios of one run, not absolute numbers across
runs or machines.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path

import cryptography
import kubesealpy
import kubesealpy.crypto
import yaml
from cryptography.hazmat.backends.openssl import backend as openssl_backend

from gitsecure import __version__ as gitsecure_version
from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import PrivateKey, PublicKey, load_private_key, sealing_public_key
from gitsecure.seal import modes, render, sealedsecret
from gitsecure.seal.manifest import Manifest, load_objects
from gitsecure.seal.secret import Secret, parse_secret, prepare_for_sealing

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "kubeseal"
CERT = FIXTURES / "tls.crt"
KEY = FIXTURES / "tls.key"
CLI_TARGET_MS = 200.0

NAMESPACE = "prod"
NAME = "db-credentials"
LABEL = f"{NAMESPACE}/{NAME}".encode()
# Three small values, as a typical application Secret holds.
SECRET_ITEMS = {
    "host": b"db.prod.svc.cluster.local",
    "password": b"hunter2-correct-horse-battery",
    "username": b"admin",
}
SECRET_YAML = (
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {NAME}\n  namespace: {NAMESPACE}\ntype: Opaque\nstringData:\n"
    + "".join(f"  {key}: {value.decode()}\n" for key, value in SECRET_ITEMS.items())
)
# Fixed seed: the same plaintexts every run, so runs differ only by the machine.
_VALUES = random.Random(20261122)
VALUE_SIZES = {"value 32 B": 32, "value 4 KiB": 4 * 1024, "value 256 KiB": 256 * 1024}
VALUES = {case: _VALUES.randbytes(size) for case, size in VALUE_SIZES.items()}


class CrossCheckError(Exception):
    """An implementation's output did not open as it must: the run is void."""


@dataclass(frozen=True)
class Profile:
    """How long to measure: the full run or ``--quick``."""

    batch_seconds: float
    repetitions: int
    cli_warmups: int
    cli_runs: int


FULL = Profile(batch_seconds=0.2, repetitions=7, cli_warmups=3, cli_runs=30)
QUICK = Profile(batch_seconds=0.04, repetitions=3, cli_warmups=1, cli_runs=8)


@dataclass(frozen=True)
class Case:
    """One workload, run by both implementations on the same input."""

    name: str
    values_per_op: int
    bytes_per_op: int
    gitsecure: Callable[[], object]
    kubesealpy: Callable[[], object]


@dataclass(frozen=True)
class Rate:
    """Median throughput of one implementation on one case."""

    values_per_second: float
    megabytes_per_second: float


# --------------------------------------------------------------------------------------------
# Inputs shared by both implementations


@dataclass(frozen=True)
class Inputs:
    """Everything both libraries are handed: keys, sealers and the prepared Secret."""

    public_key: PublicKey
    private_key: PrivateKey
    sealer: kubesealpy.Sealer
    prepared: Secret


def load_inputs() -> Inputs:
    """Read the fixture key pair once; neither library pays for certificate parsing in the loops."""
    cert_pem = CERT.read_bytes()
    public_key = sealing_public_key(cert_pem, now=dt.datetime.now(dt.UTC))
    private_key = load_private_key(KEY.read_bytes())
    sealer = kubesealpy.Sealer.from_certificate_pem(cert_pem)
    parsed = parse_secret(load_objects(SECRET_YAML)[0], index=1)
    assert parsed is not None
    prepared = prepare_for_sealing(
        parsed,
        name=None,
        scope=None,
        namespace_flag=None,
        default_namespace=lambda: NAMESPACE,
        allow_empty_data=False,
    )
    if prepared.items != SECRET_ITEMS:
        raise CrossCheckError("the benchmark Secret did not parse to the expected items")
    return Inputs(public_key, private_key, sealer, prepared)


def gitsecure_yaml_to_yaml(public_key: PublicKey) -> str:
    """gitsecure's whole in-process path: Secret manifest text to SealedSecret YAML."""
    sealed = modes.seal_secrets(SECRET_YAML, public_key, modes.SealSettings(), default_namespace=lambda: NAMESPACE)
    return render.render(sealed, "yaml")


def kubesealpy_yaml_to_yaml(sealer: kubesealpy.Sealer) -> str:
    """kubesealpy's equivalent path: its Secret model from YAML, sealed, dumped as YAML."""
    text: str = sealer.seal_secret(kubesealpy.Secret.from_yaml(SECRET_YAML)).to_yaml()
    return text


def build_cases(inputs: Inputs) -> list[Case]:
    """The workloads, each a pair of zero-argument callables doing the same job."""
    cases = [
        Case(
            name,
            1,
            len(value),
            partial(hybrid.seal, inputs.public_key, value, label=LABEL),
            partial(inputs.sealer.seal_value, value, namespace=NAMESPACE, name=NAME),
        )
        for name, value in VALUES.items()
    ]
    secret_bytes = sum(len(v) for v in SECRET_ITEMS.values())
    cases.append(
        Case(
            "Secret 3 keys, object",
            len(SECRET_ITEMS),
            secret_bytes,
            lambda: sealedsecret.build(inputs.prepared, inputs.public_key),
            lambda: inputs.sealer.seal(name=NAME, namespace=NAMESPACE, data=SECRET_ITEMS),
        )
    )
    cases.append(
        Case(
            "Secret 3 keys, YAML->YAML",
            len(SECRET_ITEMS),
            secret_bytes,
            lambda: gitsecure_yaml_to_yaml(inputs.public_key),
            lambda: kubesealpy_yaml_to_yaml(inputs.sealer),
        )
    )
    return cases


# --------------------------------------------------------------------------------------------
# Cross-check: a benchmark of output that does not decrypt would measure nothing


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise CrossCheckError(what)


def _opened_items(obj: Manifest, private_key: PrivateKey) -> dict[str, bytes]:
    secret = sealedsecret.unseal(obj, [private_key])
    return {key: base64.b64decode(value) for key, value in secret.get("data", {}).items()}


def cross_check(inputs: Inputs) -> int:
    """Check both directions on every input; return how many checks passed."""
    checks = 0
    key, public_key, sealer = inputs.private_key, inputs.public_key, inputs.sealer
    envelope_overhead = 2 + key.key_size // 8 + 16
    for case, plaintext in VALUES.items():
        theirs = sealer.seal_value(plaintext, namespace=NAMESPACE, name=NAME)
        ours = hybrid.seal(public_key, plaintext, label=LABEL)
        _expect(len(theirs) == len(ours) == len(plaintext) + envelope_overhead, f"{case}: envelope sizes differ")
        _expect(hybrid.unseal([key], theirs, label=LABEL) == plaintext, f"{case}: gitsecure cannot open kubesealpy's")
        _expect(hybrid.unseal([key], ours, label=LABEL) == plaintext, f"{case}: gitsecure cannot open its own")
        _expect(kubesealpy.crypto.decrypt(ours, key, LABEL) == plaintext, f"{case}: kubesealpy cannot open gitsecure's")
        try:
            hybrid.unseal([key], theirs, label=b"prod/another-name")
        except hybrid.DecryptionError:
            pass
        else:
            raise CrossCheckError(f"{case}: a value opened under the wrong label")
        checks += 5

    ours_obj = sealedsecret.build(inputs.prepared, public_key)
    theirs_obj = sealer.seal(name=NAME, namespace=NAMESPACE, data=SECRET_ITEMS).model_dump(
        by_alias=True, exclude_none=True
    )
    _expect(_opened_items(ours_obj, key) == SECRET_ITEMS, "Secret object: gitsecure cannot open its own")
    _expect(_opened_items(theirs_obj, key) == SECRET_ITEMS, "Secret object: gitsecure cannot open kubesealpy's")
    checks += 2

    ours_yaml, theirs_yaml = gitsecure_yaml_to_yaml(public_key), kubesealpy_yaml_to_yaml(sealer)
    for who, text in (("gitsecure", ours_yaml), ("kubesealpy", theirs_yaml)):
        (obj,) = load_objects(text)
        _expect(_opened_items(obj, key) == SECRET_ITEMS, f"Secret YAML: gitsecure cannot open {who}'s")
        checks += 1
    # kubesealpy reading gitsecure's manifest is the reverse direction at manifest level.
    reopened = kubesealpy.Unsealer([key]).unseal(kubesealpy.SealedSecret.from_yaml(ours_yaml))
    _expect(reopened.get_data_decoded() == SECRET_ITEMS, "Secret YAML: kubesealpy cannot open gitsecure's")
    return checks + 1


# --------------------------------------------------------------------------------------------
# In-process timing


def _ops_per_second(op: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        op()
    return count / (time.perf_counter() - start)


def _calibrate(op: Callable[[], object], batch_seconds: float) -> int:
    """How many calls fill one batch; a few warm-up calls first, so caches and imports are hot."""
    for _ in range(3):
        op()
    count, elapsed = 1, 0.0
    while elapsed < batch_seconds / 5:
        count *= 2
        start = time.perf_counter()
        for _ in range(count):
            op()
        elapsed = time.perf_counter() - start
    return max(1, round(count * batch_seconds / elapsed))


def measure(case: Case, profile: Profile) -> tuple[Rate, Rate]:
    """Median rate of each implementation, batches interleaved so both see the same machine state."""
    counts = (_calibrate(case.gitsecure, profile.batch_seconds), _calibrate(case.kubesealpy, profile.batch_seconds))
    ours: list[float] = []
    theirs: list[float] = []
    for repetition in range(profile.repetitions):
        # Alternate who goes first: a slow start of the machine then hits both alike.
        order = ((case.gitsecure, counts[0], ours), (case.kubesealpy, counts[1], theirs))
        for op, count, sink in order if repetition % 2 == 0 else reversed(order):
            sink.append(_ops_per_second(op, count))

    def rate(samples: list[float]) -> Rate:
        ops = statistics.median(samples)
        return Rate(ops * case.values_per_op, ops * case.bytes_per_op / 1e6)

    return rate(ours), rate(theirs)


# --------------------------------------------------------------------------------------------
# CLI wall time


def _clean_env() -> dict[str, str]:
    # A developer's GITSECURE_*/SEALED_SECRETS_* settings would change what the CLI does.
    return {k: v for k, v in os.environ.items() if not k.startswith(("GITSECURE_", "SEALED_SECRETS_"))}


def _run(argv: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=stdin, capture_output=True, cwd=ROOT, env=_clean_env(), timeout=60, check=False)


def _wall_times_ms(argv: list[str], stdin: bytes, profile: Profile) -> list[float]:
    times = []
    for index in range(profile.cli_warmups + profile.cli_runs):
        start = time.perf_counter()
        done = _run(argv, stdin)
        elapsed = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            raise CrossCheckError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
        if index >= profile.cli_warmups:
            times.append(elapsed)
    return times


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _console_script(name: str) -> Path:
    # The venv's bin dir, not PATH: the benchmark must time this checkout's install.
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise CrossCheckError(f"console script {path} not found; install the project with 'make bench'")
    return path


def check_cli_output(stdout: bytes, private_key: PrivateKey) -> None:
    """The CLI's SealedSecret must open to the input's items: timing a broken command is pointless."""
    (obj,) = load_objects(stdout.decode())
    _expect(_opened_items(obj, private_key) == SECRET_ITEMS, "CLI: gitsecure seal output does not open")


def probe_kubesealpy_cli() -> tuple[list[str] | None, str]:
    """kubesealpy's CLI command line if it seals, else None and the reason, in its own words."""
    try:
        script = _console_script("kubesealpy")
    except CrossCheckError:
        return None, "no 'kubesealpy' console script installed"
    argv = [str(script), "seal", "--cert", str(CERT), "--name", NAME, "--namespace", NAMESPACE]
    done = _run(argv, SECRET_YAML.encode())
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode == 0 and "SealedSecret" in output:
        return argv, ""
    first_line = next((line.strip() for line in output.splitlines() if line.strip()), "<no output>")
    return None, f"'kubesealpy seal' exits {done.returncode} without sealing: {first_line!r}"


# --------------------------------------------------------------------------------------------
# Report


def _versions() -> Iterator[str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    yield (
        f"gitsecure {gitsecure_version} vs kubesealpy {metadata.version('kubesealpy')}"
        f" | Python {platform.python_version()}, cryptography {cryptography.__version__},"
        f" {openssl_backend.openssl_version_text()}, PyYAML {yaml.__version__}"
        f" ({'C loader' if hasattr(yaml, 'CSafeLoader') else 'pure-Python loader'})"
    )
    yield f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 when a cross-check or a command fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short batches and few CLI runs: a smoke run")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    try:
        return _report(profile, quick=args.quick)
    except CrossCheckError as exc:
        print(f"\ncross-check FAILED: {exc}", file=sys.stderr)
        return 1


def _report(profile: Profile, *, quick: bool) -> int:
    for line in _versions():
        print(line)
    print(f"inputs: RSA-4096 {CERT.relative_to(ROOT)}, label {LABEL.decode()!r} (strict scope)")
    inputs = load_inputs()
    print(f"cross-check ok ({cross_check(inputs)} checks, both directions)")

    print(
        f"\nin-process sealing: median of {profile.repetitions} batches of ~{profile.batch_seconds:g} s each;"
        " MB = 10^6 plaintext bytes; ratio = gitsecure / kubesealpy (>1 = gitsecure faster)"
    )
    header = f"{'case':<27} {'gitsecure val/s':>15} {'MB/s':>8} {'kubesealpy val/s':>16} {'MB/s':>8} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for case in build_cases(inputs):
        ours, theirs = measure(case, profile)
        ratio = ours.values_per_second / theirs.values_per_second
        print(
            f"{case.name:<27} {ours.values_per_second:>15,.0f} {ours.megabytes_per_second:>8.2f}"
            f" {theirs.values_per_second:>16,.0f} {theirs.megabytes_per_second:>8.2f} {ratio:>6.2f}x"
        )

    print(
        f"\nCLI wall time: 3-key Secret on stdin, {profile.cli_runs} runs after {profile.cli_warmups} warm-up(s),"
        " a fresh process each"
    )
    gitsecure_argv = [str(_console_script("gitsecure")), "seal", "--cert", str(CERT.relative_to(ROOT))]
    check_cli_output(_run(gitsecure_argv, SECRET_YAML.encode()).stdout, inputs.private_key)
    rows = [
        ("gitsecure seal --cert tls.crt", _wall_times_ms(gitsecure_argv, SECRET_YAML.encode(), profile)),
        # Start-up alone (entry point, command table) and the bare interpreter: what sealing adds is the rest.
        ("gitsecure --version (start-up)", _wall_times_ms([gitsecure_argv[0], "--version"], b"", profile)),
        ("python -c pass (floor)", _wall_times_ms([sys.executable, "-c", "pass"], b"", profile)),
    ]
    kubesealpy_argv, why_not = probe_kubesealpy_cli()
    if kubesealpy_argv is not None:
        rows.append(("kubesealpy seal", _wall_times_ms(kubesealpy_argv, SECRET_YAML.encode(), profile)))
    for label, times in rows:
        print(f"  {label:<31} median {statistics.median(times):7.1f} ms   p90 {_p90(times):7.1f} ms")
    median = statistics.median(rows[0][1])
    verdict = "within" if median <= CLI_TARGET_MS else "OVER"
    print(
        f"  gitsecure median / {CLI_TARGET_MS:.0f} ms target = {median / CLI_TARGET_MS:.2f}"
        f" ({verdict} target{', --quick run: indicative only' if quick else ''})"
    )
    if kubesealpy_argv is None:
        print(f"  kubesealpy CLI: none usable ({why_not})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
