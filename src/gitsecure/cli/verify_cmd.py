"""``gitsecure verify``: may this revision be applied? Signatures on commits, tags and images against a policy.

Exit codes: 0 trusted, 1 rejected, 2 usage or configuration error (a policy that cannot be
read, no rule or two rules matching, an unknown revision, unusable keys). Nothing heavy is
imported before the arguments are parsed; sigstore loads only when a gitsign signature is met.
The image commands (image, manifests, revision) live in :mod:`gitsecure.cli.verify_images_cmd`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gitsecure.cli.options import ArgumentParser, apply_environment
from gitsecure.cli.verify_images_cmd import add_image_trust
from gitsecure.cli.verify_webhook_cmd import add_webhook_options, run_webhook
from gitsecure.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from gitsecure.verify.policy import Policy

MODES = ("head", "tag", "tag-and-head", "strict")

DESCRIPTION = """Verify the signatures (OpenPGP, SSH, gitsign X.509) on a revision's commits and tags,
and the cosign/Sigstore signatures of the container images it deploys.

  commit [REV]     verify a revision (default HEAD); default mode: the rule's, else head
  tag TAG          verify an annotated tag; default mode: the rule's, else tag (the tag is
                   always checked: a rule mode of head becomes tag-and-head)
  serve            the same over HTTP (POST /v1/verify) for a reconciler
  image REF        verify one image's signatures (policy images: rules, or --key /
                   --certificate-identity flags as in cosign verify)
  manifests DIR    verify every image the Kubernetes manifests under DIR deploy
  revision REV     the commits of REV and the images of its manifests: one verdict
  webhook          the image gate as a Kubernetes admission webhook (HTTPS)

Trust comes from --policy FILE (see docs/verify.md), or from the quick flags --gpg-key,
--allowed-signers and --ssh-key, which build a one-rule policy. --mode adds to the rule's
mode (it can ask for more checks, never fewer). Every flag can also be set as
GITSECURE_VERIFY_<FLAG> (e.g. GITSECURE_VERIFY_POLICY);
repeatable flags take a comma-separated list there."""

EPILOG = """exit codes: 0 trusted, 1 rejected, 2 usage or configuration error."""


def _trust_options(p: argparse.ArgumentParser) -> None:
    trust = p.add_argument_group("trust (a policy file, or quick flags)")
    trust.add_argument("--policy", metavar="FILE", help="the policy file (YAML, version 1)")
    trust.add_argument("--gpg-key", action="append", default=[], metavar="FILE", help="armoured OpenPGP public keys")
    trust.add_argument(
        "--allowed-signers", action="append", default=[], metavar="FILE", help="an SSH allowed_signers file"
    )
    trust.add_argument("--ssh-key", action="append", default=[], metavar="FILE", help="SSH public keys (any principal)")
    trust.add_argument(
        "--mode", choices=MODES, help="check also what this mode checks: head, tag, tag-and-head or strict"
    )
    cache = p.add_argument_group("cache")
    cache.add_argument("--cache-dir", metavar="DIR", help="result cache (default $XDG_CACHE_HOME/gitsecure/verify)")
    cache.add_argument("--no-cache", action="store_true", help="verify every object again; read and write no cache")


def _revision_options(p: argparse.ArgumentParser) -> None:
    where = p.add_argument_group("repository and revision")
    where.add_argument("--repo", default=".", metavar="DIR", help="the repository (default: the current directory)")
    where.add_argument("--repo-url", metavar="URL", help="the name rules match (default: the origin remote's URL)")
    where.add_argument("--branch", metavar="NAME", help="the branch rules match (default: the branch REV names)")
    strict = p.add_argument_group("strict mode")
    strict.add_argument("--anchor", metavar="REV", help="a verified revision: only commits after it are checked")
    strict.add_argument(
        "--state-file", metavar="FILE", help="read the anchor from FILE; record the revision there once trusted"
    )
    strict.add_argument("--first-parent", action="store_true", help="walk first parents only (merges vouch for theirs)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")


def build_parser() -> argparse.ArgumentParser:
    """The ``verify`` command and its subcommands."""
    p = ArgumentParser(
        prog="gitsecure verify",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=ArgumentParser)
    commit = sub.add_parser("commit", help="verify a revision", epilog=EPILOG)
    commit.add_argument("revision", nargs="?", default="HEAD", metavar="REV", help="the revision (default HEAD)")
    tag = sub.add_parser("tag", help="verify an annotated tag", epilog=EPILOG)
    tag.add_argument("revision", metavar="TAG", help="the tag")
    for parser in (commit, tag):
        _revision_options(parser)
        _trust_options(parser)
    serve = sub.add_parser("serve", help="serve POST /v1/verify over HTTP", epilog=EPILOG)
    serve.add_argument("--listen", default="127.0.0.1:8090", metavar="HOST:PORT", help="default 127.0.0.1:8090")
    serve.add_argument(
        "--repo-root", action="append", default=[], metavar="DIR", help="requests may name repositories under DIR"
    )
    _trust_options(serve)
    image = sub.add_parser("image", help="verify an image's signatures", epilog=EPILOG)
    image.add_argument("ref", metavar="REF", help="image reference (tag or @sha256: digest)")
    add_image_trust(image, flags=True)
    manifests = sub.add_parser("manifests", help="verify the images of Kubernetes manifests", epilog=EPILOG)
    manifests.add_argument("directory", metavar="DIR", help="manifests (YAML/JSON, kustomizations, rendered Helm)")
    add_image_trust(manifests, flags=True)
    revision = sub.add_parser("revision", help="verify a revision's commits and the images it deploys", epilog=EPILOG)
    revision.add_argument("revision", metavar="REV", help="the revision")
    _revision_options(revision)
    revision.add_argument(
        "--mode", choices=MODES, help="check also what this mode checks: head, tag, tag-and-head or strict"
    )
    revision.add_argument("--path", metavar="DIR", help="the manifests' directory in the revision (default: all)")
    add_image_trust(revision, flags=False, output=False)
    webhook = sub.add_parser("webhook", help="serve the image gate as an admission webhook (HTTPS)", epilog=EPILOG)
    add_webhook_options(webhook)
    add_image_trust(webhook, flags=False, output=False)
    for parser in (commit, tag, serve, image, manifests, revision, webhook):
        apply_environment(parser, prefixes=("GITSECURE_VERIFY",))
    return p


def load_trust(args: argparse.Namespace, *, default_mode: str) -> Policy:
    """The policy file, or the one-rule policy of the quick flags; both at once is a usage error."""
    quick = bool(args.gpg_key or args.allowed_signers or args.ssh_key)
    if args.policy and quick:
        raise UsageError(
            "--policy cannot be combined with --gpg-key, --allowed-signers or --ssh-key",
            hint="put the keys in the policy file, or drop --policy",
        )
    if args.policy:
        from gitsecure.verify.policy import load_policy  # noqa: PLC0415

        return load_policy(Path(args.policy))
    from gitsecure.verify.policy import policy_from_flags  # noqa: PLC0415

    return policy_from_flags(
        [Path(item) for item in args.gpg_key],
        [Path(item) for item in args.allowed_signers],
        [Path(item) for item in args.ssh_key],
        args.mode or default_mode,
    )


def run(argv: list[str], *, verbosity: int = 0) -> int:
    """Entry point of ``gitsecure verify``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action in ("commit", "tag"):
        return _verify(args, require_tag=args.action == "tag", verbosity=verbosity)
    if args.action == "serve":
        return _serve(args)
    if args.action in ("image", "manifests", "revision"):
        from gitsecure.cli import verify_images_cmd  # noqa: PLC0415

        if args.action == "image":
            return verify_images_cmd.run_image(args)
        if args.action == "manifests":
            return verify_images_cmd.run_manifests(args)
        return verify_images_cmd.run_revision(args, verbosity=verbosity)
    if args.action == "webhook":
        return run_webhook(args)
    parser.print_help(sys.stderr)
    raise UsageError("choose an action: commit, tag, serve, image, manifests, revision or webhook")


