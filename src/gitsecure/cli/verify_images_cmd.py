"""``gitsecure verify image | manifests | revision``: the image signature gate from the command line.

Exit codes: 0 every image (and, for ``revision``, the commits) trusted, 1 rejected, 2 usage or configuration
error. An image rejected by a ``warn`` rule is reported as ``WARN`` and does not fail the run. Heavy modules
(the registry client, the verifiers, sigstore) load only once a command runs; the parser lives in verify_cmd.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitsecure.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gitsecure.verify.cache import VerifyCache
    from gitsecure.verify.images.gate import ImageGate
    from gitsecure.verify.images.verdict import ImageVerdict
    from gitsecure.verify.policy import Policy


def add_image_trust(p: argparse.ArgumentParser, *, flags: bool, output: bool = True) -> None:
    """Registry and trust flags of the image commands; ``flags`` adds cosign's quick trust flags."""
    trust = p.add_argument_group("trust (a policy file with images: rules, or cosign-like flags)")
    trust.add_argument("--policy", metavar="FILE", help="the policy file (YAML, version 1, with images: rules)")
    if flags:
        trust.add_argument("--key", action="append", default=[], metavar="PUB", help="a cosign.pub key (repeatable)")
        who = trust.add_mutually_exclusive_group()
        who.add_argument("--certificate-identity", metavar="ID", help="keyless: the signer's identity (SAN)")
        who.add_argument("--certificate-identity-regexp", metavar="RE", help="keyless: identity, full-match regexp")
        issuer = trust.add_mutually_exclusive_group()
        issuer.add_argument("--certificate-oidc-issuer", metavar="ISS", help="keyless: the OIDC issuer")
        issuer.add_argument("--certificate-oidc-issuer-regexp", metavar="RE", help="keyless: issuer, full-match regexp")
        trust.add_argument("--trusted-root", metavar="FILE", help="Sigstore trusted_root.json (default: public-good)")
        trust.add_argument("--threshold", type=int, metavar="N", help="distinct keys/identities that must sign")
    trust.add_argument("--require-tlog", action="store_true", help="every signature needs a transparency-log entry")
    trust.add_argument("--require-digest", action="store_true", help="reject references not pinned by @sha256:")
    registry = p.add_argument_group("registry")
    registry.add_argument(
        "--allow-http-registry", action="store_true", help="talk plain HTTP to registries (loopback registries)"
    )
    registry.add_argument("--docker-config", metavar="FILE", help="credentials (default ~/.docker/config.json)")
    cache = p.add_argument_group("cache")
    cache.add_argument("--cache-dir", metavar="DIR", help="result cache (default $XDG_CACHE_HOME/gitsecure/verify)")
    cache.add_argument("--no-cache", action="store_true", help="verify every image again; read and write no cache")
    if output:
        p.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    p.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")


def run_image(args: argparse.Namespace) -> int:
    """``verify image REF``."""
    from gitsecure.verify.images.reference import parse_image_ref  # noqa: PLC0415

    parse_image_ref(args.ref)  # a malformed reference is a usage error here, not a verdict
    policy = _image_policy(args)
    with _gate(args, policy) as (gate, _cache):
        verdict = gate.verify(args.ref)
    if args.format == "json":
        sys.stdout.write(verdict.to_json())
    else:
        _print_text([verdict], policy)
    return EXIT_OK if not verdict.blocking else EXIT_FINDINGS


def run_manifests(args: argparse.Namespace) -> int:
    """``verify manifests DIR``: every image the manifests under DIR deploy."""
    root = Path(args.directory)
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory")
    policy = _image_policy(args)
    uses, warnings, verdicts = _verify_tree(args, policy, root)
    _emit_images(args, policy, uses, warnings, verdicts)
    return EXIT_FINDINGS if any(verdict.blocking for verdict in verdicts.values()) else EXIT_OK


