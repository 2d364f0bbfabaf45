"""``gitsecure verify webhook``: the image gate as a Kubernetes ValidatingAdmissionWebhook (HTTPS).

The policy and the registry client are loaded once; each AdmissionReview is decided by the same gate as
``verify image``. The server prints its address on stderr once it listens and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import ssl
import sys
from pathlib import Path

from gitsecure.errors import EXIT_OK, UsageError


def add_webhook_options(p: argparse.ArgumentParser) -> None:
    """The webhook's own flags (trust and registry flags come from ``add_image_trust``)."""
    p.add_argument("--listen", default="127.0.0.1:8443", metavar="HOST:PORT", help="default 127.0.0.1:8443")
    p.add_argument("--tls-cert", required=True, metavar="FILE", help="serving certificate (PEM, with its chain)")
    p.add_argument("--tls-key", required=True, metavar="FILE", help="its private key (PEM)")


def run_webhook(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT."""
    from gitsecure.cli.serving import serve_until_sigterm  # noqa: PLC0415
    from gitsecure.cli.verify_images_cmd import _gate, _image_policy  # noqa: PLC0415
    from gitsecure.verify.images.webhook import AdmissionDecider, make_server  # noqa: PLC0415
    from gitsecure.verify.server import parse_listen  # noqa: PLC0415

    host, port = parse_listen(args.listen)
    if not args.policy:
        raise UsageError("verify webhook needs --policy FILE with images: rules")
    policy = _image_policy(args)
    args.no_cache = True  # the webhook keeps its own in-memory memo of digest-pinned accepts
    with _gate(args, policy) as (gate, _):
        try:
            server = make_server(
                AdmissionDecider(gate.verify), host=host, port=port, cert_file=args.tls_cert, key_file=args.tls_key
            )
        except (OSError, ssl.SSLError) as exc:
            detail = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(f"cannot serve on {args.listen} with {Path(args.tls_cert).name}: {detail}") from None
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        print(f"gitsecure verify webhook: listening on https://{shown}:{bound_port}", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            serve_until_sigterm(server)
    return EXIT_OK
