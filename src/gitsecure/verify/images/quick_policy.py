"""The one-rule image policy of ``gitsecure verify image``'s cosign-like flags (no policy file).

``--key FILE`` (repeatable) gives one authority per distinct key, named ``key-1``, ``key-2``, ... in flag
order; ``--certificate-identity[-regexp]`` with ``--certificate-oidc-issuer[-regexp]`` gives the authority
``keyless``. One rule covers every image (``**``) with all of them and ``--threshold`` (default 1), so
``--threshold 2`` with two keys means both must have signed. ``--trusted-root`` replaces the public-good root
for every authority (Fulcio CAs for keyless, Rekor keys for transparency-log entries).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitsecure.errors import GitsecureError, UsageError
from gitsecure.verify.images.authority import (
    Authority,
    KeylessAuthority,
    TrustedRootBytes,
    public_good_trusted_root,
)
from gitsecure.verify.images.rules import ImageAuthority, ImageRule
from gitsecure.verify.policy import Policy
from gitsecure.verify.trust import check_trusted_root, read_trust_file

__all__ = ["image_policy_from_flags"]


def image_policy_from_flags(
    *,
    keys: Sequence[Path],
    identity: str | None,
    identity_regexp: str | None,
    issuer: str | None,
    issuer_regexp: str | None,
    trusted_root: Path | None,
    threshold: int | None,
) -> Policy:
    """A policy of one ``images:`` rule over every image; UsageError (``invalid-policy``) on unusable flags."""
    root = _root(trusted_root)
    authorities: list[ImageAuthority] = []
    seen: set[str] = set()
    for path in keys:
        pem = _key(path)
        fingerprint = _fingerprint(pem, path)
        if fingerprint in seen:  # the same key twice is one authority, not two
            continue
        seen.add(fingerprint)
        authorities.append(
            ImageAuthority(Authority(f"key-{len(authorities) + 1}", (pem,)), root, _origin(trusted_root))
        )
    keyless = _keyless(identity, identity_regexp, issuer, issuer_regexp, root)
    if keyless is not None:
        authorities.append(ImageAuthority(Authority("keyless", (), keyless), root, _origin(trusted_root)))
    if not authorities:
        raise UsageError(
            "no trust material: give --policy FILE, --key FILE, or --certificate-identity with "
            "--certificate-oidc-issuer",
            reference="invalid-policy",
        )
    wanted = 1 if threshold is None else threshold
    if not 1 <= wanted <= len(authorities):
        raise UsageError(
            f"--threshold {wanted}: expected 1 to {len(authorities)} (the number of distinct keys and identities)",
            reference="invalid-policy",
        )
    rule = ImageRule(0, "**", tuple(entry.name for entry in authorities), threshold=wanted)
    return Policy.build([], [], None, authorities=authorities, images=[rule])


def _origin(path: Path | None) -> str:
    return str(path) if path is not None else "public-good"


def _root(path: Path | None) -> TrustedRootBytes:
    if path is None:
        return public_good_trusted_root()
    try:
        data = read_trust_file(path, str(path))
        check_trusted_root(data, str(path))
    except ValueError as exc:
        raise UsageError(f"--trusted-root: {exc}", reference="invalid-policy") from None
    return TrustedRootBytes(data)


def _key(path: Path) -> bytes:
    try:
        data = read_trust_file(path, str(path))
    except ValueError as exc:
        raise UsageError(f"--key: {exc}", reference="invalid-policy") from None
    if b"PRIVATE KEY" in data:
        raise UsageError(f"--key: {path} holds a private key (give cosign.pub)", reference="invalid-policy")
    return data


def _fingerprint(pem: bytes, path: Path) -> str:
    from gitsecure.crypto.cosign import load_public_key  # noqa: PLC0415

    try:
        return load_public_key(pem).fingerprint
    except GitsecureError:
        raise UsageError(
            f"--key: {path} holds no supported public key (a cosign.pub PEM)", reference="invalid-policy"
        ) from None


def _keyless(
    identity: str | None, identity_regexp: str | None, issuer: str | None, issuer_regexp: str | None, root: bytes
) -> KeylessAuthority | None:
    if identity is None and identity_regexp is None and issuer is None and issuer_regexp is None:
        return None
    if identity is not None and identity_regexp is not None:
        raise UsageError("give --certificate-identity or --certificate-identity-regexp, not both")
    if issuer is not None and issuer_regexp is not None:
        raise UsageError("give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both")
    if identity is None and identity_regexp is None:
        raise UsageError("keyless verification needs --certificate-identity or --certificate-identity-regexp")
    if issuer is None and issuer_regexp is None:
        raise UsageError("keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
    import re  # noqa: PLC0415

    for flag, pattern in (("identity", identity_regexp), ("oidc-issuer", issuer_regexp)):
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise UsageError(f"--certificate-{flag}-regexp: invalid regular expression: {exc}") from None
    return KeylessAuthority(identity, identity_regexp, issuer, issuer_regexp, bytes(root))
