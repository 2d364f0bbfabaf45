"""Scanning speed of gitsecure next to detect-secrets and ``git log -p``, and the hook's wall time.

Run ``.venv/bin/python bench/scan.py`` (or ``make bench``); ``--quick`` for a smoke run of under a
minute. Nothing is asserted about timings: the exit status is non-zero only when a command breaks
(exit status 2 or more, unreadable JSON) or a sanity check shows the scanner measured nothing.

What is measured
----------------
1. **Working tree.** A tree of real text files (the interpreter's standard library, then the
   venv's site-packages: .py, .pyi, .json, .yaml, .txt, .md, .rst, .cfg, .toml, .ini, .js, .c, .h;
   no binaries, nothing over 2 MB, ``__pycache__`` skipped) is copied once into a cache directory
   outside the repository (``$GITSECURE_BENCH_CACHE``, default ``<tmp>/gitsecure-bench``) and
   reused. ``gitsecure scan TREE --format json`` runs on all of it; detect-secrets 1.5.0
   (``detect-secrets scan --all-files -n``: ``-n`` = no network verification, which gitsecure
   does not do either) runs on an evenly spaced slice of the same files, and gitsecure runs on
   that slice too so the like-for-like ratio is visible. CPU time is the user+system time of the
   child processes (``getrusage(RUSAGE_CHILDREN)`` deltas, so detect-secrets' worker pool is
   included); **MB/s per core** is MB / CPU seconds, MB = 10^6 bytes of file content. The
   in-process engine (``Engine.default().scan`` over the preloaded files) gives the engine-only
   figure without interpreter start-up, directory walking and output.
2. **History.** A synthetic history is built once with ``git fast-import``: real standard-library
   files, then thousands of commits that replace, insert and delete runs of real lines, add and
   delete files, on a main branch and an unmerged side branch, with a few fake credentials planted
   along the way (the sanity check: the history scan must find them). ``git log -p -U0 --all``
   with its output discarded is the floor; ``gitsecure scan --history --all --format json`` runs
   in the same repository. ``--history-repo PATH`` times an existing repository as well (e.g. a
   local clone of a public project).
3. **Hook.** A fresh repository of 100 real files with 10 of them edited and staged.
   ``gitsecure scan --staged`` is timed as a fresh process (warm-ups, then median and p90 by
   nearest rank), next to ``gitsecure --version`` (start-up) and ``python -c pass`` (the floor no
   Python hook can go below). If ``gitsecure hooks install`` installs ``.git/hooks/pre-commit``,
   that script is timed the same way. A staged fake credential must make the scan exit 1.
   Bytecode: an installed wheel ships (or pip writes) every module's ``.pyc``, but an editable
   install run with ``PYTHONDONTWRITEBYTECODE=1`` (this sandbox sets it) compiles gitsecure's
   modules from source on every run, some 70 ms. Both are timed, through a private
   ``PYTHONPYCACHEPREFIX`` so the checkout's own ``__pycache__`` (stale or not) plays no part:
   "with bytecode" (the realistic case, which the target applies to: the warm-ups write every
   ``.pyc``) and "no bytecode" (the standard library's ``.pyc`` present, gitsecure's absent and
   never written).

How to read it
--------------
The machine is usually shared and small: compare the ratios of one run, not absolute figures
across runs. detect-secrets scales with cores (a process pool) while gitsecure's scan of a tree
may not; per-core figures remove that difference, wall figures show what a user waits.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT_SUFFIXES = frozenset(
    {".py", ".pyi", ".json", ".yaml", ".yml", ".txt", ".md", ".rst", ".cfg", ".toml", ".ini", ".js", ".c", ".h"}
)
MAX_FILE_BYTES = 2_000_000
TREE_TARGET_MB_PER_CORE = 50.0
DETECT_SECRETS_RATIO_TARGET = 100.0
HISTORY_RATIO_TARGET = 2.0
HOOK_TARGET_MS = 150.0
# Fake credentials planted in the synthetic history and the staged change. They are built at run
# time from pieces so that this file does not itself trip a scanner.
_AWS_ID = "AKIA" + "QYLPMN5HHHFPZAM2"
_AWS_SECRET = "r4Nd0m/" + "8mWzQkV3pL9sT2xYbE6uHcJ7nA1dF5gRi"
_PEM = "-----BEGIN " + "RSA PRIVATE KEY-----"
_SLACK = "xoxb-" + "2048301562-1183749503761-q9ZfK2mW7xLp4RtY8vNbC3sD"
# A PEM body of random base64 in 64-column lines, as a real key has.
_PEM_BODY = "\n".join(textwrap.wrap(base64.b64encode(random.Random(3).randbytes(1190)).decode(), 64))
PLANTED = (
    f'aws_access_key_id = "{_AWS_ID}"\naws_secret_access_key = "{_AWS_SECRET}"\n',
    f'SLACK_BOT_TOKEN = "{_SLACK}"\n',
    f'KEY = """{_PEM}\n{_PEM_BODY}\n-----END RSA PRIVATE KEY-----"""\n',
)


class BenchError(Exception):
    """A command broke or produced nothing to measure: the figure would be meaningless."""


@dataclass(frozen=True)
class Profile:
    """How much to measure: the full run or ``--quick``."""

    tree_mb: float
    slice_mb: float
    tree_runs: int
    commits: int
    hook_warmups: int
    hook_runs: int


FULL = Profile(tree_mb=80.0, slice_mb=3.0, tree_runs=3, commits=2500, hook_warmups=3, hook_runs=15)
QUICK = Profile(tree_mb=12.0, slice_mb=0.5, tree_runs=1, commits=300, hook_warmups=1, hook_runs=5)


@dataclass(frozen=True)
class Timed:
    """One child process: wall and CPU seconds, exit status and captured stdout."""

    wall: float
    cpu: float
    returncode: int
    stdout: bytes


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    metric: str
    value: str
    target: str
    met: bool | None


# --------------------------------------------------------------------------------------------
# Running and timing child processes


def clean_env() -> dict[str, str]:
    """The environment without a developer's GITSECURE_* settings, with the venv's bin first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITSECURE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    argv: Sequence[str],
    *,
    cwd: Path,
    capture: bool = True,
    ok: tuple[int, ...] = (0, 1),
    env: Mapping[str, str] | None = None,
) -> Timed:
    """Run ``argv`` once (in ``env``, default :func:`clean_env`); a status outside ``ok`` is a broken command."""
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
    if done.returncode not in ok:
        error = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {' | '.join(error)}")
    return Timed(wall, cpu, done.returncode, done.stdout or b"")


