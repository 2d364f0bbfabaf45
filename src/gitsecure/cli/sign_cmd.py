"""``gitsecure sign``: cosign-compatible image signing without installing cosign.

``sign image REF --key cosign.key`` writes a legacy cosign signature (``sha256-<hex>.sig``) that ``cosign verify
--key cosign.pub --insecure-ignore-tlog`` accepts; ``sign generate-key-pair`` writes ``cosign.key``/``cosign.pub``
in cosign's encrypted format. The password comes from ``COSIGN_PASSWORD`` (may be empty, as in cosign) or a
terminal prompt; without either the command refuses. Heavy modules are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from gitsecure.cli.options import ArgumentParser, apply_environment
from gitsecure.errors import EXIT_OK, InputError, UsageError

DESCRIPTION = """Sign container images the way cosign does (legacy .sig layout, key-based).

  image              sign REF with a cosign private key and push the signature
  generate-key-pair  write cosign.key (encrypted) and cosign.pub

The key password is read from COSIGN_PASSWORD or prompted on a terminal.
Flags can be set as GITSECURE_SIGN_<FLAG> (e.g. GITSECURE_SIGN_KEY)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``sign`` command and its subcommands."""
    p = ArgumentParser(
        prog="gitsecure sign", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=ArgumentParser)
    image = sub.add_parser("image", help="sign an image with a cosign key")
    image.add_argument(
        "ref", metavar="REF", help="image reference (tag or digest); the digest it resolves to is signed"
    )
    image.add_argument("--key", required=False, metavar="FILE", help="cosign private key (cosign.key)")
    image.add_argument(
        "-a", "--annotations", action="append", default=[], metavar="K=V", help="extra signed annotation (repeatable)"
    )
    image.add_argument(
        "--allow-http-registry", action="store_true", help="talk plain HTTP to the registry (loopback registries)"
    )
    gen = sub.add_parser("generate-key-pair", help="write cosign.key and cosign.pub")
    gen.add_argument(
        "--output-key-prefix", default="cosign", metavar="PREFIX", help="file name prefix (default cosign)"
    )
    gen.add_argument("--force", action="store_true", help="overwrite existing files")
    for parser in (image, gen):
        apply_environment(parser, prefixes=("GITSECURE_SIGN",))
    return p


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure sign``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action == "image":
        return _image(args)
    if args.action == "generate-key-pair":
        return _generate(args)
    parser.print_help(sys.stderr)
    raise UsageError("choose an action: image or generate-key-pair")


def _password(*, confirm: bool) -> bytes:
    env = os.environ.get("COSIGN_PASSWORD")
    if env is not None:
        return env.encode()
    if not sys.stdin.isatty():
        raise UsageError(
            "no key password: set COSIGN_PASSWORD (it may be empty) or run on a terminal",
            reference="password-required",
        )
    first = getpass.getpass("Enter password for private key: ")
    if confirm and getpass.getpass("Enter password for private key again: ") != first:
        raise UsageError("passwords do not match", reference="password-mismatch")
    return first.encode()


def _annotations(pairs: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"annotation {pair!r} is not KEY=VALUE")
        result[key] = value
    return result


def _image(args: argparse.Namespace) -> int:
    from gitsecure.crypto.cosign_keys import decrypt_private_key  # noqa: PLC0415
    from gitsecure.verify.images.reference import parse_image_ref  # noqa: PLC0415
    from gitsecure.verify.images.registry import RegistryClient  # noqa: PLC0415
    from gitsecure.verify.images.sign import sign_image  # noqa: PLC0415

    if not args.key:
        raise UsageError("--key FILE is required (keyless signing is not supported)")
    annotations = _annotations(args.annotations)
    ref = parse_image_ref(args.ref)
    try:
        key_pem = Path(args.key).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {args.key}: {exc.strerror}", reference="input-unreadable") from None
    signer = decrypt_private_key(key_pem, _password(confirm=False))
    client = RegistryClient(allow_http=args.allow_http_registry)
    result = sign_image(client, ref, signer, annotations=annotations)
    print(f"signed {ref.with_digest(result.digest)} with {signer.public_key.fingerprint}", file=sys.stderr)
    print(f"pushed signature to {result.signature_tag} ({result.manifest_digest})", file=sys.stderr)
    return EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    from gitsecure.crypto.cosign_keys import generate_key_pair  # noqa: PLC0415
    from gitsecure.fileio import atomic_write  # noqa: PLC0415

    key_path, pub_path = Path(f"{args.output_key_prefix}.key"), Path(f"{args.output_key_prefix}.pub")
    for path in (key_path, pub_path):
        if path.exists() and not args.force:
            raise UsageError(f"{path} exists; pass --force to overwrite it", reference="output-exists")
    private_pem, public_pem = generate_key_pair(_password(confirm=True))
    atomic_write(str(key_path), private_pem, mode=0o600)
    atomic_write(str(pub_path), public_pem)
    print(f"Private key written to {key_path}", file=sys.stderr)
    print(f"Public key written to {pub_path}", file=sys.stderr)
    return EXIT_OK
