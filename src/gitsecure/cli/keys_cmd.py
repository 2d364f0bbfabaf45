"""``gitsecure keys``: controller sealing keys for bring-your-own-key, bootstrap and backup.

``keys generate`` prints a key Secret in the sealed-secrets controller's
format (``kubernetes.io/tls``, labelled active): apply it before the
controller starts and the controller seals with it. ``keys cert`` prints the
certificate of a key, for offline sealing with ``gitsecure seal --cert``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import re
import secrets
import string
import sys
from pathlib import Path

from gitsecure.cli.options import ArgumentParser, apply_environment, positive_duration
from gitsecure.errors import EXIT_OK, InputError, UsageError

DESCRIPTION = """Controller sealing keys, in the sealed-secrets controller's format.

  generate  print a new key Secret (kubernetes.io/tls, labelled active): apply it
            before the controller starts and the controller seals with it
  cert      print the certificate of a key Secret, key backup or PEM key, for
            offline sealing with 'gitsecure seal --cert'

Flags can be set as GITSECURE_KEYS_<FLAG> (e.g. GITSECURE_KEYS_NAMESPACE)."""

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
_PREFIX = re.compile(r"^[a-z0-9-]*$")


def build_parser() -> argparse.ArgumentParser:
    """The ``keys`` command and its subcommands."""
    p = ArgumentParser(
        prog="gitsecure keys", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=ArgumentParser)
    gen = sub.add_parser("generate", help="print a new controller key Secret")
    gen.add_argument("-n", "--namespace", default="kube-system", help="controller namespace (default kube-system)")
    gen.add_argument("--key-prefix", default="sealed-secrets-key", help="Secret name prefix, as the controller's flag")
    gen.add_argument("--name", help="exact Secret name (default: prefix plus 5 random characters)")
    gen.add_argument("--key-size", type=int, default=4096, help="RSA key size in bits (default 4096)")
    gen.add_argument(
        "--key-ttl",
        type=positive_duration,
        default=positive_duration("87600h"),
        help="certificate validity, Go duration (default 87600h)",
    )
    gen.add_argument("--my-cn", default="", help="certificate common name (default empty, as the controller)")
    gen.add_argument("-o", "--format", default="yaml", help="yaml (default) or json")
    gen.add_argument("-w", "--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")
    gen.add_argument("--cert-out", metavar="FILE", help="also write the certificate PEM to FILE")
    cert = sub.add_parser("cert", help="print the certificate of a key Secret or key backup")
    cert.add_argument("-f", "--file", metavar="FILE", help="key Secret(s), key backup or PEM key (default: stdin)")
    cert.add_argument(
        "--key-ttl",
        type=positive_duration,
        default=positive_duration("87600h"),
        help="validity when a certificate must be made for a bare key",
    )
    # Scoped variables (GITSECURE_KEYS_NAMESPACE, ...): a GITSECURE_NAMESPACE meant for
    # `seal` must not silently move a generated controller key to another namespace.
    for parser in (gen, cert):
        apply_environment(parser, prefixes=("GITSECURE_KEYS",))
    return p


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure keys``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action == "generate":
        return _generate(args)
    if args.action == "cert":
        return _cert(args)
    parser.print_help(sys.stderr)
    raise UsageError("choose an action: generate or cert")


def _generate(args: argparse.Namespace) -> int:
    from gitsecure.crypto.keys import dump_certificate, dump_private_key, generate_key_pair  # noqa: PLC0415
    from gitsecure.fileio import atomic_write  # noqa: PLC0415
    from gitsecure.seal import render  # noqa: PLC0415

    fmt = render.parse_format(args.format)
    if not _PREFIX.match(args.key_prefix) or len(args.key_prefix) > 245:
        raise UsageError("--key-prefix must match [a-z0-9-]* and be at most 245 characters")
    pair = generate_key_pair(
        now=dt.datetime.now(dt.UTC), key_size=args.key_size, ttl=args.key_ttl, common_name=args.my_cn
    )
    cert_pem = dump_certificate(pair.certificate)
    name = args.name or args.key_prefix + "".join(
        secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5)
    )
    manifest = {  # Go's field order for a v1/Secret: kind, apiVersion, metadata, data, type
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": args.namespace, "labels": {KEY_LABEL: "active"}},
        "data": {
            "tls.crt": base64.b64encode(cert_pem).decode(),
            "tls.key": base64.b64encode(dump_private_key(pair.private_key)).decode(),
        },
        "type": "kubernetes.io/tls",
    }
    text = render.render([manifest], fmt)
    if args.cert_out:
        atomic_write(args.cert_out, cert_pem)
    if args.output:
        atomic_write(args.output, text.encode(), mode=0o600)
    else:
        sys.stdout.write(text)
    print(
        f"generated key {pair.fingerprint} valid until {pair.certificate.not_valid_after_utc:%Y-%m-%d}", file=sys.stderr
    )
    return EXIT_OK


def _cert(args: argparse.Namespace) -> int:
    from gitsecure.crypto.keys import dump_certificate, self_signed_certificate  # noqa: PLC0415
    from gitsecure.seal.recovery import load_key_material  # noqa: PLC0415

    source = args.file or "<stdin>"
    try:
        raw = Path(args.file).read_bytes() if args.file else sys.stdin.buffer.read()
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}", reference="input-unreadable") from None
    material = load_key_material(raw, source=source)
    if not material:
        raise InputError(f"{source} holds no private key", reference="bad-private-key")
    now = dt.datetime.now(dt.UTC)
    ttl = args.key_ttl
    certs = [m.certificate or self_signed_certificate(m.private_key, now=now, ttl=ttl) for m in material]
    # The newest certificate is the one the controller seals with.
    newest = max(certs, key=lambda c: c.not_valid_before_utc)
    sys.stdout.write(dump_certificate(newest).decode())
    return EXIT_OK