def median_run(
    argv: Sequence[str], *, cwd: Path, runs: int, env: Mapping[str, str] | None = None
) -> tuple[Timed, list[Timed]]:
    """``runs`` runs after one warm-up (page cache, .pyc files); the run of median CPU time."""
    run_timed(argv, cwd=cwd, env=env)
    samples = [run_timed(argv, cwd=cwd, env=env) for _ in range(runs)]
    return sorted(samples, key=lambda t: t.cpu)[len(samples) // 2], samples


def wall_ms(
    argv: Sequence[str],
    *,
    cwd: Path,
    warmups: int,
    runs: int,
    ok: tuple[int, ...] = (0,),
    env: Mapping[str, str] | None = None,
) -> list[float]:
    """Wall times in ms of fresh processes, warm-ups dropped."""
    times = [run_timed(argv, cwd=cwd, ok=ok, env=env).wall * 1000 for _ in range(warmups + runs)]
    return times[warmups:]


def p90(samples: Sequence[float]) -> float:
    """90th percentile, nearest rank."""
    ordered = sorted(samples)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def gitsecure() -> str:
    """This checkout's console script (not whatever ``gitsecure`` is on PATH)."""
    path = Path(sys.executable).parent / "gitsecure"
    if not path.exists():
        raise BenchError(f"{path} not found; install the project with 'make bench'")
    return str(path)


def findings_of(stdout: bytes, what: str) -> list[dict[str, object]]:
    """The ``findings`` list of ``--format json`` output; anything else means the run is void."""
    try:
        document = json.loads(stdout)
        findings = document["findings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{what}: output is not the documented JSON ({exc})") from exc
    if not isinstance(findings, list):
        raise BenchError(f"{what}: 'findings' is not a list")
    return findings


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """A git command in a benchmark repository (never in the project checkout)."""
    ident = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *ident, *args], cwd=cwd, env=clean_env(), input=stdin, capture_output=True, check=True
    ).stdout


