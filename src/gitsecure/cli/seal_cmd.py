"""``gitsecure seal``: kubeseal's flags and behaviour.

Exit codes: 0 success; 1 ``--validate`` found a SealedSecret the controller
cannot decrypt; 2 usage, input, certificate, key or controller error. Output
is written only after every Secret has been sealed, so a failed run prints
nothing and leaves no file behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitsecure.cli.options import ArgumentParser, apply_environment, timeout_seconds
from gitsecure.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError

if TYPE_CHECKING:
    from gitsecure.seal.kubeconfig import ClusterOptions

log = logging.getLogger("gitsecure.seal")

DESCRIPTION = """Seal Kubernetes Secrets into SealedSecrets, byte-compatible with kubeseal.

Reads Secret manifests (YAML documents or JSON objects) from stdin or -f and
prints SealedSecrets. Every flag can be set as GITSECURE_<FLAG> or, as with
kubeseal, SEALED_SECRETS_<FLAG> (e.g. SEALED_SECRETS_CERT)."""

EPILOG = """exit codes: 0 success, 1 --validate: the controller cannot decrypt a
SealedSecret, 2 usage, input, certificate, key or controller error."""


def build_parser() -> argparse.ArgumentParser:
    """The ``seal`` flag set, named and behaving as kubeseal's."""
    p = ArgumentParser(
        prog="gitsecure seal",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    io = p.add_argument_group("input and output")
    io.add_argument("-f", "--secret-file", metavar="FILE", help="input file (default: stdin)")
    io.add_argument("-w", "--sealed-secret-file", metavar="FILE", help="write output here, atomically")
    io.add_argument("-o", "--format", default="json", help="output format: json (default) or yaml")
    io.add_argument("--merge-into", metavar="FILE", help="merge the sealed items into this SealedSecret file")
    io.add_argument("--raw", action="store_true", help="seal one raw value and print only the ciphertext")
    io.add_argument("--from-file", action="append", metavar="[KEY=]PATH", help="with --raw: the value's file")
    io.add_argument("--allow-empty-data", action="store_true", help="allow Secrets without data")
    target = p.add_argument_group("scope")
    target.add_argument("--scope", default="", help="strict (default), namespace-wide or cluster-wide")
    target.add_argument("--name", help="name of the Secret (overrides the input's; needed for --raw strict)")
    target.add_argument("-n", "--namespace", help="namespace (default: the Secret's, else the kubeconfig context's)")
    cert = p.add_argument_group("certificate and controller")
    cert.add_argument("--cert", metavar="FILE|URL", help="certificate file or http(s) URL (offline sealing)")
    cert.add_argument("--fetch-cert", action="store_true", help="print the certificate and exit")
    cert.add_argument("--controller-name", default="sealed-secrets-controller", help="controller Service name")
    cert.add_argument("--controller-namespace", default="kube-system", help="controller namespace")
    cert.add_argument("--validate", action="store_true", help="ask the controller whether SealedSecrets decrypt")
    cert.add_argument(
        "--re-encrypt",
        "--rotate",
        dest="re_encrypt",
        action="store_true",
        help="re-seal SealedSecrets with the controller's newest key",
    )
    conn = p.add_argument_group("cluster connection (kubectl's flags, applied on top of the kubeconfig)")
    conn.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
    conn.add_argument("--context", help="kubeconfig context")
    conn.add_argument("--cluster", help="kubeconfig cluster entry to use instead of the context's")
    conn.add_argument("--user", help="kubeconfig user entry to use instead of the context's")
    conn.add_argument("-s", "--server", metavar="URL", help="address and port of the Kubernetes API server")
    conn.add_argument("--token", help="bearer token for the API server")
    conn.add_argument("--username", help="username for basic authentication to the API server")
    conn.add_argument("--password", help="password for basic authentication to the API server")
    conn.add_argument("--certificate-authority", metavar="FILE", help="CA certificate file to verify the API server")
    conn.add_argument(
        "--insecure-skip-tls-verify",
        action="store_true",
        help="do not verify the API server's certificate (insecure)",
    )
    conn.add_argument("--tls-server-name", metavar="NAME", help="name to verify the API server's certificate against")
    conn.add_argument("--client-certificate", metavar="FILE", help="client certificate file for TLS")
    conn.add_argument("--client-key", metavar="FILE", help="client key file for TLS")
    conn.add_argument(
        "--request-timeout",
        type=timeout_seconds,
        default=30.0,
        metavar="DURATION",
        help="timeout of each request to the cluster or certificate URL, e.g. 30s (default); 0 for none",
    )
    recovery = p.add_argument_group("recovery")
    recovery.add_argument("--recovery-unseal", action="store_true", help="decrypt offline with private keys")
    recovery.add_argument(
        "--recovery-private-key",
        action="append",
        metavar="FILE[,FILE]",
        help="PEM key or key-Secret backup (repeatable, comma-separated)",
    )
    apply_environment(p, prefixes=("GITSECURE", "SEALED_SECRETS"))
    return p


def _read_input(args: argparse.Namespace, *, raw_mode: bool = False) -> bytes:
    if args.secret_file:
        try:
            return Path(args.secret_file).read_bytes()
        except OSError as exc:
            raise InputError(
                f"Could not read file specified with --secret-file: {args.secret_file}: {exc.strerror}",
                reference="input-unreadable",
            ) from None
    if sys.stdin is None:
        raise InputError("no input: stdin is closed", reference="input-unreadable")
    if sys.stdin.isatty():
        what = "a secret to encrypt" if raw_mode else "json/yaml k8s resource"
        print(f"(tty detected: expecting {what} in stdin)", file=sys.stderr)
    return sys.stdin.buffer.read()


def _input_text(args: argparse.Namespace) -> str:
    from gitsecure.seal.manifest import decode_text  # noqa: PLC0415

    return decode_text(_read_input(args))


def _emit(content: str | bytes, *, output: str | None) -> None:
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    if output:
        from gitsecure.fileio import atomic_write  # noqa: PLC0415 - tempfile costs start-up time

        atomic_write(output, data)
    elif hasattr(sys.stdout, "buffer"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:  # a text-only stdout (embedding, tests)
        sys.stdout.write(data.decode("utf-8", "replace"))


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure seal``."""
    args = build_parser().parse_args(argv)
    from gitsecure.seal import render  # noqa: PLC0415
    from gitsecure.seal.kubeconfig import ControllerRef, context_namespace  # noqa: PLC0415
    from gitsecure.seal.scope import Scope  # noqa: PLC0415

    fmt = render.parse_format(args.format)
    scope = Scope.parse(args.scope)
    options = _cluster_options(args)
    controller = ControllerRef(name=args.controller_name, namespace=args.controller_namespace)
    if args.from_file and not args.raw:
        raise UsageError("--from-file requires --raw")
    output = args.sealed_secret_file
    if args.re_encrypt and args.secret_file and not output:
        output = args.secret_file  # kubeseal re-encrypts a file in place
    if output and not args.merge_into:  # --merge-into rewrites its own file, in the -o format
        fmt = render.format_for_path(output, fmt)
    if args.recovery_private_key and not args.recovery_unseal and sys.stderr.isatty():
        log.warning("ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal")
    key_files = [part for value in (args.recovery_private_key or []) for part in value.split(",") if part]

    if args.recovery_unseal:
        from gitsecure.seal.modes import recovery_unseal  # noqa: PLC0415
        from gitsecure.seal.recovery import load_recovery_keys  # noqa: PLC0415

        keys = load_recovery_keys(key_files)
        log.info("trying %d recovery key(s)", len(keys))
        secret = recovery_unseal(_input_text(args), keys)
        _emit(render.render([secret], fmt), output=output)
        return EXIT_OK
    if args.validate or args.re_encrypt:
        from gitsecure.seal import modes  # noqa: PLC0415
        from gitsecure.seal.cluster import ControllerClient  # noqa: PLC0415

        text = _input_text(args)
        client = ControllerClient(options, controller)
        if args.validate:
            failures = modes.validate(text, client)
            for name in failures:
                print(f"error: unable to decrypt sealed secret: {name}", file=sys.stderr)
            return EXIT_FINDINGS if failures else EXIT_OK
        _emit(render.render(modes.re_encrypt(text, client), fmt), output=output)
        return EXIT_OK

    from gitsecure.seal.certsource import read_certificate  # noqa: PLC0415

    cert_pem = read_certificate(args.cert, options=options, controller=controller, timeout=args.request_timeout)
    if args.fetch_cert:
        _emit(cert_pem, output=output)  # the bytes as received, like kubeseal
        return EXIT_OK
    from gitsecure.crypto.keys import public_key_fingerprint, sealing_public_key  # noqa: PLC0415
    from gitsecure.seal import modes  # noqa: PLC0415

    public_key = sealing_public_key(cert_pem, now=dt.datetime.now(dt.UTC))
    log.info(
        "sealing with key %s from %s",
        public_key_fingerprint(public_key),
        args.cert or f"controller {controller.namespace}/{controller.name}",
    )
    settings = modes.SealSettings(
        scope=scope if args.scope else None,
        name=args.name,
        namespace=args.namespace,
        allow_empty_data=args.allow_empty_data,
    )

    def default_namespace() -> str:
        return context_namespace(options)

    if args.merge_into:
        from gitsecure.seal.manifest import decode_text  # noqa: PLC0415

        target = Path(args.merge_into)
        try:
            target_text = decode_text(target.read_bytes())
        except OSError as exc:
            raise InputError(
                f"cannot read --merge-into file {target}: {exc.strerror}", reference="input-unreadable"
            ) from None
        merged = modes.merge_into(
            target_text, _input_text(args), public_key, settings, default_namespace=default_namespace
        )
        _emit(render.render([merged], fmt), output=str(target))
        return EXIT_OK
    if args.raw:
        data = _raw_value(args)
        namespace = (
            args.namespace
            if args.namespace is not None
            else (default_namespace() if scope is not Scope.CLUSTER_WIDE else "")
        )
        sealed = modes.seal_raw(data, public_key, scope=scope, namespace=namespace, name=args.name)
        _emit(sealed, output=output)
        return EXIT_OK
    sealed_objects = modes.seal_secrets(_input_text(args), public_key, settings, default_namespace=default_namespace)
    log.info("sealed %s", ", ".join(sealedsecret_names(sealed_objects)))
    _emit(render.render(sealed_objects, fmt), output=output)
    return EXIT_OK


def _cluster_options(args: argparse.Namespace) -> ClusterOptions:
    """The connection flags, checked for the combinations kubectl refuses."""
    from gitsecure.seal.kubeconfig import ClusterOptions  # noqa: PLC0415

    if args.certificate_authority and args.insecure_skip_tls_verify:
        raise UsageError("--certificate-authority and --insecure-skip-tls-verify cannot be used together")
    if args.token and (args.username or args.password):
        raise UsageError("--token and --username/--password cannot be used together: give one way to authenticate")
    return ClusterOptions(
        kubeconfig=args.kubeconfig,
        context=args.context,
        request_timeout=args.request_timeout,
        cluster=args.cluster,
        user=args.user,
        server=args.server,
        tls_server_name=args.tls_server_name,
        certificate_authority=args.certificate_authority,
        insecure_skip_tls_verify=args.insecure_skip_tls_verify,
        client_certificate=args.client_certificate,
        client_key=args.client_key,
        token=args.token,
        username=args.username,
        password=args.password,
    )


def sealedsecret_names(objects: list[dict[str, Any]]) -> list[str]:
    """``namespace/name`` of each object, for log lines."""
    return [f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}".lstrip("/") for o in objects]


def _raw_value(args: argparse.Namespace) -> bytes:
    if not args.from_file:
        return _read_input(args, raw_mode=True)
    if len(args.from_file) > 1:
        raise UsageError("must provide only one --from-file when encrypting a single item with --raw")
    spec = args.from_file[0]
    path = spec.split("=", 1)[1] if "=" in spec else spec
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read --from-file {path}: {exc.strerror}", reference="input-unreadable") from None
