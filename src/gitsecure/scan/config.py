"""Scanner configuration: ``.gitsecure.toml``, ``[tool.gitsecure]`` in pyproject.toml, gitleaks files.

Where it is read from (the first that exists wins; the others are ignored):

1. the file given explicitly (``--config``): ``pyproject.toml`` is read for its
   ``[tool.gitsecure]`` table, a file whose name contains ``gitleaks`` is imported as
   a gitleaks file, anything else is a gitsecure file;
2. ``<root>/.gitsecure.toml``;
3. the ``[tool.gitsecure]`` table of ``<root>/pyproject.toml``;
4. ``<root>/.gitleaks.toml``, imported with gitleaks' own semantics: the built-in
   rules stay only when it says ``[extend] useDefault = true`` (as gitleaks does,
   so a migrating team gets exactly the rules it had);
5. nothing: the built-in rules and default settings.

Schema (TOML names; every key optional)::

    extend_default = true          # keep the built-in rules (false: only the rules below)
    disabled_rules = ["generic-api-key"]   # ids of built-in, GitOps or custom rules
    max_file_size = "10MiB"        # bytes, or a string with B, KB, KiB, MB, MiB, GB, GiB
    decode_depth = 1               # levels of base64 decode-and-rescan; 0 turns it off
    inline_suppression = true      # honour gitsecure:allow, gitleaks:allow, pragma: allowlist secret...
    gitops = true                  # structural Kubernetes/Helm/Terraform analysis
    gitleaks_config = ".gitleaks.toml"     # import a gitleaks rule file (relative to the root)

    [allowlist]
    paths = ['''(^|/)testdata/''']  # RE2 regexes searched in the slash-separated relative path
    values = ['''^AKIAIOSFODNN7EXAMPLE$''']  # RE2 regexes searched in the secret
    stopwords = ["not-a-secret"]   # substrings of the lower-cased secret
    default_paths = true           # keep the built-in path allowlist (lock files, vendor/, images...)

    [entropy]
    generic-api-key = 4.0          # rule id = threshold replacing the rule's own

    [[rules]]                      # a custom rule; same fields as gitsecure.scan.rule.Rule
    id = "acme-api-key"            # required; reusing a built-in id replaces that rule
    description = "ACME API key"   # default: the id
    regex = '''\\b(acme_[a-z0-9]{32})\\b'''   # required unless path is set (RE2 syntax)
    keywords = ["acme_"]           # strongly advised: a rule without keywords runs on every byte
    secret_group = 1
    entropy = 3.0
    path = '''\\.env$'''
    allow_regexes = ['''acme_0{32}''']
    allow_target = "secret"        # secret, match or line
    stopwords = ["example"]
    validator = "github-crc32"     # a checksum name from gitsecure.scan.checksums
    secret_type = "ACME key"       # the .secrets.baseline type; default: the description
    hint = "Rotate it at https://acme.example/keys"
    examples = ["acme_..."]
    counterexamples = ["acme_token"]
    tags = ["acme"]

Path allowlists are RE2 regexes, not globs, as in gitleaks (and so imported gitleaks
path lists work unchanged): ``\\.lock$``, ``(^|/)fixtures/``. Unknown keys, wrong
types and invalid regexes are an :class:`~gitsecure.errors.InputError` naming the
file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gitsecure.errors import InputError
from gitsecure.scan.checksums import CHECKSUMS
from gitsecure.scan.regex import group_count, regex_error
from gitsecure.scan.rule import Rule
from gitsecure.scan.settings import DEFAULT_MAX_FILE_SIZE, ScanSettings

if TYPE_CHECKING:
    from gitsecure.scan.gitleaks_toml import GitleaksConfig

# tomllib and the gitleaks importer load only when a configuration file is read: the
# pre-commit hook in a repository without one must not pay for them.

__all__ = ["ScanSettings", "load_config", "parse_config", "parse_size"]

CONFIG_FILE = ".gitsecure.toml"
GITLEAKS_FILE = ".gitleaks.toml"

_TOP_KEYS = frozenset(
    {
        "extend_default",
        "disabled_rules",
        "max_file_size",
        "decode_depth",
        "inline_suppression",
        "gitops",
        "gitleaks_config",
        "allowlist",
        "entropy",
        "rules",
    }
)
_ALLOWLIST_KEYS = frozenset({"paths", "values", "stopwords", "default_paths"})
_RULE_STRINGS = ("id", "description", "regex", "path", "allow_target", "validator", "secret_type", "hint")
_RULE_LISTS = ("keywords", "allow_regexes", "stopwords", "examples", "counterexamples", "tags")
_RULE_KEYS = frozenset({*_RULE_STRINGS, *_RULE_LISTS, "secret_group", "entropy"})
# KB/MB/GB are decimal and KiB/MiB/GiB binary, as written; the one-letter K/M/G (``512k``, ``10M``)
# are binary, as in dd, sort and most command lines. The same parser serves --max-file-size.
_UNITS = {
    "b": 1, "k": 2**10, "m": 2**20, "g": 2**30,
    "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30,
}  # fmt: skip


def load_config(root: Path, explicit: Path | None = None) -> tuple[list[Rule], ScanSettings]:
    """The effective rules (built-in, imported, custom; disabled ones removed) and settings for ``root``."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"config file not found: {explicit}", hint="check the --config path")
        if explicit.name == "pyproject.toml":
            return parse_config(_tool_table(explicit) or {}, source=f"{explicit} [tool.gitsecure]", root=root)
        if "gitleaks" in explicit.name.lower():
            return _from_gitleaks(_load_gitleaks(explicit))
        return parse_config(_read_toml(explicit), source=str(explicit), root=root)
    own = root / CONFIG_FILE
    if own.is_file():
        return parse_config(_read_toml(own), source=str(own), root=root)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and _mentions_gitsecure(pyproject):
        table = _tool_table(pyproject)
        if table is not None:
            return parse_config(table, source=f"{pyproject} [tool.gitsecure]", root=root)
    gitleaks = root / GITLEAKS_FILE
    if gitleaks.is_file():
        return _from_gitleaks(_load_gitleaks(gitleaks))
    return list(_builtin()), ScanSettings()


