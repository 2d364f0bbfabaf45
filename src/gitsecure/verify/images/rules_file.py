"""Parsing the ``authorities:`` and ``images:`` sections of a verify policy file (docs/verify.md, "Image rules").

Called by :mod:`gitsecure.verify.policy_file` with its parser, so errors read the same way
(``policy.yaml: authorities[1].keys[0]: keys/ci.pub holds no public key``) and key material is checked for
duplicates across the whole file. Everything not exactly right is refused: unknown keys, an authority without
trust material or used by no rule, a key given twice (by SPKI, whatever its PEM spelling), a private key, an
invalid regexp or glob, two rules with the same glob, an impossible threshold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, Protocol

from gitsecure.errors import GitsecureError
from gitsecure.verify.images.authority import (
    Authority,
    KeylessAuthority,
    TrustedRootBytes,
    public_good_trusted_root,
)
from gitsecure.verify.images.rules import ENFORCEMENTS, ImageAuthority, ImageRule, normalize_image_glob
from gitsecure.verify.trust import check_trusted_root

__all__ = ["AUTHORITY_NAME", "parse_image_sections"]

AUTHORITY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_AUTHORITY_KEYS = frozenset({"name", "keys", "keyless", "trusted_root"})
_KEYLESS_KEYS = frozenset({"identity", "identity_regexp", "issuer", "issuer_regexp"})
_IMAGE_KEYS = frozenset(
    {"glob", "authorities", "threshold", "require", "mode", "require_tlog", "require_digest", "attestations"}
)
PUBLIC_GOOD = "public-good"


class PolicyParser(Protocol):
    """What this module needs from the policy file parser (``policy_file._Parser``)."""

    def fail(self, where: str, message: str) -> NoReturn: ...
    def table(self, value: object, where: str, allowed: frozenset[str]) -> Mapping[str, Any]: ...
    def strings(self, value: object, where: str, *, single: bool = False) -> list[str]: ...
    def once(self, material: bytes, where: str) -> None: ...
    def trust_file(self, entry: str, where: str) -> bytes: ...


def parse_image_sections(
    parser: PolicyParser, document: Mapping[str, Any]
) -> tuple[list[ImageAuthority], list[ImageRule]]:
    """The authorities and image rules of a policy document ([], [] when it has neither)."""
    if "authorities" not in document and "images" not in document:
        return [], []
    for key in ("authorities", "images"):
        if not isinstance(document.get(key), list) or not document[key]:
            parser.fail(key, "required with image rules: a non-empty list")
    authorities: dict[str, ImageAuthority] = {}
    for index, item in enumerate(document["authorities"]):
        entry = _authority(parser, item, f"authorities[{index}]")
        if entry.name in authorities:
            parser.fail(f"authorities[{index}].name", f"duplicate authority name {entry.name!r}")
        authorities[entry.name] = entry
    rules = [_rule(parser, item, index, authorities) for index, item in enumerate(document["images"])]
    globs: dict[str, str] = {}
    for rule in rules:
        other = globs.setdefault(rule.glob, rule.name)
        if other != rule.name:
            parser.fail(f"{rule.name}.glob", f"the same glob as {other} (which would win is undefined)")
    used = {name for rule in rules for name in rule.authorities}
    for index, name in enumerate(authorities):
        if name not in used:
            parser.fail(f"authorities[{index}]", f"authority {name} is used by no image rule (unused trust material)")
    return list(authorities.values()), rules


def _authority(parser: PolicyParser, value: object, where: str) -> ImageAuthority:
    table = parser.table(value, where, _AUTHORITY_KEYS)
    name = table.get("name")
    if not isinstance(name, str) or not AUTHORITY_NAME.fullmatch(name):
        parser.fail(f"{where}.name", "required: letters, digits, '.', '_' or '-' (at most 64)")
    keys = _keys(parser, table["keys"], f"{where}.keys") if "keys" in table else ()
    keyless = _keyless(parser, table["keyless"], f"{where}.keyless") if "keyless" in table else None
    if not keys and keyless is None:
        parser.fail(where, f"authority {name} has no trust material (keys or keyless)")
    root, origin = _trusted_root(parser, table.get("trusted_root"), f"{where}.trusted_root")
    if keyless is not None:
        keyless = KeylessAuthority(
            keyless.identity, keyless.identity_regexp, keyless.issuer, keyless.issuer_regexp, bytes(root)
        )
    return ImageAuthority(Authority(name, keys, keyless), root, origin)


def _keys(parser: PolicyParser, value: object, where: str) -> tuple[bytes, ...]:
    from gitsecure.crypto.cosign import load_public_key  # noqa: PLC0415 (crypto loads only when a policy does)

    keys: list[bytes] = []
    for index, entry in enumerate(parser.strings(value, where, single=True)):
        here = f"{where}[{index}]"
        inline = "-----BEGIN" in entry
        data = (entry.strip() + "\n").encode("ascii", "replace") if inline else parser.trust_file(entry, here)
        shown = "the inline key" if inline else entry
        if b"PRIVATE KEY" in data:
            parser.fail(here, f"{shown} holds a private key (give cosign.pub, and rotate this key)")
        try:
            key = load_public_key(data)
        except GitsecureError:
            parser.fail(here, f"{shown} holds no supported public key (a cosign.pub PEM: ECDSA, RSA or Ed25519)")
        parser.once(key.fingerprint.encode("ascii"), here)
        keys.append(data)
    return tuple(keys)


def _keyless(parser: PolicyParser, value: object, where: str) -> KeylessAuthority:
    table = parser.table(value, where, _KEYLESS_KEYS)
    for key in _KEYLESS_KEYS:
        if key in table and (not isinstance(table[key], str) or not table[key]):
            parser.fail(f"{where}.{key}", "expected a non-empty string")
    for what in ("identity", "issuer"):
        if (what in table) == (f"{what}_regexp" in table):
            parser.fail(where, f"exactly one of {what} and {what}_regexp is required")
        if f"{what}_regexp" in table:
            try:
                re.compile(table[f"{what}_regexp"])
            except re.error as exc:
                parser.fail(f"{where}.{what}_regexp", f"invalid regular expression: {exc}")
    claim = (table.get("identity"), table.get("identity_regexp"), table.get("issuer"), table.get("issuer_regexp"))
    parser.once(repr(("keyless", *claim)).encode("utf-8"), where)
    return KeylessAuthority(*claim, trusted_root_json=b"")


def _trusted_root(parser: PolicyParser, value: object, where: str) -> tuple[TrustedRootBytes, str]:
    if value is None:
        try:
            return public_good_trusted_root(), PUBLIC_GOOD
        except GitsecureError as exc:
            parser.fail(where, f"not given, and {exc.message}")
    if not isinstance(value, str) or not value.strip():
        parser.fail(where, "expected the path of a Sigstore trusted_root.json")
    data = parser.trust_file(value.strip(), where)
    try:
        check_trusted_root(data, value.strip())
    except ValueError as exc:
        parser.fail(where, str(exc))
    return TrustedRootBytes(data), str(Path(value.strip()))


def _rule(parser: PolicyParser, value: object, index: int, authorities: Mapping[str, ImageAuthority]) -> ImageRule:
    where = f"images[{index}]"
    table = parser.table(value, where, _IMAGE_KEYS)
    for key in ("glob", "authorities"):
        if key not in table:
            parser.fail(f"{where}.{key}", "required")
    if not isinstance(table["glob"], str):
        parser.fail(f"{where}.glob", "expected one image glob (a string)")
    try:
        glob = normalize_image_glob(table["glob"])
    except ValueError as exc:
        parser.fail(f"{where}.glob", str(exc))
    names = parser.strings(table["authorities"], f"{where}.authorities")
    _names(parser, names, f"{where}.authorities", authorities)
    threshold = table.get("threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(names):
        parser.fail(f"{where}.threshold", f"expected an integer from 1 to {len(names)} (the number of authorities)")
    require = parser.strings(table["require"], f"{where}.require") if "require" in table else []
    _names(parser, require, f"{where}.require", authorities)
    for position, name in enumerate(require):
        if name not in names:
            parser.fail(f"{where}.require[{position}]", f"{name} is not one of the rule's authorities")
    if len(require) > threshold:
        parser.fail(f"{where}.threshold", f"{threshold} is below the {len(require)} required authorities")
    mode = table.get("mode", "enforce")
    if mode not in ENFORCEMENTS:
        parser.fail(f"{where}.mode", f"expected one of {', '.join(ENFORCEMENTS)}")
    flags = {}
    for key in ("require_tlog", "require_digest"):
        flags[key] = table.get(key, False)
        if not isinstance(flags[key], bool):
            parser.fail(f"{where}.{key}", "expected true or false")
    attestations = parser.strings(table["attestations"], f"{where}.attestations") if "attestations" in table else []
    if len(set(attestations)) != len(attestations):
        parser.fail(f"{where}.attestations", "a predicate type is listed twice")
    return ImageRule(
        index,
        glob,
        tuple(names),
        threshold,
        tuple(require),
        mode,
        require_tlog=flags["require_tlog"],
        require_digest=flags["require_digest"],
        attestations=tuple(attestations),
    )


def _names(parser: PolicyParser, names: list[str], where: str, authorities: Mapping[str, ImageAuthority]) -> None:
    for position, name in enumerate(names):
        if name not in authorities:
            parser.fail(f"{where}[{position}]", f"unknown authority {name!r}")
        if name in names[:position]:
            parser.fail(f"{where}[{position}]", f"{name} is listed twice")
