"""Strict-mode verification of 5,000-commit ranges: ``gitsecure verify`` next to a ``git verify-commit`` loop.

Run ``.venv/bin/python bench/verify.py`` (or ``make bench``); ``--quick`` for a smoke run on
300-commit ranges. Nothing is asserted about timings: the exit status is non-zero only when a
command breaks or a verdict is wrong (a fixture commit that git or gitsecure does not accept).

What is measured
----------------
Two repositories, each a linear history of ``--commits`` (default 5,000) signed commits, every
one changing one of 25 Deployment manifests:

* ``ssh``: signed with an ed25519 key made by ``ssh-keygen``, trusted through an allowed_signers
  file (``bench@example.invalid namespaces="git" ssh-ed25519 ...``);
* ``openpgp``: signed with the ed25519 signing subkey of a GnuPG key whose ed25519 primary only
  certifies (what ``gpg --quick-gen-key ... cert`` + ``--quick-add-key ... sign`` make), trusted
  through the exported public key.

For each, in one run and on the same commits:

1. **gitsecure, cold**: ``gitsecure verify commit HEAD --mode strict --no-cache --format json``
   with the quick flag (``--allowed-signers FILE`` or ``--gpg-key FILE``), a fresh process each
   time: every commit from HEAD to the root is read, its signature checked and its signer
   matched. Median wall time of 3 runs. The JSON verdict must say trusted and list every commit.
2. **gitsecure, warm**: the same without ``--no-cache`` (the cache in a temp
   ``$XDG_CACHE_HOME``): one run fills the cache, then the median of 3 runs that find every
   commit's result in it.
3. **git verify-commit loop**: ``git verify-commit <sha>`` per commit, a git process each, which
   runs gpg (or ``ssh-keygen -Y find-principals`` and ``-Y verify``) per commit; git configured
   with ``gpg.ssh.allowedSignersFile``, or a GNUPGHOME holding only the public key, imported with
   ultimate owner trust (Argo CD's model: an imported key is trusted). Commits in random order
   (fixed seed). The first 500 are timed; when their rate puts the whole loop under 3 minutes the
   loop goes on over every commit, otherwise the 500's rate is extrapolated to all commits and
   the output says so. Every call must exit 0.
4. For reference, ``git verify-commit`` given 500 ids in one call (one git process, still a gpg or
   two ssh-keygen processes per commit): the loop without git's own start-up.

``ratio`` = git loop time / gitsecure time for the same commits; the target is at least 10x for
the cold run. CPU seconds are the children's user + system time (``getrusage``).

How the fixture is built (and why not with ``git commit -S``)
-------------------------------------------------------------
``git commit -S`` or ``git commit-tree -S`` starts gpg or ssh-keygen for every commit, about
15 ms each: over a minute per repository, and it cannot go through ``git fast-import`` (git 2.39
has no signed-commit support there). So: the trees come from one ``git fast-import`` of an
unsigned history; the keys are made by the real ``ssh-keygen`` and ``gpg``; the commit objects
are composed here (the ``gpgsig`` header laid out as git writes it) and signed in process with
pyca/cryptography using the exported private key (the helpers of ``tests/support``): SSHSIG as
``ssh-keygen -Y sign`` writes it (namespace ``git``, sha512, 70-column armour), OpenPGP v4 EdDSA
over SHA-256 with the subpackets gpg 2.2 writes (issuer fingerprint, creation time and signer's
user id hashed; issuer key id unhashed). One ``git hash-object -w --stdin-paths`` call writes
them (the object ids git reports must equal the ones computed here), then ``git repack -adq``.
A few seconds per repository. Before any timing, the first and last commit must pass the real
``git verify-commit``; the loop then checks every other commit (or its sample) with it. Signing
in bench code is not subject to the crypto-core rule: it only makes test data.

Fixtures are kept in ``bench/.cache/`` (it carries its own ``.gitignore``), one directory per
format, commit count and builder version; delete it to rebuild.

How to read it
--------------
The git loop's cost is process start-up: git, then gpg (which also reads its keyring) or two
ssh-keygen runs, for each commit. gitsecure reads all objects through one ``git cat-file
--batch`` and checks signatures in process, so its time grows with the signature math. Figures
come from a shared machine: compare the ratios of one run, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the signing helpers (tests.support) are not installed

from tests.support.gpgkit import GpgKit, forge_signature, subpacket  # noqa: E402
from tests.support.sshkit import forge_sshsig, public_blob, raw_sign  # noqa: E402

from gitsecure import __version__ as gitsecure_version  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
# Bump when the fixture's content changes, so stale cached repositories are not reused.
BUILDER_VERSION = 1
FORMATS = ("ssh", "openpgp")
NAME, EMAIL = "Bench Signer", "bench@example.invalid"
APPS = 25
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z; one commit a minute from there
SEED = 20261122
LOOP_BUDGET_SECONDS = 180.0
TARGET_RATIO = 10.0


class BenchError(Exception):
    """A command broke or a verdict was wrong: the figures would mean nothing."""


@dataclass(frozen=True)
class Profile:
    """How big and how long: the full run or ``--quick``."""

    commits: int
    runs: int
    sample: int


FULL = Profile(commits=5000, runs=3, sample=500)
QUICK = Profile(commits=300, runs=1, sample=100)


@dataclass(frozen=True)
class Fixture:
    """A built repository and what trusts its signatures."""

    fmt: str
    directory: Path
    commits: tuple[str, ...]  # oldest first

    @property
    def repo(self) -> Path:
        """The repository (work tree not checked out)."""
        return self.directory / "repo"

    @property
    def trust_file(self) -> Path:
        """The allowed_signers file (ssh) or the armoured public key (openpgp)."""
        return self.directory / ("allowed_signers" if self.fmt == "ssh" else "signer.asc")

    @property
    def gnupghome(self) -> Path:
        """A GnuPG home with only the public key, ultimately trusted, for ``git verify-commit``."""
        return self.directory / "verify-gnupg"

    @property
    def quick_flag(self) -> list[str]:
        """The gitsecure quick flag naming the trust file."""
        return ["--allowed-signers" if self.fmt == "ssh" else "--gpg-key", str(self.trust_file)]


# --------------------------------------------------------------------------------------------
# Fixture


def _run(argv: list[str], *, cwd: Path | None = None, stdin: bytes = b"", env: dict[str, str] | None = None) -> bytes:
    done = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=env, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv[:4])} ... exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _isolated_env(home: Path) -> dict[str, str]:
    # Never the user's ~/.gitconfig, ~/.gnupg, ~/.ssh or agent: HOME in a temp dir, no GIT_*/SSH_* inherited.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_", "GNUPG", "GITSECURE_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def _git(repo: Path, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> bytes:
    return _run(["git", "-C", str(repo), *args], stdin=stdin, env=env)


def _unsigned_trees(repo: Path, count: int, env: dict[str, str]) -> list[str]:
    """One ``git fast-import`` of ``count`` commits, each bumping one app's image tag; their trees, oldest first."""
    stream = []
    for index in range(count):
        app = index % APPS
        manifest = (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{app}\n  namespace: shop\n"
            f"spec:\n  replicas: {2 + index % 3}\n  template:\n    spec:\n      containers:\n"
            f"        - name: app\n          image: registry.example/app-{app}:1.{index}.0\n"
        ).encode()
        message = f"app-{app}: 1.{index}.0\n".encode()
        stream.append(
            b"commit refs/heads/unsigned\n"
            + f"committer {NAME} <{EMAIL}> {EPOCH + 60 * index} +0000\n".encode()
            + f"data {len(message)}\n".encode()
            + message
            + f"M 100644 inline apps/app-{app}/deployment.yaml\ndata {len(manifest)}\n".encode()
            + manifest
            + b"\n"
        )
    _git(repo, "fast-import", "--quiet", stdin=b"".join(stream), env=env)
    trees = _git(repo, "log", "--reverse", "--format=%T", "refs/heads/unsigned", env=env).decode().split()
    _git(repo, "update-ref", "-d", "refs/heads/unsigned", env=env)
    return trees


