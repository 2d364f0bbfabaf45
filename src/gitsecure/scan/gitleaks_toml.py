"""Import gitleaks TOML rule files as they are, for teams migrating from gitleaks.

Read (gitleaks v8 names): ``[[rules]]`` ``id``, ``description``, ``regex``,
``secretGroup``, ``entropy``, ``keywords``, ``path``, ``tags``, ``skipReport``, and
its allowlists ``[rules.allowlist]`` or ``[[rules.allowlists]]`` (``regexes``,
``regexTarget``, ``stopwords``, ``paths``, ``commits``, ``condition``,
``description``); the global ``[allowlist]`` and ``[[allowlists]]`` (with
``targetRules``); ``[extend]`` ``useDefault``, ``path`` (another gitleaks file,
relative to this one) and ``disabledRules``.

Semantics kept: the regexes are RE2 in both tools; a rule without ``regex`` but
with ``path`` reports the file itself; a rule with an id but no regex and no path
adds its allowlists to the built-in rule of that id (gitleaks'
way of extending a default rule; ignored when gitsecure has no rule by that id).
Composite rules (``[[rules.required]]``) are imported as their primary rule alone,
which reports more, never less; ``skipReport`` rules are left out. Keys gitleaks
added later and gitsecure does not know are ignored, so newer files still load.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from gitsecure.errors import InputError
from gitsecure.scan.regex import group_count, regex_error
from gitsecure.scan.rule import AllowTarget, Rule
from gitsecure.scan.settings import Allowlist

log = logging.getLogger(__name__)

_MAX_EXTEND_DEPTH = 4
_TARGETS: dict[str, AllowTarget] = {"secret": "secret", "match": "match", "line": "line", "": "secret"}


@dataclass(frozen=True, slots=True)
class GitleaksConfig:
    """What a gitleaks file contributes: rules, allowlists, and whether the defaults stay."""

    rules: tuple[Rule, ...] = ()
    allowlists: tuple[Allowlist, ...] = ()
    use_default: bool = False
    disabled_rules: frozenset[str] = frozenset()
    extends: tuple[str, ...] = ()
    """Ids of built-in rules this file extends (allowlists attached through ``target_rules``)."""


def load_gitleaks(path: Path, *, _depth: int = 0) -> GitleaksConfig:
    """Read the gitleaks TOML file at ``path``; any problem is an :class:`InputError` naming the file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read gitleaks config {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    return parse_gitleaks(document, source=str(path), base=path.parent, _depth=_depth)


def parse_gitleaks(
    document: Mapping[str, Any], *, source: str, base: Path | None = None, _depth: int = 0
) -> GitleaksConfig:
    """Convert a parsed gitleaks TOML document; ``source`` names it in error messages."""
    rules: list[Rule] = []
    allowlists: list[Allowlist] = []
    extends: list[str] = []
    extend = _table(document, "extend", source)
    use_default = _bool(extend, "useDefault", source, default=False)
    disabled = set(_strings(extend, "disabledRules", source))
    inherited: GitleaksConfig | None = None
    if "path" in extend:
        if _depth >= _MAX_EXTEND_DEPTH:
            raise InputError(f"{source}: [extend] path: more than {_MAX_EXTEND_DEPTH} levels of extension")
        target = Path(_string(extend, "path", source))
        inherited = load_gitleaks(target if target.is_absolute() or base is None else base / target, _depth=_depth + 1)
    if "url" in extend:
        raise InputError(f"{source}: [extend] url: extending from a URL is not supported", hint="download the file")

    global_table = document.get("allowlist")
    if global_table is not None:
        allowlists.append(_allowlist(_as_table(global_table, "allowlist", source), "allowlist", source, ()))
    for index, table in enumerate(_tables(document, "allowlists", source)):
        where = f"allowlists[{index}]"
        targets = tuple(_strings(table, "targetRules", source, where=where))
        allowlists.append(_allowlist(table, where, source, targets))

    for index, table in enumerate(_tables(document, "rules", source)):
        rule_id = _string(table, "id", source, where=f"rules[{index}]")
        where = f"rules[{index}] ({rule_id})"
        if _bool(table, "skipReport", source, default=False, where=where):
            continue
        for list_index, sub in enumerate(_rule_allowlists(table, where, source)):
            allowlists.append(_allowlist(sub, f"{where}.allowlists[{list_index}]", source, (rule_id,)))
        regex = _string(table, "regex", source, where=where, default="")
        path_pattern = _string(table, "path", source, where=where, default="") or None
        if "required" in table:
            log.warning("%s: %s: composite rule imported without its required rules", source, rule_id)
        if not regex and path_pattern is None:
            extends.append(rule_id)
            continue
        _check_regex(regex, source, f"{where}.regex")
        if path_pattern is not None:
            _check_regex(path_pattern, source, f"{where}.path")
        group = table.get("secretGroup", 0)
        if not isinstance(group, int) or isinstance(group, bool) or group < 0:
            raise InputError(f"{source}: {where}.secretGroup: expected a non-negative integer")
        groups = group_count(regex) if regex else 0
        if group > groups:
            raise InputError(f"{source}: {where}.secretGroup: the regex has only {groups} groups")
        entropy = table.get("entropy", 0.0)
        if not isinstance(entropy, int | float) or isinstance(entropy, bool):
            raise InputError(f"{source}: {where}.entropy: expected a number")
        rules.append(
            Rule(
                id=rule_id,
                description=_string(table, "description", source, where=where, default=rule_id) or rule_id,
                regex=regex,
                keywords=tuple(word.lower() for word in _strings(table, "keywords", source, where=where)),
                secret_group=group,
                entropy=float(entropy),
                path=path_pattern,
                tags=tuple(_strings(table, "tags", source, where=where)),
            )
        )

    if inherited is not None:
        own = {rule.id for rule in rules}
        rules = [rule for rule in inherited.rules if rule.id not in own] + rules
        allowlists = list(inherited.allowlists) + allowlists
        extends = list(inherited.extends) + extends
        use_default = use_default or inherited.use_default
        disabled |= inherited.disabled_rules
    rules = [rule for rule in rules if rule.id not in disabled]
    return GitleaksConfig(tuple(rules), tuple(allowlists), use_default, frozenset(disabled), tuple(extends))


def _rule_allowlists(table: Mapping[str, Any], where: str, source: str) -> list[Mapping[str, Any]]:
    lists: list[Mapping[str, Any]] = []
    if "allowlist" in table:
        lists.append(_as_table(table["allowlist"], f"{where}.allowlist", source))
    lists.extend(_tables(table, "allowlists", source, where=where))
    return lists


def _allowlist(table: Mapping[str, Any], where: str, source: str, targets: tuple[str, ...]) -> Allowlist:
    regexes = tuple(_strings(table, "regexes", source, where=where))
    paths = tuple(_strings(table, "paths", source, where=where))
    for pattern in (*regexes, *paths):
        _check_regex(pattern, source, where)
    target_name = _string(table, "regexTarget", source, where=where, default="").lower()
    if target_name not in _TARGETS:
        raise InputError(f"{source}: {where}.regexTarget: expected secret, match or line, not {target_name!r}")
    condition = _string(table, "condition", source, where=where, default="or").lower()
    if condition not in ("or", "and"):
        raise InputError(f"{source}: {where}.condition: expected OR or AND, not {condition!r}")
    return Allowlist(
        description=_string(table, "description", source, where=where, default=""),
        regexes=regexes,
        regex_target=_TARGETS[target_name],
        paths=paths,
        stopwords=tuple(word.lower() for word in _strings(table, "stopwords", source, where=where)),
        commits=tuple(_strings(table, "commits", source, where=where)),
        condition=cast(Literal["or", "and"], condition),
        target_rules=targets,
    )


def _check_regex(pattern: str, source: str, where: str) -> None:
    reason = regex_error(pattern)
    if reason is not None:
        raise InputError(f"{source}: {where}: invalid RE2 regex: {reason}")


def _as_table(value: Any, where: str, source: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{source}: {where}: expected a table")
    return value


def _table(document: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    return _as_table(document.get(key, {}), key, source)


def _tables(document: Mapping[str, Any], key: str, source: str, *, where: str = "") -> list[Mapping[str, Any]]:
    value = document.get(key, [])
    name = f"{where}.{key}" if where else key
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InputError(f"{source}: {name}: expected an array of tables")
    return value


def _string(table: Mapping[str, Any], key: str, source: str, *, where: str = "", default: str | None = None) -> str:
    value = table.get(key, default)
    name = f"{where}.{key}" if where else key
    if value is None:
        raise InputError(f"{source}: {name}: required")
    if not isinstance(value, str):
        raise InputError(f"{source}: {name}: expected a string")
    return value


def _strings(table: Mapping[str, Any], key: str, source: str, *, where: str = "") -> list[str]:
    value = table.get(key, [])
    name = f"{where}.{key}" if where else key
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{source}: {name}: expected a list of strings")
    return value


def _bool(table: Mapping[str, Any], key: str, source: str, *, default: bool, where: str = "") -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{source}: {f'{where}.{key}' if where else key}: expected true or false")
    return value