# --------------------------------------------------------------------------------------------
# Inputs: a tree of real files, a slice of it, a history, a repository with a staged change


def cache_dir() -> Path:
    """Where built inputs live between runs: outside the repository, so they are never scanned or committed."""
    path = Path(os.environ.get("GITSECURE_BENCH_CACHE") or Path(tempfile.gettempdir()) / "gitsecure-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_text(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"\0" not in handle.read(8192)


def source_files() -> Iterator[tuple[str, Path]]:
    """Real text files in a stable order: the standard library, then the venv's packages.

    The copies are named ``stdlib/...`` and ``packages/...``, never ``site-packages/``: that
    directory name is on gitsecure's default path allowlist, and a tree gitsecure mostly
    skips would measure nothing. Files the default allowlist skips anyway (lock files,
    minified bundles, ...) are left out for the same reason.
    """
    from gitsecure.scan.engine import Engine
    from gitsecure.scan.settings import ScanSettings

    allowed = Engine((), settings=ScanSettings()).path_allowed
    paths = sysconfig.get_paths()
    for label, base in (("stdlib", Path(paths["stdlib"])), ("packages", Path(paths["purelib"]))):
        for directory, dirs, files in os.walk(base):
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in ("__pycache__", "site-packages", "dist-packages") and not d.startswith("python3")
            )
            for name in sorted(files):
                path = Path(directory) / name
                relative = f"{label}/{path.relative_to(base)}"
                if path.suffix in TEXT_SUFFIXES and not path.is_symlink() and allowed(relative):
                    size = path.stat().st_size
                    if 0 < size <= MAX_FILE_BYTES and _is_text(path):
                        yield relative, path


@dataclass(frozen=True)
class Tree:
    """A directory of files to scan, with its size as recorded when it was built."""

    path: Path
    files: int
    bytes: int

    @property
    def mb(self) -> float:
        """Content size in 10^6 bytes."""
        return self.bytes / 1e6


def _load_tree(path: Path) -> Tree | None:
    stamp = path / ".bench-tree.json"
    if not stamp.exists():
        return None
    info = json.loads(stamp.read_text())
    return Tree(path, info["files"], info["bytes"])


def _save_tree(path: Path, files: int, size: int) -> Tree:
    # Written last: a tree interrupted half-way has no stamp and is rebuilt.
    (path / ".bench-tree.json").write_text(json.dumps({"files": files, "bytes": size}))
    return Tree(path, files, size)


def build_tree(target_mb: float) -> Tree:
    """Copy real files until ``target_mb``; reuse the copy from an earlier run."""
    path = cache_dir() / f"tree-v2-{target_mb:g}mb"
    if (tree := _load_tree(path)) is not None:
        return tree
    shutil.rmtree(path, ignore_errors=True)
    files = size = 0
    for relative, source in source_files():
        if size >= target_mb * 1e6:
            break
        destination = path / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        files, size = files + 1, size + destination.stat().st_size
    if size < target_mb * 1e6 * 0.9:
        print(f"  note: only {size / 1e6:.1f} MB of text files found for a {target_mb:g} MB tree")
    return _save_tree(path, files, size)


def tree_files(tree: Tree) -> list[Path]:
    """The tree's files, without the stamp."""
    return sorted(p for p in tree.path.rglob("*") if p.is_file() and p.name != ".bench-tree.json")