def parse_config(document: Mapping[str, Any], *, source: str, root: Path) -> tuple[list[Rule], ScanSettings]:
    """Validate a gitsecure config table and build the rules and settings it describes."""
    _no_unknown(document, _TOP_KEYS, source, "")
    extend_default = _bool(document, "extend_default", source, default=True)
    from gitsecure.scan.gitleaks_toml import GitleaksConfig  # noqa: PLC0415 (see the imports)

    imported = GitleaksConfig()
    if "gitleaks_config" in document:
        path = Path(_str(document, "gitleaks_config", source))
        imported = _load_gitleaks(path if path.is_absolute() else root / path)
    custom = [_rule(table, source, index) for index, table in enumerate(_tables(document, "rules", source))]

    rules: dict[str, Rule] = {rule.id: rule for rule in _builtin()} if extend_default else {}
    rules.update((rule.id, rule) for rule in imported.rules)
    rules.update((rule.id, rule) for rule in custom)
    known = _KnownIds(set(rules))

    disabled = frozenset(_str_list(document, "disabled_rules", source))
    unknown = sorted(rule_id for rule_id in disabled if rule_id not in known)
    if unknown:
        raise InputError(
            f"{source}: disabled_rules: unknown rule id {unknown[0]!r}",
            hint="rule ids are the rule_id field of findings (gitsecure scan --format json)",
        )
    entropy = _entropy(document, source, known)

    allow = _as_table(document.get("allowlist", {}), source, "allowlist")
    _no_unknown(allow, _ALLOWLIST_KEYS, source, "allowlist.")
    paths = _regexes(allow, "paths", source, "allowlist.")
    values = _regexes(allow, "values", source, "allowlist.")
    settings = ScanSettings(
        allow_paths=paths,
        default_allow_paths=_bool(allow, "default_paths", source, default=True, prefix="allowlist."),
        allow_values=values,
        stopwords=tuple(word.lower() for word in _str_list(allow, "stopwords", source, "allowlist.")),
        allowlists=imported.allowlists,
        entropy=MappingProxyType(entropy),
        disabled_rules=disabled | imported.disabled_rules,
        max_file_size=_size(document, source),
        decode_depth=_int(document, "decode_depth", source, default=1, maximum=5),
        inline_suppression=_bool(document, "inline_suppression", source, default=True),
        gitops=_bool(document, "gitops", source, default=True),
    )
    return _effective(rules, settings.disabled_rules), settings


