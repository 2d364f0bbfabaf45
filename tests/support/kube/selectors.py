"""Label and field selectors as the API server parses and applies them on list and watch.

Label selectors: ``k``, ``!k``, ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``,
comma-separated, all of which must hold. Field selectors: ``f=v``, ``f==v``, ``f!=v`` on the fields a
resource supports (``metadata.name`` and ``metadata.namespace`` everywhere, more for a few kinds).
A selector the API server would reject is rejected here with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.kube.apistatus import bad_request

_KEY = r"(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_EQUALITY = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})\s*$")
_SET = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_EXISTS = re.compile(rf"^\s*(?P<not>!?)\s*(?P<key>{_KEY})\s*$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")
_FIELD = re.compile(r"^\s*(?P<key>[A-Za-z0-9.]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^,]*?)\s*$")

# Field selectors each resource supports beyond metadata.name / metadata.namespace (as the API server registers them).
EXTRA_FIELDS: Mapping[str, Collection[str]] = {
    "secrets": ("type",),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
        "regarding.kind",
        "regarding.namespace",
        "regarding.name",
        "regarding.uid",
        "reportingController",
    ),
    "namespaces": ("status.phase",),
}


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses (``a in (x,y),b`` is two requirements)."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


Requirement = Callable[[Mapping[str, str]], bool]


def _requirement(text: str) -> Requirement:
    if match := _SET.match(text):
        key = match["key"]
        values = {v.strip() for v in match["values"].split(",")}
        if not all(_VALUE_ONLY.match(v) for v in values):
            raise bad_request(f"unable to parse requirement: invalid label value in {text.strip()!r}")
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(text):
        key, value = match["key"], match["value"]
        if match["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        key = match["key"]
        if match["not"]:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {text.strip()!r}")


@dataclass(frozen=True)
class LabelSelector:
    """A parsed ``labelSelector``; the empty selector matches everything."""

    text: str
    requirements: tuple[Requirement, ...]

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parse, or raise a 400 ApiError like the API server."""
        text = (text or "").strip()
        if not text:
            return cls("", ())
        return cls(text, tuple(_requirement(part) for part in _split_top_level(text)))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether the object's labels satisfy every requirement."""
        if not self.requirements:
            return True
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(requirement(labels) for requirement in self.requirements)


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if path == "source" and isinstance(value, Mapping):  # core Events: the source component
        value = value.get("component")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FieldSelector:
    """A parsed ``fieldSelector``; the empty selector matches everything."""

    text: str
    terms: tuple[tuple[str, bool, str], ...]  # (field path, equal?, value)

    @classmethod
    def parse(cls, text: str | None, plural: str) -> FieldSelector:
        """Parse for a resource, or raise a 400 ApiError (unknown field or bad syntax)."""
        text = (text or "").strip()
        if not text:
            return cls("", ())
        allowed = {"metadata.name", "metadata.namespace", *EXTRA_FIELDS.get(plural, ())}
        terms = []
        for part in text.split(","):
            match = _FIELD.match(part)
            if match is None:
                raise bad_request(f"invalid selector: {text!r}; can't understand {part.strip()!r}")
            if match["key"] not in allowed:
                raise bad_request(f"field label not supported: {match['key']}")
            terms.append((match["key"], match["op"] != "!=", match["value"]))
        return cls(text, tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether every term holds for the object."""
        return all((_field_value(obj, path) == value) == equal for path, equal, value in self.terms)
