"""``gitsecure``: one entry point, a lazy command table.

Only the chosen command's module is imported, so ``gitsecure --help`` and
``gitsecure seal`` never pay for the controller's or the verifier's imports.
Exit codes: 0 success, 1 the command's "no" (findings, rejection), 2 usage,
input, configuration or remote error, 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

from gitsecure import __version__
from gitsecure.errors import EXIT_INTERRUPTED, EXIT_USAGE, GitsecureError


class Command(NamedTuple):
    """One entry of the command table: the module that implements it and a one-line summary."""

    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "seal": Command("gitsecure.cli.seal_cmd", "seal Kubernetes Secrets into SealedSecrets (a drop-in for kubeseal)"),
    "keys": Command("gitsecure.cli.keys_cmd", "generate controller sealing keys and print their certificates"),
    "scan": Command("gitsecure.cli.scan_cmd", "find secrets in files, staged changes, history or stdin"),
    "baseline": Command("gitsecure.cli.baseline_cmd", "create, update and audit a detect-secrets .secrets.baseline"),
    "hooks": Command("gitsecure.cli.hooks_cmd", "install gitsecure's pre-commit and pre-push git hooks"),
    "verify": Command(
        "gitsecure.cli.verify_cmd", "verify the signatures on a revision's commits and tags against a policy"
    ),
    "sign": Command("gitsecure.cli.sign_cmd", "sign container images with a cosign key (cosign-compatible)"),
    "controller": Command("gitsecure.cli.controller_cmd", "run the in-cluster controller that unseals SealedSecrets"),
}

USAGE = """usage: gitsecure [-v | -q] [--version] COMMAND [ARGS...]

Secrets and supply-chain security for GitOps repositories.

commands:
{commands}

options:
  -v, --verbose   more log output on stderr (repeat for debug)
  -q, --quiet     only errors on stderr
  --version       print the version and exit
  -h, --help      show this help

Run 'gitsecure COMMAND --help' for a command's flags. Every flag can also be
set with a GITSECURE_<FLAG> environment variable (e.g. GITSECURE_CERT).

exit codes: 0 success, 1 a negative verdict (e.g. --validate could not
decrypt), 2 usage, input, configuration or remote error, 130 interrupted.
"""


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = "\n".join(f"  {name.ljust(width)}  {cmd.summary}" for name, cmd in COMMANDS.items())
    return USAGE.format(commands=lines)


def report_error(error: GitsecureError, *, verbosity: int = 0) -> int:
    """Print a user error as ``error: ...`` (``hint: ...``; ``reference: ...`` with -v); return its exit code."""
    print(f"error: {error.message}", file=sys.stderr)
    if error.hint and verbosity >= 0:
        print(f"hint: {error.hint}", file=sys.stderr)
    if verbosity >= 1:
        print(f"reference: {error.reference}", file=sys.stderr)
    return error.exit_code


def main(argv: list[str] | None = None) -> int:
    """Run gitsecure with ``argv`` (default: the process arguments) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbosity = 0
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag in ("-h", "--help"):
            sys.stdout.write(_usage())
            return 0
        if flag == "--version":
            print(f"gitsecure {__version__}")
            return 0
        if flag in ("-v", "--verbose") or (flag.startswith("-v") and set(flag[1:]) == {"v"}):
            verbosity += max(1, flag.count("v") if flag != "--verbose" else 1)
        elif flag in ("-q", "--quiet"):
            verbosity = -1
        else:
            print(f"error: unknown option {flag}\n", file=sys.stderr)
            sys.stderr.write(_usage())
            return EXIT_USAGE
    if not args:
        sys.stderr.write(_usage())
        return EXIT_USAGE
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"error: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    from gitsecure import log  # noqa: PLC0415

    log.configure(verbosity)
    try:
        module = importlib.import_module(command.module)
        code: int = module.run(rest, verbosity=verbosity)
        return code
    except GitsecureError as error:
        return report_error(error, verbosity=verbosity)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        sys.stderr.close()
        return EXIT_USAGE
    except Exception as exc:  # a bug: no traceback for users unless asked, since it may quote input
        print(
            f"error: internal error ({type(exc).__name__}); please report it with 'gitsecure -vv {name} ...' output",
            file=sys.stderr,
        )
        if verbosity >= 2:
            raise
        return EXIT_USAGE


def entry_point() -> None:
    """Console-script entry."""
    sys.exit(main())