def parse_size(value: int | str) -> int:
    """Bytes from ``10485760`` or ``"10MiB"``; raises ValueError on anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("must be positive")
        return value
    if not isinstance(value, str):
        raise ValueError("expected an integer or a string such as '10MiB'")
    text = value.strip().lower().replace(" ", "")
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits) :] or "b"
    if not digits or unit not in _UNITS:
        raise ValueError("expected an integer or a string such as '10MiB'")
    size = int(float(digits) * _UNITS[unit])
    if size <= 0:
        raise ValueError("must be positive")
    return size


# --------------------------------------------------------------------------------------------


def _from_gitleaks(imported: GitleaksConfig) -> tuple[list[Rule], ScanSettings]:
    rules: dict[str, Rule] = {rule.id: rule for rule in _builtin()} if imported.use_default else {}
    rules.update((rule.id, rule) for rule in imported.rules)
    settings = ScanSettings(allowlists=imported.allowlists, disabled_rules=imported.disabled_rules)
    return _effective(rules, settings.disabled_rules), settings


def _effective(rules: Mapping[str, Rule], disabled: frozenset[str]) -> list[Rule]:
    effective = [rule for rule in rules.values() if rule.id not in disabled]
    # Generic rules last, as in the built-in set: their findings lose to specific ones anyway.
    effective.sort(key=lambda rule: rule.is_generic)
    return effective


def _builtin() -> tuple[Rule, ...]:
    from gitsecure.scan.rules import builtin_rules  # noqa: PLC0415 (rule tables load only when used)

    return builtin_rules()


class _KnownIds:
    """Rule ids a config may name; the built-in and GitOps tables load only if a name is not local."""

    def __init__(self, local: set[str]) -> None:
        self._ids = local
        self._complete = False

    def __contains__(self, rule_id: object) -> bool:
        if rule_id in self._ids:
            return True
        if not self._complete:
            from gitsecure.scan.gitops import GITOPS_RULES  # noqa: PLC0415 (loads YAML only when needed)

            self._ids |= {rule.id for rule in _builtin()} | {rule.id for rule in GITOPS_RULES}
            self._complete = True
        return rule_id in self._ids


def _load_gitleaks(path: Path) -> GitleaksConfig:
    from gitsecure.scan.gitleaks_toml import load_gitleaks  # noqa: PLC0415 (see the imports)

    return load_gitleaks(path)


def _mentions_gitsecure(pyproject: Path) -> bool:
    """False when ``pyproject`` cannot hold a ``[tool.gitsecure]`` table, so most projects' files are not parsed."""
    try:
        return b"gitsecure" in pyproject.read_bytes()
    except OSError:
        return True  # _read_toml reports the error


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 (see the imports)

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def _tool_table(pyproject: Path) -> dict[str, Any] | None:
    tool = _read_toml(pyproject).get("tool", {})
    table = tool.get("gitsecure") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise InputError(f"{pyproject}: tool.gitsecure: expected a table")
    return table