def _verify(args: argparse.Namespace, *, require_tag: bool, verbosity: int) -> int:
    from gitsecure.cli.verify_revision import commit_verdict  # noqa: PLC0415
    from gitsecure.verify.verdict import render_text  # noqa: PLC0415

    policy = load_trust(args, default_mode="tag" if require_tag else "head")
    verdict = commit_verdict(args, Path(args.repo), policy, require_tag=require_tag)
    if args.format == "json":
        sys.stdout.write(verdict.to_json())
    else:
        sys.stdout.write(render_text(verdict, max_checks=None if verbosity >= 1 else 50))
    sys.stdout.flush()
    return EXIT_OK if verdict.trusted else EXIT_FINDINGS


def _serve(args: argparse.Namespace) -> int:
    from gitsecure.cli.serving import serve_until_sigterm  # noqa: PLC0415
    from gitsecure.cli.verify_revision import open_cache  # noqa: PLC0415
    from gitsecure.verify.engine import SignatureGate  # noqa: PLC0415
    from gitsecure.verify.server import ServerConfig, make_server, parse_listen  # noqa: PLC0415

    address = parse_listen(args.listen)
    if not args.repo_root:
        raise UsageError(
            "verify serve needs at least one --repo-root", hint="requests may only name repositories there"
        )
    policy = load_trust(args, default_mode="head")
    with SignatureGate(policy) as gate:
        roots = tuple(Path(root) for root in args.repo_root)
        config = ServerConfig(roots, cache=open_cache(args), mode=args.mode)
        server = make_server(gate, address, config)
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        print(f"gitsecure verify: listening on http://{shown}:{port}", file=sys.stderr, flush=True)
        serve_until_sigterm(server)
    return EXIT_OK