def build_slice(tree: Tree, target_mb: float) -> Tree:
    """Every k-th file of ``tree`` so the slice has the same mix of file types, about ``target_mb``."""
    path = cache_dir() / f"slice-{tree.path.name}-{target_mb:g}mb"
    if (existing := _load_tree(path)) is not None:
        return existing
    shutil.rmtree(path, ignore_errors=True)
    step = max(1, round(tree.bytes / (target_mb * 1e6)))
    files = size = 0
    for source in tree_files(tree)[::step]:
        destination = path / source.relative_to(tree.path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        files, size = files + 1, size + destination.stat().st_size
    return _save_tree(path, files, size)


def _pool_lines(rng: random.Random, pool: list[list[bytes]], count: int) -> list[bytes]:
    lines = rng.choice(pool)
    start = rng.randrange(max(1, len(lines) - count))
    return lines[start : start + count]


def _fast_import_stream(commits: int, seed_files: list[tuple[str, bytes]]) -> Iterator[bytes]:
    """A fast-import stream: an initial import, then edits of real lines on two branches."""
    rng = random.Random(20261122)
    pool = [data.splitlines(keepends=True) for _, data in seed_files]
    initial = len(seed_files) * 2 // 3
    files = {name: data.splitlines(keepends=True) for name, data in seed_files[:initial]}
    spare = [name for name, _ in seed_files[initial:]]
    plant_at = {commits * (i + 1) // (len(PLANTED) + 1): text for i, text in enumerate(PLANTED)}
    side_from, side_len = commits * 3 // 4, max(10, commits // 12)
    timestamp = 1_600_000_000
    snapshot: dict[str, list[bytes]] = {}
    for number in range(commits + side_len):
        on_side = number >= commits
        if number == side_from:
            snapshot = dict(files)  # the tree as of mark :side_from, where the side branch forks
        if number == commits:
            files = snapshot
            yield f"reset refs/heads/feature\nfrom :{side_from}\n".encode()
        changed: dict[str, list[bytes] | None] = {}
        if number == 0:
            changed.update(files)
        else:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5))):
                name = rng.choice(sorted(files))
                lines = list(files[name])
                at = rng.randrange(len(lines) + 1)
                drop = rng.choice((0, 0, 1, 2, 5, 20))
                lines[at : at + drop] = _pool_lines(rng, pool, rng.choice((1, 3, 8, 30)))
                files[name] = changed[name] = lines
            if spare and rng.random() < 0.05:
                name = spare.pop()
                files[name] = changed[name] = pool[len(pool) - len(spare) - 1]
            if rng.random() < 0.01 and len(files) > 50:
                name = rng.choice(sorted(files))
                del files[name]
                changed[name] = None
        if number in plant_at and not on_side:
            name = f"config/settings_{number}.py"
            files[name] = changed[name] = plant_at[number].encode().splitlines(keepends=True)
        timestamp += rng.randrange(60, 7200)
        message = f"change {number}\n".encode()
        branch = "feature" if on_side else "main"
        out = [
            f"commit refs/heads/{branch}\nmark :{number + 1}\n".encode(),
            f"committer Bench <bench@example.invalid> {timestamp} +0000\n".encode(),
            f"data {len(message)}\n".encode() + message,
        ]
        if number == commits:
            out.append(f"from :{side_from}\n".encode())
        for name, content in sorted(changed.items()):
            if content is None:
                out.append(f"D {name}\n".encode())
            else:
                blob = b"".join(content)
                out.append(f"M 100644 inline {name}\ndata {len(blob)}\n".encode() + blob + b"\n")
        yield b"".join(out)


def build_history(commits: int) -> Path:
    """A repository of ``commits`` commits on main plus a side branch; reused between runs."""
    path = cache_dir() / f"history-{commits}"
    if (path / ".git" / "bench-complete").exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    stdlib = [(rel, src) for rel, src in source_files() if rel.startswith("stdlib/") and rel.endswith(".py")]
    seed = [(rel.removeprefix("stdlib/"), src.read_bytes()) for rel, src in stdlib[:600]]
    stream = b"".join(_fast_import_stream(commits, seed))
    git(path, "fast-import", "--quiet", stdin=stream)
    git(path, "repack", "-a", "-d", "-f", "-q")  # real deltas, as a served repository has
    git(path, "checkout", "-q", "main")
    (path / ".git" / "bench-complete").write_text("")
    return path