def _commit_object(tree: str, parent: str | None, index: int, signature: bytes | None) -> bytes:
    """A commit as git writes it; with ``signature``, the gpgsig header after the committer line."""
    stamp = f"{EPOCH + 60 * index} +0000"
    head = f"tree {tree}\n" + (f"parent {parent}\n" if parent else "")
    head += f"author {NAME} <{EMAIL}> {stamp}\ncommitter {NAME} <{EMAIL}> {stamp}\n"
    body = f"\nDeploy {index}: signed for the verify benchmark\n"
    if signature is None:
        return (head + body).encode()
    lines = signature.decode("ascii").rstrip("\n").split("\n")
    return (head + "gpgsig " + "\n ".join(lines) + "\n" + body).encode()


def _write_signed_history(
    repo: Path, trees: list[str], sign: Callable[[bytes], bytes], env: dict[str, str]
) -> list[str]:
    """Sign a commit per tree, chained; write all in one ``git hash-object`` call; point main at the last."""
    oids: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gitsecure-bench-objects-") as scratch:
        paths = []
        for index, tree in enumerate(trees):
            parent = oids[-1] if oids else None
            raw = _commit_object(tree, parent, index, sign(_commit_object(tree, parent, index, None)))
            oids.append(hashlib.sha1(b"commit %d\0" % len(raw) + raw).hexdigest())
            path = Path(scratch) / f"{index:06d}"
            path.write_bytes(raw)
            paths.append(str(path))
        written = _git(
            repo, "hash-object", "-t", "commit", "-w", "--stdin-paths", stdin="\n".join(paths).encode(), env=env
        )
    if written.decode().split() != oids:
        raise BenchError("git hash-object computed other object ids than the builder")
    _git(repo, "update-ref", "refs/heads/main", oids[-1], env=env)
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main", env=env)
    _git(repo, "repack", "-adq", env=env)
    _git(repo, "prune", "--expire=now", env=env)
    return oids


