"""Who may sign an image, and what one signature check concluded.

Shared by the legacy ``.sig`` verifier, the bundle/referrer verifier and the attestation verifier so the policy
layer sees one result type whatever the storage layout was.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NewType

from gitsecure.errors import InputError

TrustedRootBytes = NewType("TrustedRootBytes", bytes)
"""The raw bytes of a Sigstore ``trusted_root.json`` (Fulcio CAs, Rekor and CT log keys, TSAs)."""

SignatureSource = Literal["legacy", "bundle", "attestation"]


@dataclass(frozen=True)
class KeylessAuthority:
    """A Fulcio-certificate signer: who (identity) was vouched for by whom (OIDC issuer).

    Exactly one of ``identity``/``identity_regexp`` and one of ``issuer``/``issuer_regexp`` should be set; a regexp
    must match the whole value. ``trusted_root_json`` holds the Fulcio CAs, CT logs and Rekor keys to trust.
    """

    identity: str | None
    identity_regexp: str | None
    issuer: str | None
    issuer_regexp: str | None
    trusted_root_json: bytes


@dataclass(frozen=True)
class Authority:
    """A named set of acceptable signers: public keys (PEM) and/or one keyless identity."""

    name: str
    keys: tuple[bytes, ...] = ()
    keyless: KeylessAuthority | None = None


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one candidate signature against the authorities.

    ``signer`` is a key fingerprint (``sha256:<hex>`` of the SPKI DER) or ``"<identity> (<issuer>)"``; empty when
    no signer could be established. ``reason`` is a kebab-case reference on failure and ``"ok"`` on success.
    """

    ok: bool
    reason: str
    signer: str
    source: SignatureSource
    tlog: bool
    annotations: Mapping[str, str] = field(default_factory=dict)


_PUBLIC_GOOD_ROOT = Path("_store") / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"


def public_good_trusted_root() -> TrustedRootBytes:
    """The Sigstore public-good ``trusted_root.json`` shipped in the installed sigstore-python wheel, read offline.

    Located with ``importlib.util.find_spec`` so sigstore is never imported; no TUF refresh, no network.
    Raises ``InputError("trusted-root-unavailable")`` when sigstore-python is not installed.
    """
    spec = importlib.util.find_spec("sigstore")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        try:
            return TrustedRootBytes((Path(location) / _PUBLIC_GOOD_ROOT).read_bytes())
        except OSError:
            continue
    raise InputError(
        "the Sigstore public-good trusted root is not available (sigstore-python is not installed)",
        hint="pass --trusted-root FILE",
        reference="trusted-root-unavailable",
    )
