"""``gitsecure controller run``: the in-cluster controller, a drop-in for sealed-secrets'.

The flags are parsed here with light imports only (a bad flag costs no kopf,
kubernetes or aiohttp import and fails in milliseconds); the controller
itself is imported only once the configuration is valid.
"""

from __future__ import annotations

import os
import sys

from gitsecure.errors import UsageError

ACTIONS = """actions:
  run       run the controller (in a pod, or locally with --kubeconfig)

Run 'gitsecure controller run --help' for its flags."""


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure controller``."""
    from gitsecure.controller.config import build_parser, parse_controller_args  # noqa: PLC0415
    from gitsecure.controller.flagset import join_values  # noqa: PLC0415

    if not argv:
        sys.stderr.write(f"usage: gitsecure controller ACTION [flags]\n\n{ACTIONS}\n\n")
        raise UsageError("choose an action: run")
    if argv[0] in ("-h", "--help"):
        sys.stdout.write(f"usage: gitsecure controller ACTION [flags]\n\n{ACTIONS}\n\n")
        sys.stdout.write(build_parser().format_help())
        return 0
    action, flags = argv[0], argv[1:]
    if action != "run":
        raise UsageError(
            f"unknown action {action!r}; the only action is 'run'", hint="see 'gitsecure controller --help'"
        )
    # As with pflag, --help and --version win wherever they stand (but not as another flag's value).
    words = join_values(flags)
    if "-h" in words or "--help" in words:
        sys.stdout.write(build_parser().format_help())
        return 0
    if "--version" in words:
        from gitsecure import __version__  # noqa: PLC0415

        print(f"controller version: {__version__}")
        return 0
    config = parse_controller_args(flags, os.environ)
    from gitsecure.controller import main  # noqa: PLC0415 (kopf, kubernetes and aiohttp: only for a real run)

    code: int = main.run_controller(config)
    return code
