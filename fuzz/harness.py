"""What the atheris fuzz scripts share: libFuzzer's command line, the seed corpus, the temporary directory.

A script defines its entry point and its seeds and ends with::

    if __name__ == "__main__":
        harness.run(test_one_input, seeds=seeds, name="seal", dictionary=DICTIONARY)

The scripts run as ``python fuzz/fuzz_X.py``, so this directory is ``sys.path[0]`` and
``import harness`` finds this module. It is not instrumented: it is not under test.

Seeds (and the dictionary, when there is one) are written at start-up into a temporary directory
that is removed at exit and on a crash; corpus directories given on the command line are used as
well, and new inputs go to the first of them. Unless the command line says otherwise, a run has a
fixed budget of ``runs`` inputs and a per-input ``timeout``.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import atheris

DEFAULT_RUNS = 20_000
INPUT_TIMEOUT_SECONDS = 30
_BUDGET_FLAGS = ("-atheris_runs=", "-runs=", "-max_total_time=")


def dictionary_line(token: str) -> str:
    """One libFuzzer dictionary entry for ``token``."""
    # libFuzzer dictionary syntax: one quoted string a line; \xNN for quotes, backslashes and
    # anything outside printable ASCII. Tokens are written as latin-1 text, one char per byte.
    escaped = "".join(
        chr(b) if 32 <= b < 127 and chr(b) not in '\\"' else f"\\x{b:02x}" for b in token.encode("latin-1")
    )
    return f'"{escaped}"'


def prepare_argv(
    argv: list[str],
    workdir: Path,
    *,
    seeds: Callable[[], Iterable[bytes]],
    name: str,
    dictionary: Iterable[str] = (),
    runs: int = DEFAULT_RUNS,
    timeout: int = INPUT_TIMEOUT_SECONDS,
) -> list[str]:
    """``argv`` plus seeds and dictionary (written to ``workdir``) and the default budget unless given."""
    flags = [arg for arg in argv[1:] if arg.startswith("-")]
    inputs = [arg for arg in argv[1:] if not arg.startswith("-")]
    seed_dir = workdir / "seeds"
    seed_dir.mkdir()
    for seed in seeds():
        (seed_dir / hashlib.sha1(seed, usedforsecurity=False).hexdigest()).write_bytes(seed)
    extra = []
    tokens = list(dictionary)
    if tokens and not any(flag.startswith("-dict=") for flag in flags):
        dictionary_file = workdir / f"{name}.dict"
        dictionary_file.write_text("\n".join(dictionary_line(token) for token in tokens) + "\n")
        extra.append(f"-dict={dictionary_file}")
    if not any(flag.startswith(_BUDGET_FLAGS) for flag in flags):
        extra.append(f"-atheris_runs={runs}")
    if not any(flag.startswith("-timeout=") for flag in flags):
        # One input running this long is a finding (a slow path an attacker can trigger), not a wait.
        extra.append(f"-timeout={timeout}")
    # New inputs go to the first corpus directory: the user's when given, else the temporary one.
    return [argv[0], *flags, *extra, *inputs, str(seed_dir)]


def run(
    test_one_input: Callable[[bytes], None],
    *,
    seeds: Callable[[], Iterable[bytes]],
    name: str,
    dictionary: Iterable[str] = (),
    runs: int = DEFAULT_RUNS,
    timeout: int = INPUT_TIMEOUT_SECONDS,
) -> None:
    """Start libFuzzer on ``sys.argv``; it exits the process itself (0 when the budget ran out without a crash).

    ``seeds`` is called only when a corpus is needed (not when replaying crash files); ``name``
    names the temporary directory and the dictionary file.
    """
    # libFuzzer would stop on a missing corpus directory itself, but without running atexit
    # handlers, leaving the temporary directory behind; refuse before making it.
    inputs = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    missing = [arg for arg in inputs if not Path(arg).exists()]
    if missing:
        sys.exit(f"error: no such corpus directory or input file: {', '.join(missing)}")
    if any(Path(arg).is_file() for arg in inputs):
        # Replaying crash files: libFuzzer runs just those, no corpus, no budget. It ends a replay
        # without running atexit handlers, so no temporary directory is made for it.
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
        return
    workdir = Path(tempfile.mkdtemp(prefix=f"gitsecure-fuzz-{name}-"))
    remove_workdir = partial(shutil.rmtree, workdir, ignore_errors=True)
    # A normal end is exit(), which runs atexit handlers; a crash ends the process without them.
    atexit.register(remove_workdir)

    def one_input(data: bytes) -> None:
        try:
            test_one_input(data)
        except BaseException:
            # The crash still propagates to libFuzzer; the seeds are no longer needed by then.
            remove_workdir()
            raise

    argv = prepare_argv(sys.argv, workdir, seeds=seeds, name=name, dictionary=dictionary, runs=runs, timeout=timeout)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()