def run_revision(args: argparse.Namespace, *, verbosity: int) -> int:
    """``verify revision REV``: the commits (as ``verify commit``) and the images of its manifests, one verdict."""
    from gitsecure.cli.verify_revision import commit_verdict  # noqa: PLC0415
    from gitsecure.verify.gitrun import require_repository, run_git  # noqa: PLC0415
    from gitsecure.verify.images.tree_export import export_tree  # noqa: PLC0415
    from gitsecure.verify.policy import load_policy  # noqa: PLC0415
    from gitsecure.verify.verdict import render_text  # noqa: PLC0415

    if not args.policy:
        raise UsageError("verify revision needs --policy FILE (with rules: for commits and images: for images)")
    repo = require_repository(Path(args.repo))
    policy = load_policy(Path(args.policy))
    commit = _commit_of(run_git, repo, args.revision)
    commits = commit_verdict(args, repo, policy)
    if _commit_of(run_git, repo, args.revision) != commit:
        raise InputError(f"{args.revision} moved while it was verified; verify again", reference="revision-moved")
    with tempfile.TemporaryDirectory(prefix="gitsecure-revision-") as tmp:
        warnings = export_tree(repo, commit, Path(tmp), path=args.path or "")
        manifests = Path(tmp) / (args.path or "").strip("/")
        if not manifests.is_dir():
            raise UsageError(f"--path {args.path}: no such directory in {args.revision}")
        uses, found_warnings, verdicts = _verify_tree(args, policy, manifests)
        uses = [_relative(use, Path(tmp)) for use in uses]
    warnings += found_warnings
    blocking = any(verdict.blocking for verdict in verdicts.values())
    trusted = commits.trusted and not blocking
    if args.format == "json":
        document = {
            "trusted": trusted,
            "revision": args.revision,
            "commit": commit,
            "policy_hash": policy.hash,
            "commits": commits.to_dict(),
            "images": _image_documents(uses, verdicts),
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(commits, max_checks=None if verbosity >= 1 else 50))
        _print_images(uses, warnings, verdicts)
        word = "trusted" if trusted else "rejected"
        images = f"{len(verdicts)} image{'s' if len(verdicts) != 1 else ''}"
        failed = sum(1 for verdict in verdicts.values() if verdict.blocking)
        print(
            f"{word}: {args.revision} at {commit[:12]} (commits {'trusted' if commits.trusted else 'rejected'}, "
            f"{images}, {failed} rejected, policy {policy.hash[:19]})"
        )
    return EXIT_OK if trusted else EXIT_FINDINGS


# ----------------------------------------------------------------------------------------------


def _image_policy(args: argparse.Namespace) -> Policy:
    quick = [
        getattr(args, name, None)
        for name in ("certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer")
    ] + [getattr(args, "certificate_oidc_issuer_regexp", None), getattr(args, "trusted_root", None)]
    uses_flags = bool(getattr(args, "key", None)) or any(item is not None for item in quick)
    threshold = getattr(args, "threshold", None)
    if args.policy:
        if uses_flags or threshold is not None:
            raise UsageError(
                "--policy cannot be combined with --key, --certificate-*, --trusted-root or --threshold",
                hint="put the authorities in the policy file, or drop --policy",
            )
        from gitsecure.verify.policy import load_policy  # noqa: PLC0415

        policy = load_policy(Path(args.policy))
        if not policy.images:
            raise UsageError(f"{args.policy} has no images: rules", reference="policy-no-image-rules")
        return policy
    from gitsecure.verify.images.quick_policy import image_policy_from_flags  # noqa: PLC0415

    return image_policy_from_flags(
        keys=[Path(key) for key in getattr(args, "key", [])],
        identity=args.certificate_identity,
        identity_regexp=args.certificate_identity_regexp,
        issuer=args.certificate_oidc_issuer,
        issuer_regexp=args.certificate_oidc_issuer_regexp,
        trusted_root=Path(args.trusted_root) if args.trusted_root else None,
        threshold=threshold,
    )


@contextlib.contextmanager
def _gate(args: argparse.Namespace, policy: Policy) -> Iterator[tuple[ImageGate, VerifyCache | None]]:
    """An ImageGate over a fresh registry client; the image cache is saved on the way out, whatever happened."""
    from gitsecure.verify.images.gate import ImageGate  # noqa: PLC0415
    from gitsecure.verify.images.registry import RegistryClient  # noqa: PLC0415

    config = Path(args.docker_config) if args.docker_config else None
    client = RegistryClient(allow_http=args.allow_http_registry, docker_config=config)
    cache = _image_cache(args)
    gate = ImageGate(policy, client, cache=cache, require_digest=args.require_digest, require_tlog=args.require_tlog)
    try:
        yield gate, cache
    finally:
        if cache is not None:
            cache.save()


