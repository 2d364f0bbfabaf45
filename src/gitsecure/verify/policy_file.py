"""Parsing and validating verify policy files (YAML, ``version: 1``).

Everything that is not exactly right is refused, with a one-line InputError naming the file and
the field path (``policy.yaml: signers[2].openpgp[0]: keys/alice.asc holds no OpenPGP public key``):
an empty file, another version, unknown or repeated keys, a signer without trust material, a
signer no rule uses, a rule naming an unknown signer, an impossible threshold, key files that
cannot be read or hold no key, the same key material under two entries, invalid regexps or globs.
The schema is documented in docs/verify.md ("Policy file"); the ``authorities:`` and ``images:``
sections are parsed by :mod:`gitsecure.verify.images.rules_file`. A policy needs ``signers`` and
``rules``, or ``authorities`` and ``images``, or both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, cast

import yaml

from gitsecure.errors import InputError
from gitsecure.verify.images.rules_file import parse_image_sections
from gitsecure.verify.patterns import PatternSet, compile_email_glob
from gitsecure.verify.policy import MODES, POLICY_VERSION, KeylessIdentity, Policy, Rule, Signer
from gitsecure.verify.trust import (
    SSH_KEY_TYPES,
    check_allowed_signers,
    check_openpgp_keys,
    check_trusted_root,
    parse_ssh_key_line,
    read_trust_file,
    ssh_keys_from_file,
)

__all__ = ["parse_policy_file"]

MAX_POLICY_FILE = 1024 * 1024
_TOP_KEYS = frozenset({"version", "signers", "rules", "authorities", "images"})
_SIGNER_KEYS = frozenset({"name", "openpgp", "ssh", "keyless", "trusted_root", "emails"})
_SSH_KEYS = frozenset({"allowed_signers", "keys"})
_KEYLESS_KEYS = frozenset({"subject", "subject_regexp", "issuer", "issuer_regexp", "trusted_root"})
_RULE_KEYS = frozenset({"repos", "branches", "mode", "signers", "threshold", "require"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML that refuses repeated keys (a second ``signers:`` would silently replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` is not a repeated key
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise yaml.MarkedYAMLError(
                        problem=f"duplicate key {str(key)[:60]!r}", problem_mark=key_node.start_mark
                    )
                if isinstance(key, str | int | float | bool):
                    seen.add(key)
        return dict(super().construct_mapping(node, deep=deep))


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Parser:
    """One policy file being read: where it is, and the key material seen so far (for duplicates)."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base
        self.seen: dict[bytes, str] = {}

    def fail(self, where: str, message: str) -> NoReturn:
        prefix = f"{self.source}: {where}: " if where else f"{self.source}: "
        raise InputError(prefix + message, reference="invalid-policy", hint="see docs/verify.md, Policy file")

    def table(self, value: object, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "expected a mapping")
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            self.fail(
                f"{where}.{unknown[0]}" if where else unknown[0], f"unknown key (known: {', '.join(sorted(allowed))})"
            )
        return cast("Mapping[str, Any]", value)

    def strings(self, value: object, where: str, *, single: bool = False) -> list[str]:
        if single and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            self.fail(where, "expected a list of non-empty strings")
        if not value:
            self.fail(where, "empty list (leave the key out instead)")
        return [item.strip() for item in value]

    def once(self, material: bytes, where: str) -> None:
        """One piece of key material, one place: a key under two signers would count twice toward a threshold."""
        other = self.seen.setdefault(material, where)
        if other != where:
            self.fail(where, f"the same key material as {other} (each key belongs to one signer, once)")

    def trust_file(self, entry: str, where: str) -> bytes:
        path = Path(entry).expanduser()
        try:
            return read_trust_file(path if path.is_absolute() else self.base / path, entry)
        except ValueError as exc:
            self.fail(where, str(exc))

    def check(self, check: Any, data: bytes, display: str, where: str) -> None:
        try:
            check(data, display)
        except ValueError as exc:
            self.fail(where, str(exc))

    # -- signers ---------------------------------------------------------------------------

    def signer(self, value: object, where: str) -> Signer:
        table = self.table(value, where, _SIGNER_KEYS)
        name = table.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            self.fail(f"{where}.name", "required: letters, digits, '.', '_' or '-' (at most 64)")
        openpgp = self.openpgp(table["openpgp"], f"{where}.openpgp") if "openpgp" in table else ()
        allowed, ssh_keys = self.ssh(table["ssh"], f"{where}.ssh") if "ssh" in table else ((), ())
        keyless = self.keyless(table, where) if "keyless" in table else ()
        if "trusted_root" in table and not any(identity.inherited_root for identity in keyless):
            self.fail(f"{where}.trusted_root", "unused trust material: no keyless identity of this signer uses it")
        emails = self.strings(table["emails"], f"{where}.emails") if "emails" in table else []
        for index, email in enumerate(emails):
            try:
                compile_email_glob(email)
            except ValueError as exc:
                self.fail(f"{where}.emails[{index}]", f"{email!r}: {exc}")
        if not (openpgp or allowed or ssh_keys or keyless):
            self.fail(where, f"signer {name} has no trust material (openpgp, ssh or keyless)")
        identities = tuple(identity.identity for identity in keyless)
        return Signer(name, openpgp, allowed, ssh_keys, identities, tuple(emails))

    def openpgp(self, value: object, where: str) -> tuple[bytes, ...]:
        keys: list[bytes] = []
        for index, entry in enumerate(self.strings(value, where, single=True)):
            here = f"{where}[{index}]"
            inline = "-----BEGIN PGP" in entry
            data = (entry + "\n").encode("utf-8") if inline else self.trust_file(entry, here)
            self.check(check_openpgp_keys, data, "the inline key" if inline else entry, here)
            self.once(data, here)
            keys.append(data)
        return tuple(keys)

    def ssh(self, value: object, where: str) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
        table = self.table(value, where, _SSH_KEYS)
        if not table:
            self.fail(where, "needs allowed_signers or keys")
        files: list[bytes] = []
        if "allowed_signers" in table:
            for index, entry in enumerate(
                self.strings(table["allowed_signers"], f"{where}.allowed_signers", single=True)
            ):
                here = f"{where}.allowed_signers[{index}]"
                inline = "\n" in entry  # a YAML block scalar holding the file's lines
                data = (entry + "\n").encode("utf-8") if inline else self.trust_file(entry, here)
                self.check(check_allowed_signers, data, "the inline allowed_signers" if inline else entry, here)
                self.once(data, here)
                files.append(data)
        keys: list[str] = []
        entries = self.strings(table["keys"], f"{where}.keys", single=True) if "keys" in table else []
        for index, entry in enumerate(entries):
            here = f"{where}.keys[{index}]"
            try:
                if entry.split()[0] in SSH_KEY_TYPES:
                    found: tuple[str, ...] = (parse_ssh_key_line(entry, "the inline key"),)
                else:
                    found = ssh_keys_from_file(self.trust_file(entry, here), entry)
            except ValueError as exc:
                self.fail(here, str(exc))
            for key in found:
                self.once(key.encode("ascii"), here)
            keys.extend(found)
        return tuple(files), tuple(keys)

    def keyless(self, signer: Mapping[str, Any], where: str) -> tuple[_Keyless, ...]:
        value = signer["keyless"]
        items = value if isinstance(value, list) else [value]
        if not items:
            self.fail(f"{where}.keyless", "empty list (leave the key out instead)")
        identities: list[_Keyless] = []
        for index, item in enumerate(items):
            here = f"{where}.keyless" + (f"[{index}]" if isinstance(value, list) else "")
            table = self.table(item, here, _KEYLESS_KEYS)
            for key in ("subject", "subject_regexp", "issuer", "issuer_regexp"):
                if key in table and (not isinstance(table[key], str) or not table[key]):
                    self.fail(f"{here}.{key}", "expected a non-empty string")
            for what in ("subject", "issuer"):
                if (what in table) == (f"{what}_regexp" in table):
                    self.fail(here, f"exactly one of {what} and {what}_regexp is required")
                if f"{what}_regexp" in table:
                    try:
                        re.compile(table[f"{what}_regexp"])
                    except re.error as exc:
                        self.fail(f"{here}.{what}_regexp", f"invalid regular expression: {exc}")
            inherited = "trusted_root" not in table
            root_where = f"{where}.trusted_root" if inherited else f"{here}.trusted_root"
            root = signer.get("trusted_root") if inherited else table["trusted_root"]
            if root is None:
                self.fail(here, "trusted_root is required (the Sigstore trusted_root.json to verify against)")
            if not isinstance(root, str) or not root.strip():
                self.fail(root_where, "expected the path of a Sigstore trusted_root.json")
            data = self.trust_file(root.strip(), root_where)
            self.check(check_trusted_root, data, root.strip(), root_where)
            path = Path(root.strip()).expanduser()
            identity = KeylessIdentity(
                trusted_root=path if path.is_absolute() else self.base / path,
                trusted_root_json=data,
                subject=table.get("subject"),
                subject_regexp=table.get("subject_regexp"),
                issuer=table.get("issuer"),
                issuer_regexp=table.get("issuer_regexp"),
            )
            identities.append(_Keyless(identity, inherited))
        return tuple(identities)

    # -- rules -----------------------------------------------------------------------------

    def rule(self, value: object, index: int, signers: Mapping[str, Signer]) -> Rule:
        where = f"rules[{index}]"
        table = self.table(value, where, _RULE_KEYS)
        for key in ("repos", "mode", "signers"):
            if key not in table:
                self.fail(f"{where}.{key}", "required")
        repos = self.strings(table["repos"], f"{where}.repos")
        branches = self.strings(table["branches"], f"{where}.branches") if "branches" in table else None
        for key, patterns in (("repos", repos), ("branches", branches)):
            try:
                if patterns is not None:
                    PatternSet.parse(tuple(patterns), repos=key == "repos")
            except ValueError as exc:
                self.fail(f"{where}.{key}", str(exc))
        mode = table["mode"]
        if mode not in MODES:
            self.fail(f"{where}.mode", f"expected one of {', '.join(MODES)}")
        names = self.strings(table["signers"], f"{where}.signers")
        self.names(names, f"{where}.signers", signers)
        threshold = table.get("threshold", 1)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(names):
            self.fail(f"{where}.threshold", f"expected an integer from 1 to {len(names)} (the number of signers)")
        require = self.strings(table["require"], f"{where}.require") if "require" in table else []
        self.names(require, f"{where}.require", signers)
        for position, name in enumerate(require):
            if name not in names:
                self.fail(f"{where}.require[{position}]", f"{name} is not one of the rule's signers")
        if len(require) > threshold:
            self.fail(f"{where}.threshold", f"{threshold} is below the {len(require)} required signers")
        branch_set = tuple(branches) if branches is not None else None
        return Rule(index, tuple(repos), mode, tuple(names), branch_set, threshold, tuple(require))

    def names(self, names: list[str], where: str, signers: Mapping[str, Signer]) -> None:
        for position, name in enumerate(names):
            if name not in signers:
                self.fail(f"{where}[{position}]", f"unknown signer {name!r}")
            if name in names[:position]:
                self.fail(f"{where}[{position}]", f"{name} is listed twice")

    # -- the document ----------------------------------------------------------------------

    def document(self, document: object, path: Path) -> Policy:
        if document is None or document == {}:
            self.fail(
                "", "empty policy (a policy must name signers and rules, or images; nothing is trusted by default)"
            )
        table = self.table(document, "", _TOP_KEYS)
        version = table.get("version")
        if version is None:
            self.fail("version", f"required (version: {POLICY_VERSION})")
        if not isinstance(version, int) or isinstance(version, bool) or version != POLICY_VERSION:
            self.fail("version", f"unsupported version {version!r} (this gitsecure reads version {POLICY_VERSION})")
        authorities, images = parse_image_sections(self, table)
        commit_rules = not images or "signers" in table or "rules" in table
        for key in ("signers", "rules") if commit_rules else ():
            if not isinstance(table.get(key), list) or not table[key]:
                self.fail(key, "required: a non-empty list")
        signers: dict[str, Signer] = {}
        for index, item in enumerate(table.get("signers") or []):
            signer = self.signer(item, f"signers[{index}]")
            if signer.name in signers:
                self.fail(f"signers[{index}].name", f"duplicate signer name {signer.name!r}")
            signers[signer.name] = signer
        rules = [self.rule(item, index, signers) for index, item in enumerate(table.get("rules") or [])]
        used = {name for rule in rules for name in rule.signers}
        for index, name in enumerate(signers):
            if name not in used:
                self.fail(f"signers[{index}]", f"signer {name} is used by no rule (unused trust material is an error)")
        return Policy.build(list(signers.values()), rules, path, authorities=authorities, images=images)


class _Keyless:
    """A keyless identity and whether its trusted root came from the signer-level ``trusted_root``."""

    __slots__ = ("identity", "inherited_root")

    def __init__(self, identity: KeylessIdentity, inherited_root: bool) -> None:
        self.identity = identity
        self.inherited_root = inherited_root


def parse_policy_file(path: Path) -> Policy:
    """Read, parse and validate the policy file at ``path`` (see the module docstring)."""
    parser = _Parser(str(path), path.parent)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_FILE + 1)
    except OSError as exc:
        raise InputError(f"cannot read policy file {path}: {exc.strerror or exc}", reference="invalid-policy") from None
    if len(raw) > MAX_POLICY_FILE:
        parser.fail("", f"larger than {MAX_POLICY_FILE // 1024} KiB; not a policy file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parser.fail("", f"not UTF-8 (byte {exc.start})")
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        parser.fail("", f"not valid YAML: {exc.problem}{where}")
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError):
        parser.fail("", "not valid YAML")
    return parser.document(document, path)