def _no_unknown(table: Mapping[str, Any], allowed: frozenset[str], source: str, prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{source}: {prefix}{unknown[0]}: unknown key", hint=f"known: {', '.join(sorted(allowed))}")


def _as_table(value: Any, source: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{source}: {key}: expected a table")
    return value


def _tables(document: Mapping[str, Any], key: str, source: str) -> list[Mapping[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InputError(f"{source}: {key}: expected an array of tables ([[{key}]])")
    return value


def _str(table: Mapping[str, Any], key: str, source: str, prefix: str = "") -> str:
    value = table[key]
    if not isinstance(value, str):
        raise InputError(f"{source}: {prefix}{key}: expected a string")
    return value


def _str_list(table: Mapping[str, Any], key: str, source: str, prefix: str = "") -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{source}: {prefix}{key}: expected a list of strings")
    return value


def _bool(table: Mapping[str, Any], key: str, source: str, *, default: bool, prefix: str = "") -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{source}: {prefix}{key}: expected true or false")
    return value


def _int(table: Mapping[str, Any], key: str, source: str, *, default: int, maximum: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise InputError(f"{source}: {key}: expected an integer from 0 to {maximum}")
    return value


def _size(document: Mapping[str, Any], source: str) -> int:
    try:
        return parse_size(document.get("max_file_size", DEFAULT_MAX_FILE_SIZE))
    except ValueError as exc:
        raise InputError(f"{source}: max_file_size: {exc}") from None


def _check_regex(pattern: str, source: str, where: str) -> None:
    reason = regex_error(pattern)
    if reason is not None:
        raise InputError(f"{source}: {where}: invalid RE2 regex {pattern!r}: {reason}")


def _regexes(table: Mapping[str, Any], key: str, source: str, prefix: str) -> tuple[str, ...]:
    patterns = _str_list(table, key, source, prefix)
    for pattern in patterns:
        _check_regex(pattern, source, f"{prefix}{key}")
    return tuple(patterns)


def _entropy(document: Mapping[str, Any], source: str, known: _KnownIds) -> dict[str, float]:
    table = _as_table(document.get("entropy", {}), source, "entropy")
    thresholds: dict[str, float] = {}
    for rule_id, value in table.items():
        if rule_id not in known:
            raise InputError(f"{source}: entropy.{rule_id}: unknown rule id")
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 8:
            raise InputError(f"{source}: entropy.{rule_id}: expected a number from 0 to 8")
        thresholds[rule_id] = float(value)
    return thresholds


def _rule(table: Mapping[str, Any], source: str, index: int) -> Rule:
    rule_id = table.get("id")
    where = f"rules[{index}]" if not isinstance(rule_id, str) else f"rules[{index}] ({rule_id})"
    _no_unknown(table, _RULE_KEYS, source, f"{where}.")
    if not isinstance(rule_id, str) or not rule_id or any(char.isspace() for char in rule_id):
        raise InputError(f"{source}: {where}.id: required, a non-empty string without spaces")
    fields: dict[str, Any] = {}
    for key in _RULE_STRINGS:
        if key in table:
            fields[key] = _str(table, key, source, f"{where}.")
    for key in _RULE_LISTS:
        if key in table:
            fields[key] = tuple(_str_list(table, key, source, f"{where}."))
    regex = fields.get("regex", "")
    if not regex and "path" not in fields:
        raise InputError(f"{source}: {where}.regex: required (or a path for a path-only rule)")
    for key in ("regex", "path"):
        if key in fields:
            _check_regex(fields[key], source, f"{where}.{key}")
    for pattern in fields.get("allow_regexes", ()):
        _check_regex(pattern, source, f"{where}.allow_regexes")
    if fields.get("allow_target", "secret") not in ("secret", "match", "line"):
        raise InputError(f"{source}: {where}.allow_target: expected secret, match or line")
    if "validator" in fields and fields["validator"] not in CHECKSUMS:
        raise InputError(f"{source}: {where}.validator: unknown, expected one of {', '.join(sorted(CHECKSUMS))}")
    group = table.get("secret_group", 0)
    groups = group_count(regex) if regex else 0
    if not isinstance(group, int) or isinstance(group, bool) or not 0 <= group <= groups:
        raise InputError(f"{source}: {where}.secret_group: expected an integer from 0 to {groups}")
    entropy = table.get("entropy", 0.0)
    if not isinstance(entropy, int | float) or isinstance(entropy, bool) or not 0 <= entropy <= 8:
        raise InputError(f"{source}: {where}.entropy: expected a number from 0 to 8")
    fields["keywords"] = tuple(word.lower() for word in fields.get("keywords", ()))
    fields["stopwords"] = tuple(word.lower() for word in fields.get("stopwords", ()))
    fields.setdefault("description", rule_id)
    fields["regex"] = regex
    return Rule(**fields, secret_group=group, entropy=float(entropy))