def _image_cache(args: argparse.Namespace) -> VerifyCache | None:
    if args.no_cache:
        return None
    from gitsecure.verify.cache import VerifyCache, default_cache_dir  # noqa: PLC0415

    base = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    return VerifyCache(base / "images")


def _commit_of(run_git: Any, repo: Path, revision: str) -> str:
    if not revision or revision.startswith("-"):
        raise UsageError(f"invalid revision {revision!r}")
    proc = run_git(
        repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", ok_codes=(0, 1, 128)
    )
    oid = proc.stdout.decode("ascii", "replace").strip()
    if proc.returncode != 0 or not oid:
        raise InputError(f"unknown revision {revision!r}", reference="unknown-revision")
    return str(oid)


def _verify_tree(
    args: argparse.Namespace, policy: Policy, root: Path
) -> tuple[list[Any], list[str], dict[str, ImageVerdict]]:
    from gitsecure.verify.images.manifests import find_images  # noqa: PLC0415

    uses, warnings = find_images(root)
    verdicts: dict[str, ImageVerdict] = {}
    if uses:
        with _gate(args, policy) as (gate, _cache):
            for use in uses:
                if use.image not in verdicts:
                    verdicts[use.image] = gate.verify(use.image)
    return list(uses), list(warnings), verdicts


def _relative(use: Any, root: Path) -> Any:
    import dataclasses  # noqa: PLC0415

    try:
        return dataclasses.replace(use, file=Path(use.file).relative_to(root))
    except ValueError:
        return use


def _image_documents(uses: list[Any], verdicts: dict[str, ImageVerdict]) -> list[dict[str, Any]]:
    documents = []
    for image, verdict in verdicts.items():
        document = verdict.to_dict()
        document["uses"] = [
            {"file": str(u.file), "kind": u.kind, "name": u.name, "container": u.container}
            for u in uses
            if u.image == image
        ]
        documents.append(document)
    return documents


def _emit_images(
    args: argparse.Namespace, policy: Policy, uses: list[Any], warnings: list[str], verdicts: dict[str, ImageVerdict]
) -> None:
    blocking = any(verdict.blocking for verdict in verdicts.values())
    if args.format == "json":
        document = {
            "accepted": not blocking,
            "policy_hash": policy.hash,
            "images": _image_documents(uses, verdicts),
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    _print_images(uses, warnings, verdicts)
    failed = sum(1 for verdict in verdicts.values() if verdict.blocking)
    warned = sum(1 for verdict in verdicts.values() if not verdict.accepted and not verdict.blocking)
    word = "rejected" if blocking else "verified"
    print(f"{word}: {len(verdicts)} images, {failed} rejected, {warned} warned (policy {policy.hash[:19]})")


def _print_images(uses: list[Any], warnings: list[str], verdicts: dict[str, ImageVerdict]) -> None:
    from gitsecure.verify.images.verdict import render_image_lines  # noqa: PLC0415

    where = [", ".join(sorted({f"{u.file} {u.kind}/{u.name}" for u in uses if u.image == image})) for image in verdicts]
    sys.stdout.write(render_image_lines(list(verdicts.values()), where=where))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _print_text(verdicts: list[ImageVerdict], policy: Policy) -> None:
    from gitsecure.verify.images.verdict import render_image_lines  # noqa: PLC0415

    sys.stdout.write(render_image_lines(verdicts))
    for verdict in verdicts:
        if verdict.accepted:
            print(f"verified: {verdict.reference} (policy {policy.hash[:19]})")
        elif not verdict.blocking:
            print(f"rejected, not blocking (warn mode): {verdict.image} (policy {policy.hash[:19]})")
        else:
            print(f"rejected: {verdict.image} (policy {policy.hash[:19]})")
    sys.stdout.flush()