def build_hook_repo(*, with_secret: bool) -> Path:
    """A fresh repository: 100 real files committed, then 10 of them edited and staged."""
    path = Path(tempfile.mkdtemp(prefix="hook-", dir=cache_dir()))
    git(path, "init", "-q", "-b", "main")
    stdlib = [(rel, src) for rel, src in source_files() if rel.startswith("stdlib/") and rel.endswith(".py")]
    rng = random.Random(7)
    chosen = rng.sample(stdlib[:400], 100)
    for rel, src in chosen:
        destination = path / rel.removeprefix("stdlib/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, destination)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    pool = [src.read_bytes().splitlines(keepends=True) for _, src in stdlib[400:460]]
    for index, (rel, _) in enumerate(chosen[:10]):
        target = path / rel.removeprefix("stdlib/")
        lines = target.read_bytes().splitlines(keepends=True)
        at = rng.randrange(len(lines) + 1)
        lines[at:at] = _pool_lines(rng, pool, 25)
        if with_secret and index == 0:
            lines[at:at] = PLANTED[1].encode().splitlines(keepends=True)
        target.write_bytes(b"".join(lines))
    git(path, "add", "-A")
    return path


# --------------------------------------------------------------------------------------------
# 1. Working tree


def per_core(megabytes: float, timed: Timed) -> float:
    """MB per CPU second."""
    return megabytes / timed.cpu if timed.cpu > 0 else math.inf


def engine_in_process(tree: Tree) -> tuple[float, float, int] | str:
    """(CPU seconds, wall seconds, findings) of ``Engine.default().scan`` over preloaded files, or why not."""
    try:
        from gitsecure.scan.engine import Engine
        from gitsecure.scan.finding import Fragment

        engine = Engine.default()
    except ImportError as exc:
        return f"engine not available ({exc})"
    fragments = [Fragment(data=p.read_bytes(), path=p.relative_to(tree.path).as_posix()) for p in tree_files(tree)]
    engine.scan(fragments[0])  # first call may compile lazily; not part of the steady state
    cpu0, wall0 = time.process_time(), time.perf_counter()
    findings = sum(len(engine.scan(f)) for f in fragments if engine.path_allowed(f.path))
    return time.process_time() - cpu0, time.perf_counter() - wall0, findings


def check_all_scanned(stdout: str | bytes, tree: Tree) -> None:
    """A throughput figure is only honest when every file of the tree was actually scanned."""
    scanned = json.loads(stdout)["summary"]["files_scanned"]
    if scanned < tree.files:  # the tree's own .bench-tree.json stamp is scanned too
        raise BenchError(f"gitsecure scanned {scanned:,} of the {tree.files:,} files in {tree.path}: figure invalid")


def bench_tree(profile: Profile, rows: list[Row]) -> None:
    """Section 1: gitsecure on the whole tree and a slice, detect-secrets on the slice."""
    tree = build_tree(profile.tree_mb)
    part = build_slice(tree, profile.slice_mb)
    print(f"\n1. working tree: {tree.files:,} files, {tree.mb:.1f} MB ({tree.path})")
    print(f"   slice for detect-secrets: {part.files:,} files, {part.mb:.2f} MB (every k-th file of the tree)")
    print(f"   {'tool / input':<40} {'wall s':>8} {'CPU s':>8} {'MB/s wall':>10} {'MB/s/core':>10} {'findings':>9}")

    def line(label: str, megabytes: float, timed: Timed, findings: int) -> None:
        print(
            f"   {label:<40} {timed.wall:>8.2f} {timed.cpu:>8.2f} {megabytes / timed.wall:>10.2f}"
            f" {per_core(megabytes, timed):>10.2f} {findings:>9,}"
        )

    # As installed from a wheel: gitsecure's modules load from .pyc files (the warm-up writes them to
    # a private prefix), not compiled from source on every run as this sandbox's editable install would.
    with_pyc, _ = bytecode_envs(Path(tempfile.mkdtemp(prefix="pycache-", dir=cache_dir())))
    print("   (gitsecure runs with its bytecode, as an installed wheel has it)")
    ours_argv = [gitsecure(), "scan", str(tree.path), "--format", "json"]
    ours, _ = median_run(ours_argv, cwd=tree.path.parent, runs=profile.tree_runs, env=with_pyc)
    check_all_scanned(ours.stdout, tree)
    line("gitsecure scan TREE (CLI)", tree.mb, ours, len(findings_of(ours.stdout, "gitsecure scan")))
    ours_slice, _ = median_run(
        [*ours_argv[:2], str(part.path), *ours_argv[3:]], cwd=part.path.parent, runs=3, env=with_pyc
    )
    check_all_scanned(ours_slice.stdout, part)
    line("gitsecure scan SLICE (CLI)", part.mb, ours_slice, len(findings_of(ours_slice.stdout, "gitsecure scan")))

    ds_argv = [str(Path(sys.executable).parent / "detect-secrets"), "scan", "--all-files", "-n", str(part.path)]
    theirs = run_timed(ds_argv, cwd=part.path.parent, ok=(0,))
    ds_results = json.loads(theirs.stdout)["results"]
    line("detect-secrets scan --all-files SLICE", part.mb, theirs, sum(len(v) for v in ds_results.values()))

    engine = engine_in_process(tree)
    if isinstance(engine, str):
        print(f"   in-process engine: n/a, {engine}")
        engine_rate = math.nan
    else:
        cpu, wall, count = engine
        engine_rate = tree.mb / cpu
        label = "Engine.scan in process, TREE"
        print(f"   {label:<40} {wall:>8.2f} {cpu:>8.2f} {tree.mb / wall:>10.2f} {engine_rate:>10.2f} {count:>9,}")

    ours_rate, theirs_rate = per_core(tree.mb, ours), per_core(part.mb, theirs)
    like_for_like = per_core(part.mb, ours_slice) / theirs_rate
    print(
        f"   per core, gitsecure TREE / detect-secrets SLICE: {ours_rate / theirs_rate:,.0f}x;"
        f" both on SLICE: {like_for_like:,.0f}x (start-up weighs on the small slice)"
    )
    rows.append(
        Row(
            "tree: gitsecure CLI MB/s per core",
            f"{ours_rate:.1f}",
            f">= {TREE_TARGET_MB_PER_CORE:g}",
            ours_rate >= TREE_TARGET_MB_PER_CORE,
        )
    )
    if not math.isnan(engine_rate):
        rows.append(
            Row(
                "tree: engine only MB/s per core",
                f"{engine_rate:.1f}",
                f">= {TREE_TARGET_MB_PER_CORE:g}",
                engine_rate >= TREE_TARGET_MB_PER_CORE,
            )
        )
    rows.append(Row("tree: detect-secrets MB/s per core", f"{theirs_rate:.3f}", "", None))
    rows.append(
        Row(
            "tree: gitsecure / detect-secrets per core",
            f"{ours_rate / theirs_rate:,.0f}x",
            f">= {DETECT_SECRETS_RATIO_TARGET:g}x",
            ours_rate / theirs_rate >= DETECT_SECRETS_RATIO_TARGET,
        )
    )


# --------------------------------------------------------------------------------------------
# 2. History


def bench_history(repo: Path, label: str, rows: list[Row], *, planted: bool) -> None:
    """Section 2: ``git log -p`` alone against ``gitsecure scan --history --all`` on ``repo``."""
    commits = int(git(repo, "rev-list", "--all", "--count"))
    patch = subprocess.run(
        ["git", "log", "-p", "-U0", "--all"], cwd=repo, env=clean_env(), capture_output=True, check=True
    ).stdout
    print(f"\n2. history ({label}): {commits:,} commits, `git log -p -U0 --all` = {len(patch) / 1e6:.1f} MB ({repo})")
    del patch
    print(f"   {'command':<42} {'wall s':>8} {'CPU s':>8} {'patch MB/s/core':>16}")
    git_u0, _ = median_run(["git", "log", "-p", "-U0", "--all"], cwd=repo, runs=3)
    git_u3, _ = median_run(["git", "log", "-p", "--all"], cwd=repo, runs=3)
    ours, _ = median_run([gitsecure(), "scan", "--history", "--all", "--format", "json"], cwd=repo, runs=3)
    findings = findings_of(ours.stdout, "gitsecure scan --history")
    for name, timed in (
        ("git log -p -U0 --all (floor)", git_u0),
        ("git log -p --all", git_u3),
        ("gitsecure scan --history --all", ours),
    ):
        print(f"   {name:<42} {timed.wall:>8.2f} {timed.cpu:>8.2f}")
    commits_found = {f.get("commit") for f in findings if f.get("commit")}
    print(f"   gitsecure: {len(findings):,} findings in {len(commits_found):,} commits")
    if planted:
        hits = sum(1 for f in findings if str(f.get("path", "")).startswith("config/settings_"))
        print(f"   planted fake credentials found: {hits} finding(s) in the {len(PLANTED)} planted files")
        if hits < len(PLANTED):
            raise BenchError("the history scan missed planted credentials: the timing would measure a no-op")
    ratio_wall, ratio_cpu = ours.wall / git_u0.wall, ours.cpu / git_u0.cpu
    print(
        f"   gitsecure / git log -p -U0: {ratio_wall:.2f}x wall, {ratio_cpu:.2f}x CPU;"
        f" / git log -p (3 lines context): {ours.wall / git_u3.wall:.2f}x wall"
    )
    rows.append(
        Row(
            f"history ({label}): / git log -p -U0, wall",
            f"{ratio_wall:.2f}x",
            f"<= {HISTORY_RATIO_TARGET:g}x",
            ratio_wall <= HISTORY_RATIO_TARGET,
        )
    )


# --------------------------------------------------------------------------------------------
# 3. Hook


def package_dir() -> Path:
    """The directory of the gitsecure package this venv's console script imports."""
    probe = "import os, gitsecure; print(os.path.dirname(os.path.abspath(gitsecure.__file__)))"
    done = subprocess.run([sys.executable, "-c", probe], env=clean_env(), capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def bytecode_envs(prefix: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(with bytecode, without) environments whose ``.pyc`` files live in ``prefix`` only.

    With: ``PYTHONDONTWRITEBYTECODE`` unset, so the first run writes every imported module's
    ``.pyc`` there and later runs load them, as from a wheel install. Without: nothing is
    written, so a module whose ``.pyc`` is missing from ``prefix`` is compiled on every run.
    """
    with_pyc = {k: v for k, v in clean_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    with_pyc["PYTHONPYCACHEPREFIX"] = str(prefix)
    return with_pyc, {**with_pyc, "PYTHONDONTWRITEBYTECODE": "1"}


def bench_hook(profile: Profile, rows: list[Row]) -> None:
    """Section 3: wall time of the staged scan a pre-commit hook runs, with and without gitsecure's bytecode."""
    repo = build_hook_repo(with_secret=False)
    dirty = build_hook_repo(with_secret=True)
    prefix = Path(tempfile.mkdtemp(prefix="pycache-", dir=cache_dir()))
    with_pyc, no_pyc = bytecode_envs(prefix)
    scan = [gitsecure(), "scan", "--staged"]

    def timed(argv: Sequence[str], env: Mapping[str, str]) -> list[float]:
        return wall_ms(argv, cwd=repo, warmups=profile.hook_warmups, runs=profile.hook_runs, env=env)

    try:
        staged = git(repo, "diff", "--cached", "--numstat").decode().splitlines()
        added = sum(int(line.split()[0]) for line in staged)
        print(f"\n3. hook: {len(staged)} staged files, {added} added lines, in a repository of 100 files ({repo})")
        blocked = run_timed(scan, cwd=dirty, env=with_pyc).returncode  # also writes every .pyc into the prefix
        print(f"   a staged fake Slack token: exit {blocked} ({'blocked' if blocked == 1 else 'NOT blocked'})")
        if blocked != 1:
            raise BenchError("gitsecure scan --staged did not block a staged credential: timing it would mislead")
        package = package_dir()
        # gitsecure's own .pyc files go; the standard library's and the dependencies' stay.
        shutil.rmtree(prefix / package.relative_to(package.anchor), ignore_errors=True)
        no_bytecode = timed(scan, no_pyc)
        table = [
            ("gitsecure scan --staged", timed(scan, with_pyc)),
            ("gitsecure --version (start-up)", timed([gitsecure(), "--version"], with_pyc)),
            ("python -c pass (floor)", timed([sys.executable, "-c", "pass"], with_pyc)),
        ]
        hook = repo / ".git" / "hooks" / "pre-commit"
        try:
            run_timed([gitsecure(), "hooks", "install"], cwd=repo, ok=(0,), env=with_pyc)
        except BenchError as exc:
            print(f"   .git/hooks/pre-commit: not timed, {exc}")
        else:
            if hook.exists():
                table.insert(1, (".git/hooks/pre-commit (installed)", timed([str(hook)], with_pyc)))
            else:
                print("   .git/hooks/pre-commit: 'gitsecure hooks install' exited 0 but wrote no hook")
        print(f"   {profile.hook_runs} runs after {profile.hook_warmups} warm-up(s), a fresh process each")
        print(
            "   with bytecode (the target's case): gitsecure's modules compiled to .pyc once, as an installed wheel"
            f" has them (PYTHONDONTWRITEBYTECODE unset, PYTHONPYCACHEPREFIX={prefix})"
        )
        for name, times in table:
            print(f"   {name:<38} median {statistics.median(times):7.1f} ms   p90 {p90(times):7.1f} ms")
        print(
            "   no bytecode: gitsecure's modules compiled from source on every run (PYTHONDONTWRITEBYTECODE=1 and no"
            " .pyc of them, as an editable install in this sandbox)"
        )
        label = "gitsecure scan --staged, no bytecode"
        print(f"   {label:<38} median {statistics.median(no_bytecode):7.1f} ms   p90 {p90(no_bytecode):7.1f} ms")
        for name, times in table[:-2]:
            median = statistics.median(times)
            rows.append(
                Row(
                    f"hook: {name} median ms",
                    f"{median:.0f} (p90 {p90(times):.0f})",
                    f"< {HOOK_TARGET_MS:g}",
                    median < HOOK_TARGET_MS,
                )
            )
        median = statistics.median(no_bytecode)
        rows.append(Row(f"hook: {label} median ms", f"{median:.0f} (p90 {p90(no_bytecode):.0f})", "", None))
    finally:
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(dirty, ignore_errors=True)
        shutil.rmtree(prefix, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Report


def versions() -> Iterator[str]:
    """What ran, on what."""
    from importlib import metadata

    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        detect = metadata.version("detect-secrets")
    except metadata.PackageNotFoundError:
        detect = "not installed (.venv/bin/pip install detect-secrets==1.5.0)"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    yield f"gitsecure {metadata.version('gitsecure')} vs detect-secrets {detect} | {git_version}"
    yield f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, load average {load}"
    if shutil.which("gitleaks"):
        yield "gitleaks found on PATH but not benchmarked here (no comparable per-core harness yet)"


def run_section(name: str, section: Callable[[], None], failures: list[str]) -> None:
    """Run one section; a broken command voids that section only."""
    try:
        section()
    except BenchError as exc:
        print(f"   {name}: FAILED, {exc}")
        failures.append(name)
    except subprocess.CalledProcessError as exc:
        print(f"   {name}: FAILED, {' '.join(map(str, exc.cmd))} exited {exc.returncode}")
        failures.append(name)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 when a command broke or a sanity check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small inputs and few runs: a smoke run")
    parser.add_argument(
        "--history-repo",
        type=Path,
        action="append",
        default=[],
        help="also time the history scan of this existing repository (repeatable)",
    )
    parser.add_argument(
        "--only", choices=("tree", "history", "hook"), action="append", help="run only these sections (repeatable)"
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    sections = set(args.only or ("tree", "history", "hook"))
    for text in versions():
        print(text)
    print(f"inputs cached in {cache_dir()}" + (" (--quick: indicative only)" if args.quick else ""))
    rows: list[Row] = []
    failures: list[str] = []
    if "tree" in sections:
        run_section("working tree", lambda: bench_tree(profile, rows), failures)
    if "history" in sections:
        synthetic = f"synthetic, {profile.commits} commits"
        run_section(
            "history", lambda: bench_history(build_history(profile.commits), synthetic, rows, planted=True), failures
        )
        for repo in args.history_repo:
            run_section(
                f"history {repo}", partial(bench_history, repo.resolve(), repo.name, rows, planted=False), failures
            )
    if "hook" in sections:
        run_section("hook", lambda: bench_hook(profile, rows), failures)

    print("\nsummary")
    width = max([len(r.metric) for r in rows] + [10])
    print(f"  {'metric':<{width}} {'measured':>16} {'target':>9}  met")
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        print(f"  {row.metric:<{width}} {row.value:>16} {row.target:>9}  {met}")
    if failures:
        print(f"  failed sections: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