def _ssh_signer(directory: Path, env: dict[str, str]) -> Callable[[bytes], bytes]:
    key = directory / "signer_ed25519"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", EMAIL, "-f", str(key)], env=env)
    public = (directory / "signer_ed25519.pub").read_text().split()
    (directory / "allowed_signers").write_text(f'{EMAIL} namespaces="git" {public[0]} {public[1]}\n')
    private = serialization.load_ssh_private_key(key.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    blob = public_blob(private.public_key())
    return lambda payload: forge_sshsig(blob, lambda data: raw_sign(private, data), payload)


def _openpgp_signer(directory: Path, env: dict[str, str]) -> Callable[[bytes], bytes]:
    # A scratch GNUPGHOME for the secret key (short path: gpg-agent's socket name has a length limit).
    scratch = Path(tempfile.mkdtemp(prefix="gsb-gpg-"))
    kit = GpgKit(scratch)
    try:
        # Made a day before the first commit: gpg refuses a signature older than its key.
        made = dt.datetime.fromtimestamp(EPOCH - 86_400, dt.UTC)
        primary = kit.gen_key(f"{NAME} <{EMAIL}>", "ed25519", "cert", at=made)
        subkey = kit.add_key(primary, "ed25519", "sign", at=made)
        secret = kit.secret_key(subkey)
        public = kit.export(primary)
    finally:
        kit.close()
        shutil.rmtree(scratch, ignore_errors=True)
    (directory / "signer.asc").write_bytes(public)
    home = directory / "verify-gnupg"
    home.mkdir(mode=0o700)
    gpg_env = {**env, "GNUPGHOME": str(home)}
    _run(["gpg", "--batch", "--import"], stdin=public, env=gpg_env)
    _run(["gpg", "--batch", "--import-ownertrust"], stdin=f"{primary}:6:\n".encode(), env=gpg_env)
    _run(["gpgconf", "--kill", "all"], env=gpg_env)
    assert isinstance(secret, ed25519.Ed25519PrivateKey)

    def sign(payload: bytes) -> bytes:
        # Seconds since the epoch of the commit's own date: gpg signs "now", git commits "now".
        created = int(payload.split(b"\ncommitter ", 1)[1].split(b"\n", 1)[0].rsplit(b" ", 2)[1])
        hashed = (
            subpacket(33, b"\x04" + bytes.fromhex(subkey))
            + subpacket(2, created.to_bytes(4, "big"))
            + subpacket(28, EMAIL.encode())
        )
        unhashed = subpacket(16, bytes.fromhex(subkey[-16:]))
        when = dt.datetime.fromtimestamp(created, dt.UTC)
        return forge_signature(secret, payload, issuer=subkey, created=when, hashed=hashed, unhashed=unhashed).armored

    return sign


def _ensure_cache_dir() -> None:
    CACHE.mkdir(exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Benchmark fixtures (bench/verify.py): rebuilt on demand, never committed.\n*\n")


def load_fixture(fmt: str, count: int) -> tuple[Fixture, float | None]:
    """The cached fixture for (format, count), built first if missing; the build time in seconds, or None if reused."""
    directory = CACHE / f"verify-{fmt}-{count}c-v{BUILDER_VERSION}"
    meta = directory / "fixture.json"
    if meta.is_file():
        cached = tuple(json.loads(meta.read_text())["commits"])
        if len(cached) == count:
            return Fixture(fmt, directory, cached), None
    _ensure_cache_dir()
    shutil.rmtree(directory, ignore_errors=True)
    building = directory.with_name(directory.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    start = time.perf_counter()
    env = _isolated_env(building)
    repo = building / "repo"
    _run(["git", "init", "-q", "-b", "main", str(repo)], env=env)
    trees = _unsigned_trees(repo, count, env)
    sign = _ssh_signer(building, env) if fmt == "ssh" else _openpgp_signer(building, env)
    commits = _write_signed_history(repo, trees, sign, env)
    (building / "fixture.json").write_text(json.dumps({"format": fmt, "head": commits[-1], "commits": commits}))
    building.rename(directory)
    fixture = Fixture(fmt, directory, tuple(commits))
    # The real tool must accept what the builder signed before anything is timed.
    for oid in (commits[0], commits[-1]):
        done = git_verify(fixture, [oid], _isolated_env(directory))
        if done.returncode != 0:
            shutil.rmtree(directory, ignore_errors=True)
            raise BenchError(f"git verify-commit rejects fixture commit {oid}: {done.stderr.decode(errors='replace')}")
    return fixture, time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# The two sides


def git_verify(fixture: Fixture, oids: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """``git verify-commit`` of ``oids`` in one call, configured to trust the fixture's signer."""
    trust = ["-c", f"gpg.ssh.allowedSignersFile={fixture.trust_file}"] if fixture.fmt == "ssh" else []
    env = {**env, "GNUPGHOME": str(fixture.gnupghome)} if fixture.fmt == "openpgp" else env
    argv = ["git", "-C", str(fixture.repo), *trust, "verify-commit", *oids]
    return subprocess.run(argv, capture_output=True, env=env, check=False)


@dataclass(frozen=True)
class Timing:
    """Wall and children's CPU seconds for ``commits`` commits; ``extrapolated_from`` when only a sample ran."""

    commits: int
    wall: float
    cpu: float
    extrapolated_from: int | None = None

    @property
    def rate(self) -> float:
        """Commits per wall-clock second."""
        return self.commits / self.wall


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def git_loop(fixture: Fixture, profile: Profile, env: dict[str, str]) -> Timing:
    """One ``git verify-commit`` per commit in random order; all of them if the sample says it fits the budget."""
    order = list(fixture.commits)
    random.Random(SEED).shuffle(order)
    wall = cpu = 0.0
    done_count = 0
    for index, oid in enumerate(order):
        if index == profile.sample and wall / done_count * len(order) > LOOP_BUDGET_SECONDS:
            return Timing(len(order), wall / done_count * len(order), cpu / done_count * len(order), done_count)
        cpu_before, start = _children_cpu(), time.perf_counter()
        result = git_verify(fixture, [oid], env)
        wall += time.perf_counter() - start
        cpu += _children_cpu() - cpu_before
        if result.returncode != 0:
            raise BenchError(
                f"git verify-commit rejects fixture commit {oid}: {result.stderr.decode(errors='replace')}"
            )
        done_count += 1
    return Timing(done_count, wall, cpu)


def git_batch(fixture: Fixture, profile: Profile, env: dict[str, str]) -> Timing:
    """``git verify-commit`` with the sample's ids in one call."""
    sample = random.Random(SEED + 1).sample(list(fixture.commits), min(profile.sample, len(fixture.commits)))
    cpu_before, start = _children_cpu(), time.perf_counter()
    result = git_verify(fixture, sample, env)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu_before
    if result.returncode != 0:
        raise BenchError(f"git verify-commit (batch) failed: {result.stderr.decode(errors='replace')[-300:]}")
    return Timing(len(sample), wall, cpu)


def _gitsecure() -> Path:
    # The venv's console script, not PATH: the benchmark must time this checkout's install.
    path = Path(sys.executable).parent / "gitsecure"
    if not path.exists():
        raise BenchError(f"console script {path} not found; install the project with 'make bench'")
    return path


def gitsecure_run(fixture: Fixture, env: dict[str, str], *, cache: bool) -> Timing:
    """One ``gitsecure verify commit HEAD --mode strict`` run; the verdict must trust every commit."""
    argv = [str(_gitsecure()), "verify", "commit", "HEAD", "--repo", str(fixture.repo), "--mode", "strict"]
    argv += ["--format", "json", *fixture.quick_flag, *([] if cache else ["--no-cache"])]
    cpu_before, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu_before
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
        raise BenchError(f"gitsecure verify exited {done.returncode}: {detail[-1] if detail else '<no output>'}")
    verdict = json.loads(done.stdout)
    checked = [check["oid"] for check in verdict["checks"] if check["kind"] == "commit"]
    if not verdict["trusted"] or sorted(checked) != sorted(fixture.commits):
        raise BenchError(f"gitsecure verdict: trusted={verdict['trusted']}, {len(checked)} commits checked")
    return Timing(len(checked), wall, cpu)


def _median(timings: list[Timing]) -> Timing:
    walls = [timing.wall for timing in timings]
    middle = sorted(range(len(timings)), key=walls.__getitem__)[len(timings) // 2]
    return timings[middle]


@dataclass(frozen=True)
class Result:
    """Every timing of one format."""

    cold: Timing
    warm: Timing
    fill: Timing
    loop: Timing
    batch: Timing


def measure(fixture: Fixture, profile: Profile) -> Result:
    """Time both sides on one fixture."""
    with tempfile.TemporaryDirectory(prefix="gitsecure-bench-verify-") as scratch:
        env = _isolated_env(Path(scratch))
        env["XDG_CACHE_HOME"] = str(Path(scratch) / "cache")
        cold = _median([gitsecure_run(fixture, env, cache=False) for _ in range(profile.runs)])
        fill = gitsecure_run(fixture, env, cache=True)
        warm = _median([gitsecure_run(fixture, env, cache=True) for _ in range(profile.runs)])
        loop = git_loop(fixture, profile, env)
        batch = git_batch(fixture, profile, env)
    return Result(cold, warm, fill, loop, batch)


# --------------------------------------------------------------------------------------------
# Report


def _versions() -> Iterator[str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tools = []
    for argv in (["git", "--version"], ["gpg", "--version"], ["ssh", "-V"]):
        done = subprocess.run(argv, capture_output=True, check=False)
        tools.append((done.stdout or done.stderr).decode(errors="replace").splitlines()[0].strip())
    yield f"gitsecure {gitsecure_version} | Python {platform.python_version()} | " + " | ".join(tools)
    yield f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}"


def _row(label: str, timing: Timing, reference: Timing | None) -> str:
    ratio = f"{reference.wall / reference.commits * timing.commits / timing.wall:>8.1f}x" if reference else " " * 9
    return f"  {label:<46} {timing.commits:>6,} {timing.wall:>9.2f} {timing.cpu:>8.2f} {timing.rate:>10,.0f} {ratio}"


def report(fmt: str, fixture: Fixture, built: float | None, result: Result) -> None:
    """Print one format's table and its verdict against the target."""
    origin = f"built in {built:.1f} s" if built is not None else "reused"
    print(f"\n{fmt}: {len(fixture.commits):,} signed commits, linear, {fixture.directory.relative_to(ROOT)} ({origin})")
    header = f"  {'what':<46} {'commits':>6} {'wall s':>9} {'CPU s':>8} {'commits/s':>10} {'vs loop':>9}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    loop = result.loop
    print(_row("gitsecure strict --no-cache (median, cold)", result.cold, loop))
    print(_row("gitsecure strict, filling the cache", result.fill, loop))
    print(_row("gitsecure strict, cache warm (median)", result.warm, loop))
    label = "git verify-commit loop, one per commit"
    if loop.extrapolated_from is not None:
        label = f"git verify-commit loop (est. from {loop.extrapolated_from})"
    print(_row(label, loop, None))
    print(_row(f"git verify-commit, {result.batch.commits} ids in one call", result.batch, None))
    if loop.extrapolated_from is not None:
        print(
            f"  (the loop's first {loop.extrapolated_from} commits, in random order, projected over"
            f" {LOOP_BUDGET_SECONDS:.0f} s; their rate is extrapolated to all {loop.commits:,})"
        )
    per_commit = result.cold.wall / result.cold.commits
    ratio = loop.wall / loop.commits / per_commit
    batch_ratio = result.batch.wall / result.batch.commits / per_commit
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"  cold ratio {ratio:.1f}x vs target >= {TARGET_RATIO:.0f}x: {verdict} the target"
        f" ({batch_ratio:.1f}x against the one-call batch)"
    )


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the fixtures, time both sides, print the report; 1 when something broke."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="300-commit ranges, one run each: a smoke run")
    parser.add_argument("--commits", type=int, help="commits per repository (default 5000; 300 with --quick)")
    parser.add_argument("--only", choices=FORMATS, action="append", help="one format (repeatable)")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.commits:
        if args.commits < 2:
            parser.error("--commits must be at least 2")
        profile = Profile(args.commits, profile.runs, min(profile.sample, args.commits))
    for line in _versions():
        print(line)
    print(
        f"strict mode over every commit of each range; median of {profile.runs} gitsecure run(s), each a fresh"
        " process; 'vs loop' = git loop time per commit / this row's time per commit"
    )
    failed = False
    for fmt in args.only or FORMATS:
        try:
            fixture, built = load_fixture(fmt, profile.commits)
            report(fmt, fixture, built, measure(fixture, profile))
        except BenchError as exc:
            print(f"\n{fmt}: FAILED: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
